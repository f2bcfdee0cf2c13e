"""The trainer against the released loop's structure, side by side on the same device and data.

    python benches/bench_trainer.py                     # 200 THUMOS14 training videos, D = 2048, 2 threads, 2 rounds
    python benches/bench_trainer.py --videos 40 --dim 512 --threads 1   # a quick look

Data: ``thumos14-structured`` (tadfuse.data.synthesize: THUMOS14's real videos, durations,
labels and segments with synthetic features), its 200 training videos (65,215 snippets). Model:
RSKP with the ``paper`` constants (random initialisation, seed 0; both loops start from the same
weights and optimiser state).

1. **One training epoch after the memory warm-up** (the memory branch on, as in epochs 101–349):
   - *released structure*: one video per forward pass, the dense T×T inverse for the intra-video
     and the memory random walks (``walk="inverse"``), the memory bank read and written per
     video, the losses of one video back-propagated at a time, an optimiser step every 10 videos;
   - *trainer*: `tadfuse.engine`'s epoch (`_Trainer._train_epoch`): the videos of a step sorted by
     length in padded forward passes (Woodbury walks), losses summed per pass.
2. **One refresh** (200 videos), split into its stages:
   - inference: per video dense forward (released) vs the trainer's batched forward
     (`tadfuse.engine.inference.model_outputs`, ``purpose="labels"``);
   - post-processing at the first refresh's T = 0.02 and LinPro, on the 200-video THUMOS14-like
     TCAM workload of ``benches/thumos_like.py`` (realistic TCAMs; an untrained model's are not):
     released = ``benches/numpy_official.py`` (``numpy_detect``) and the dense LP of every
     (video, class) with ``scipy.optimize.linprog(method="highs")`` (the release ran scipy 1.8's
     interior-point solver, slower still); trainer = `tadfuse.engine.refresh.refresh_labels`
     (``detect_batch`` + ``linpro_labels_batch``).
3. **Peak memory of a forward on the longest THUMOS14 video** (2,614 snippets) in training mode
   (the autograd graph kept, as before ``backward``) and in eval mode: dense vs Woodbury, each in
   a fresh child process (``ru_maxrss`` minus the resident size before the forward).

Prints a markdown table (for benches/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import thumos_like
from compare_linpro import released_w
from numpy_official import numpy_detect
from scipy.optimize import linprog
from tadfuse.config import get_preset
from tadfuse.data import load_dataset, synthesize
from tadfuse.engine.inference import model_outputs
from tadfuse.engine.losses import training_losses
from tadfuse.engine.refresh import RefreshTimings, label_tcam, label_video_scores, refresh_labels
from tadfuse.engine.schedule import epoch_plan
from tadfuse.engine.trainer import _Trainer, seed_everything
from tadfuse.models import RSKP, ModelConfig

LONGEST_TEST_VIDEO = 2614  # snippets of the longest Thumos14reduced test video
EXTRA: list[str] = []


# -- 1. one epoch ----------------------------------------------------------------------------


def released_epoch(trainer: _Trainer, plan, order: list[int]) -> None:
    """The released loop's structure over ``order`` (method.py:198-328): one video per forward,
    dense inverses, the bank read then written per video, one backward per video, a step every
    ``videos_per_step`` videos."""
    model, bank, cfg = trainer.model, trainer.bank, trainer.config
    for g in trainer.optimizer.param_groups:
        g["lr"] = plan.learning_rate
    count = 0
    for p in order:
        x = torch.as_tensor(trainer.data.feature(trainer.train_idx[p]))[None]
        labels = torch.as_tensor(trainer.labels[p])[None]
        out = model(x, walk="inverse")
        memory = None
        if plan.memory_active:
            centres = bank.read(labels[0])
            bank.write(out.centres[0], out.centre_scores[0], labels[0])
            memory = model.memory_branch(out.embedded, centres[None], walk="inverse")
        terms = training_losses(out.main, out.walk, labels, plan.weights, memory=memory, train=cfg.train)
        terms["total"].backward()
        count += 1
        if count % cfg.train.videos_per_step == 0:
            trainer.optimizer.step()
            trainer.optimizer.zero_grad(set_to_none=True)


def epoch_times(data_dir: Path, videos: int, rounds: int) -> dict[str, float]:
    """Best of ``rounds`` epochs of each loop, alternating (the VM is shared and noisy); every
    epoch starts from the same weights, optimiser state and filled memory bank."""
    ds = load_dataset(data_dir)
    cfg = get_preset("paper").override([f"model.feature_dim={ds.feature_dim}", "model.warmup_epoch=0", *EXTRA])
    epoch = 150  # after the warm-up, before the first refresh: the memory branch is on
    plan = epoch_plan(cfg, epoch)
    assert plan.memory_active and plan.refresh_temperature is None
    out: dict[str, float] = {"released": float("inf"), "trainer": float("inf")}
    for _ in range(rounds):
        for name in ("released", "trainer"):
            seed_everything(0)
            t = _Trainer(cfg, ds, torch.device("cpu"), None, False, None)
            t.train_idx = t.train_idx[:videos]
            t.names, t.lengths, t.labels = t.names[:videos], t.lengths[:videos], t.labels[:videos]
            t._fill_memory()
            order = list(range(len(t.train_idx)))
            np.random.default_rng(epoch).shuffle(order)
            t0 = time.perf_counter()
            if name == "released":
                released_epoch(t, plan, order)
            else:
                t._train_epoch(plan)
            out[name] = min(out[name], time.perf_counter() - t0)
    out["snippets"] = float(sum(ds.num_snippets(i) for i in ds.split("train")[:videos]))
    return out


# -- 2. the refresh ---------------------------------------------------------------------------


def inference_times(data_dir: Path, videos: int, rounds: int) -> dict[str, float]:
    """Best of ``rounds`` refresh inferences of each kind, alternating."""
    ds = load_dataset(data_dir)
    cfg = ModelConfig.paper(feature_dim=ds.feature_dim)
    torch.manual_seed(0)
    model = RSKP(cfg).eval()
    feats = [ds.feature(int(i)) for i in ds.split("train")[:videos]]
    best = {"released": float("inf"), "trainer": float("inf")}
    for _ in range(rounds):
        t0 = time.perf_counter()
        with torch.no_grad():
            released = []
            for f in feats:
                o = model(torch.as_tensor(f)[None], walk="inverse")
                released.append((label_tcam(o.main.logits, o.walk.logits, o.main.attention, cfg.label_tcam_o_weight)[0],
                                 label_video_scores(o.main.video_agnostic, o.walk.video_agnostic, cfg.video_o_weight)[0]))
        t1 = time.perf_counter()
        ours = model_outputs(model, feats, cfg, purpose="labels")  # the trainer's default for the CPU
        t2 = time.perf_counter()
        best["released"] = min(best["released"], t1 - t0)
        best["trainer"] = min(best["trainer"], t2 - t1)
    diff = max(float(np.abs(a[0].numpy() - b[0]).max()) for a, b in zip(released, ours))
    return {**best, "max_tcam_diff": diff}


def thumos_tcams(seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The TCAMs and video scores behind ``thumos_like.load(seed)`` (the same recipe and random
    stream; that module keeps only the fused instances)."""
    rng = np.random.default_rng(seed)
    d = thumos_like.ANNOTATIONS
    subset = np.load(d / "subset.npy", allow_pickle=True)
    duration = np.load(d / "duration.npy", allow_pickle=True)
    labels = np.load(d / "labels.npy", allow_pickle=True)
    segments = np.load(d / "segments.npy", allow_pickle=True)
    classlist = [c.decode() if isinstance(c, bytes) else str(c) for c in np.load(d / "classlist.npy", allow_pickle=True)]
    cas_list, score_list = [], []
    for i in [i for i, s in enumerate(subset) if s == b"validation"]:
        length = int(float(np.ravel(duration[i])[0]) * 25 / 16)
        per_class: dict[int, list[tuple[float, float]]] = {}
        for lab, (a, b) in zip(labels[i], segments[i]):
            per_class.setdefault(classlist.index(lab), []).append((a * 25 / 16, b * 25 / 16))
        if rng.random() < 0.35:
            extra = int(rng.choice([c for c in range(20) if c not in per_class]))
            k = int(rng.integers(1, 4))
            starts = rng.uniform(0, max(length - 10, 1), k)
            per_class[extra] = [(a, a + rng.uniform(4, 30)) for a in starts]
        cas = np.zeros((length, thumos_like.NUM_CLASSES))
        scores = np.zeros(thumos_like.NUM_CLASSES)
        for c, segs in sorted(per_class.items()):
            cas[:, c] = thumos_like.synth_cas(length, segs, rng)
            scores[c] = 1.0
        cas_list.append(cas)
        score_list.append(scores)
    return cas_list, score_list


def released_postprocess_and_lp(cas_list, score_list, temperature: float) -> tuple[float, float, list[dict]]:
    t0 = time.perf_counter()
    fused = [numpy_detect(cas, s, temperature=temperature) for cas, s in zip(cas_list, score_list)]
    t1 = time.perf_counter()
    for dets, cas in zip(fused, cas_list):
        length = cas.shape[0]
        g = np.zeros((length, cas.shape[1]))
        for c, d in dets.items():
            if not len(d["start"]):
                continue
            w, q = released_w(np.column_stack([d["start"], d["end"], d["score"]]), length)
            res = linprog(np.ones(length), A_eq=w, b_eq=q, bounds=(0.0, 1.0), method="highs")
            g[:, c] = res.x if res.status == 0 else np.nan
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, fused


def fused_agreement(numpy_fused: list[dict], cas_list, score_list, temperature: float) -> tuple[float, int]:
    """Max |Δ| of the fused start/end/score between numpy_detect and detect_batch, and how many
    boundaries fall on different sides of an integer (the LinPro W rows truncate them)."""
    from tadfuse import PostprocessConfig, detect_batch

    ours = detect_batch(cas_list, score_list, PostprocessConfig.official(temperature=temperature))
    worst, sides = 0.0, 0
    for d, p in zip(numpy_fused, ours):
        for c, v in d.items():
            sel = p.label == c
            assert int(sel.sum()) == len(v["start"])
            for a, b in ((p.start[sel], v["start"]), (p.end[sel], v["end"]), (p.score[sel], v["score"])):
                if len(a):
                    worst = max(worst, float(np.abs(a - b).max()))
            sides += int(np.sum(np.floor(p.start[sel]) != np.floor(v["start"])))
            sides += int(np.sum(np.floor(p.end[sel]) != np.floor(v["end"])))
    return worst, sides


# -- 3. peak memory ---------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(walk: str, mode: str, dim: int, threads: int) -> None:
    """Peak resident memory of one forward beyond the resident size before it: the high-water
    mark (VmHWM) is reset through /proc/self/clear_refs just before the forward."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = RSKP(ModelConfig.paper(feature_dim=dim))
    model.train(mode == "train")
    with torch.set_grad_enabled(mode == "train"):
        model(torch.rand(1, 16, dim), walk=walk)  # page in the kernels' code and workspaces
        x = torch.rand(1, LONGEST_TEST_VIDEO, dim) * 2
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current resident size
        before = _status_kib("VmRSS")
        out = model(x, walk=walk)
        peak = _status_kib("VmHWM")
        del out
    print(json.dumps({"peak_extra_mib": (peak - before) / 1024}))


def peak_memory(dim: int, threads: int) -> dict[str, float]:
    out = {}
    for mode in ("train", "eval"):
        for walk in ("inverse", "woodbury"):
            cmd = [sys.executable, __file__, "--memory-child", f"{walk}:{mode}", "--dim", str(dim), "--threads", str(threads)]
            r = subprocess.run(cmd, capture_output=True, text=True, check=True)
            out[f"{walk}:{mode}"] = json.loads(r.stdout.strip().splitlines()[-1])["peak_extra_mib"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=200, help="training videos (default all 200)")
    ap.add_argument("--dim", type=int, default=2048, help="feature dimension (default 2048, I3D)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds, best of each (default 2)")
    ap.add_argument("--data", help="an existing thumos14-structured folder of this --dim (default: generated)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                    help="a setting of the trainer's configuration (e.g. train.batch_videos=10)")
    ap.add_argument("--epoch-only", action="store_true", help="time the training epochs only")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        walk, mode = args.memory_child.split(":")
        memory_child(walk, mode, args.dim, args.threads)
        return
    torch.set_num_threads(args.threads)
    EXTRA[:] = args.set
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else synthesize("thumos14-structured", Path(tmp) / "t14", feature_dim=args.dim)
        epoch = epoch_times(data, args.videos, args.rounds)
        if args.epoch_only:
            print(f"{args.videos} videos ({int(epoch['snippets'])} snippets), D = {args.dim}, settings {args.set}: "
                  f"released structure {epoch['released']:.2f} s, trainer {epoch['trainer']:.2f} s "
                  f"({epoch['released'] / epoch['trainer']:.2f}x)")
            return
        inference = inference_times(data, args.videos, args.rounds)
    cas, scores = thumos_tcams()
    pp_released, lp_released, numpy_fused = released_postprocess_and_lp(cas, scores, thumos_like.FUSE_TEMPERATURE)
    timings = RefreshTimings()
    refresh_labels(cas, scores, thumos_like.FUSE_TEMPERATURE, timings=timings, num_threads=args.threads)
    fused_diff, fused_sides = fused_agreement(numpy_fused, cas, scores, thumos_like.FUSE_TEMPERATURE)
    memory = peak_memory(args.dim, args.threads)

    n = args.videos
    print(f"bench_trainer: {n} THUMOS14 training videos ({int(epoch['snippets'])} snippets), D = {args.dim}, "
          f"{args.threads} torch thread(s), best of {args.rounds} alternating rounds; python "
          f"{platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()}")
    print()
    print("| stage | released structure | trainer | speed-up |")
    print("|---|---:|---:|---:|")

    def row(name: str, a: float, b: float) -> None:
        print(f"| {name} | {a:9.2f} s | {b:9.2f} s | {a / b:6.2f}x |")

    row("training epoch (memory branch on)", epoch["released"], epoch["trainer"])
    scale = n / 200  # the post-processing / LP workload is all 200 videos; scale to --videos
    row("refresh: inference", inference["released"], inference["trainer"])
    row("refresh: post-processing (T = 0.02)", pp_released * scale, timings.postprocess_s * scale)
    row("refresh: LinPro", lp_released * scale, timings.linpro_s * scale)
    total_r = inference["released"] + (pp_released + lp_released) * scale
    total_t = inference["trainer"] + (timings.postprocess_s + timings.linpro_s) * scale
    row("refresh: total", total_r, total_t)
    print()
    print(f"| peak extra memory, forward on T = {LONGEST_TEST_VIDEO} | dense inverse | Woodbury | ratio |")
    print("|---|---:|---:|---:|")
    for mode, label in (("train", "training mode (autograd graph kept)"), ("eval", "eval mode, no grad")):
        d, w = memory[f"inverse:{mode}"], memory[f"woodbury:{mode}"]
        print(f"| {label} | {d:8.1f} MiB | {w:8.1f} MiB | {d / max(w, 1e-3):6.2f}x |")
    print()
    print(f"checks: refresh TCAMs batched vs dense max |Δ| = {inference['max_tcam_diff']:.2e}; fused instances numpy vs "
          f"tadfuse max |Δ| = {fused_diff:.1e} ({fused_sides} boundaries on the other side of an integer, which the "
          f"W rows truncate); LinPro vs the full LP on the same instances: benches/compare_linpro.py")

if __name__ == "__main__":
    main()
