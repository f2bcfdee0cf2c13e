"""Dense (released) vs Woodbury random walk at THUMOS14's longest-video scale (the longest
Thumos14reduced video, 1673 s, is 2615 snippets), side by side.

    python benches/bench_models.py                 # T = 2600, D = 2048, K = 8, C = 20, 1 thread
    python benches/bench_models.py --length 1000 --threads 2

Prints, for the random walk alone and for the whole RSKP forward (one video, eval mode, float32,
CPU): median wall time over ``--repeat`` runs and the peak extra resident memory of one run (each
variant measured in a fresh child process: ``ru_maxrss`` minus the resident size just before the
run; a 16-snippet run first pages in the libraries' code), and how far the Woodbury outputs are
from the dense ones (walk features, and the released test TCAM of ``released_test_outputs`` with
``released_compatible`` on and off). Weights are a random initialisation (no trained checkpoint
is shipped), features uniform in [0, 2).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from tadfuse.models import RSKP, ModelConfig, em_centres, random_walk, released_test_outputs

VARIANTS = ("walk:inverse", "walk:woodbury", "forward:inverse", "forward:woodbury")


def setup(length: int, seed: int = 0) -> tuple[RSKP, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A randomly initialised official-preset model, I3D-like features (non-negative, like
    post-ReLU I3D activations), and the embedding and EM centres the walk runs on."""
    torch.manual_seed(seed)
    model = RSKP(ModelConfig.official()).eval()
    feats = torch.rand(1, length, model.config.feature_dim) * 2.0
    with torch.no_grad():
        h = model.feature_embedding(feats)
        mu = em_centres(model.mu, h, iterations=model.config.em_iterations)
    return model, feats, h, mu


def run_variant(variant: str, model: RSKP, feats: torch.Tensor, h: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    kind, method = variant.split(":")
    with torch.no_grad():
        if kind == "walk":
            return random_walk(h, mu, model.config.walk_weight, method=method)  # type: ignore[arg-type]
        return model(feats, walk=method).walk.logits  # type: ignore[arg-type]


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def child(variant: str, length: int, repeat: int, threads: int) -> None:
    """One variant in a fresh process: peak extra memory of the first run, then the timings."""
    torch.set_num_threads(threads)
    run_variant(variant, *setup(16))  # page in the code and workspaces of every kernel first
    model, feats, h, mu = setup(length)
    before = rss_kib()
    run_variant(variant, model, feats, h, mu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run_variant(variant, model, feats, h, mu)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"variant": variant, "median_s": statistics.median(times), "peak_extra_mib": (peak - before) / 1024}))


def accuracy(length: int, threads: int) -> dict[str, float]:
    torch.set_num_threads(threads)
    model, feats, h, mu = setup(length)
    dense = run_variant("walk:inverse", model, feats, h, mu)
    fast = run_variant("walk:woodbury", model, feats, h, mu)
    walk_rel = float((fast - dense).abs().max() / dense.abs().max())
    f = feats[0].numpy()
    tcam_d, vid_d = released_test_outputs(model, f, "official")
    tcam_w, vid_w = released_test_outputs(model, f, "official", released_compatible=False)
    return {
        "walk_max_rel": walk_rel,
        "tcam_max_abs": float(np.abs(tcam_w - tcam_d).max()),
        "tcam_max": float(np.abs(tcam_d).max()),
        "video_max_abs": float(np.abs(vid_w - vid_d).max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--length", type=int, default=2600, help="snippets T (default 2600)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per variant (default 5)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.length, args.repeat, args.threads)
        return
    results = {}
    for v in VARIANTS:
        cmd = [sys.executable, __file__, "--child", v, "--length", str(args.length), "--repeat", str(args.repeat)]
        out = subprocess.run([*cmd, "--threads", str(args.threads)], capture_output=True, text=True, check=True)
        results[v] = json.loads(out.stdout.strip().splitlines()[-1])
    acc = accuracy(args.length, args.threads)
    print(
        f"RSKP random walk, T = {args.length}, D = 2048, K = 8, C = 20, float32, CPU, {args.threads} thread(s); "
        f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}"
    )
    print()
    print("| what | dense inverse (released) | Woodbury | ratio |")
    print("|---|---|---|---|")
    for kind in ("walk", "forward"):
        d, w = results[f"{kind}:inverse"], results[f"{kind}:woodbury"]
        label = "random walk alone" if kind == "walk" else "whole forward (embedding, EM, walk, heads)"
        print(f"| {label}: median time | {d['median_s'] * 1e3:10.1f} ms | {w['median_s'] * 1e3:10.1f} ms "
              f"| {d['median_s'] / w['median_s']:6.1f}x |")  # fmt: skip
        print(f"| {label}: peak extra memory | {d['peak_extra_mib']:8.1f} MiB | {w['peak_extra_mib']:8.1f} MiB "
              f"| {d['peak_extra_mib'] / max(w['peak_extra_mib'], 1e-3):6.1f}x |")  # fmt: skip
    print()
    print(f"Woodbury vs dense: walk features max |Δ| / max |x̃| = {acc['walk_max_rel']:.2e}; "
          f"test TCAM max |Δ| = {acc['tcam_max_abs']:.2e} (TCAM max {acc['tcam_max']:.3f}); "
          f"video scores max |Δ| = {acc['video_max_abs']:.2e}")  # fmt: skip


if __name__ == "__main__":
    main()
