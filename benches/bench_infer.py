"""Inference at scale (issue 10): streaming ``tadfuse infer`` end to end, and its post-processing
and writing stage alone.

    PYTHONPATH=python python benches/bench_infer.py [--feature-dim 256] [--replicas 100] [--threads 2]

1. End to end: ``tadfuse data synth --kind thumos14-structured`` (CPU, an untrained RSKP
   checkpoint of the ``official`` model shape at ``--feature-dim``): videos/s of
   :func:`tadfuse.engine.inference.infer_to_file` over the test split, and the seconds per stage
   (``read_forward`` in the main thread; ``detect``, ``format``, ``write`` in the
   post-processing thread, overlapped with it; ``final``: the sorted JSON).
2. The post-processing and writing stage: the 212 THUMOS14-test-sized TCAMs of
   ``tadfuse.reference.workload.thumos14_test_tcams`` (float32, ~97 detections per video)
   replicated ``--replicas`` times, in memory, through
   :func:`tadfuse.engine.stream.stream_detections` with ``PostprocessConfig.official(exact=True)``
   and JSON output; beside it, in the same run, ``detect_batch`` alone on the same TCAMs, and
   ``--from-raw`` on a TCAM folder of ``--raw-replicas`` copies (reading the ``.npz`` files).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def end_to_end(tmp: Path, feature_dim: int, threads: int) -> None:
    import torch
    from tadfuse.config import load_config
    from tadfuse.data import load_dataset, synthesize
    from tadfuse.engine.inference import infer_to_file
    from tadfuse.models import RSKP, save_checkpoint

    data = synthesize("thumos14-structured", tmp / "data", feature_dim=feature_dim, seed=0)
    ds = load_dataset(data)
    cfg = load_config("official", None, [f"model.feature_dim={feature_dim}", f"model.num_classes={ds.num_classes}"])
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp / "model.pt", RSKP(cfg.model), cfg.to_dict(), list(ds.class_names))
    n = len(ds.split("test"))
    t0 = time.perf_counter()
    res = infer_to_file(tmp / "e2e.json", ckpt, data, device="cpu", num_threads=threads, progress=False)
    wall = time.perf_counter() - t0
    print(f"## end to end: {n} test videos, {feature_dim}-d features, CPU, torch threads {torch.get_num_threads()}")
    print(f"wall {wall:.2f} s = {n / wall:.1f} videos/s; {res.detections} detections")
    print("stage seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in res.seconds.items()))


_DET = '{"label": %s, "score": %.17g, "segment": [%.17g, %.17g], "snippets": [%.17g, %.17g]}'


def _percent_batch(dets, label_json, infos, videos, num_threads=None):
    """The previous writer's text (one ``%`` format per video, 17 significant digits, in Python
    with the GIL), with the signature of ``detections_json_batch``: the "before" of this bench."""
    from tadfuse.annotations import snippets_to_seconds

    texts, counts = [], []
    for p, info in zip(dets, infos):
        if len(p) == 0:
            texts.append("[]")
            counts.append(0)
            continue
        s, e = snippets_to_seconds(p.start, p.end, info.snippet_seconds, info.offset_seconds, info.duration)
        counts.append(int(np.sum(e < p.end * info.snippet_seconds + info.offset_seconds)))
        rows = np.empty((len(p), 6), object)
        rows[:, 0] = np.asarray(label_json, object)[p.label]
        rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5] = p.score, s, e, p.start, p.end
        texts.append("[" + ", ".join([_DET] * len(p)) % tuple(rows.ravel().tolist()) + "]")
    return texts, counts


def stage(tmp: Path, replicas: int, raw_replicas: int, threads: int) -> None:
    from tadfuse.annotations import activitynet_results
    from tadfuse.config import PostprocessConfig
    from tadfuse.engine import stream
    from tadfuse.engine.inference import infer_to_file
    from tadfuse.engine.stream import VideoInfo, detections_json_batch, stream_detections
    from tadfuse.postprocess import detect_batch
    from tadfuse.reference.released import FACTOR
    from tadfuse.reference.workload import thumos14_test_tcams
    from tadfuse.tcam_io import write_tcam, write_tcam_meta

    w = thumos14_test_tcams().astype(np.float32)
    names = [str(v) for v in w.annotations.video_names]
    classes = list(w.annotations.classlist)
    c = len(classes)
    vids = [f"{v}_{k:04d}" for k in range(replicas) for v in names]
    src = {v: (w.cas[i % len(names)], w.video_scores[i % len(names)]) for i, v in enumerate(vids)}
    info = {v: VideoInfo(1 / FACTOR) for v in vids}
    pp = PostprocessConfig.official(exact=True)
    n = len(vids)
    print(f"## post-processing + writing: {n} videos ({replicas} x the 212 THUMOS14 test videos), exact fusion, "
          f"{threads} threads")
    rust_batch = stream.detections_json_batch
    for rnd, (text_name, batch) in enumerate([("Rust text", rust_batch), ("previous % text", _percent_batch),
                                              ("Rust text", rust_batch), ("previous % text", _percent_batch)]):
        stream.detections_json_batch = batch  # the write thread looks it up per window
        t0 = time.perf_counter()
        dets = detect_batch([src[v][0][:, :c] for v in vids], [src[v][1][:c] for v in vids], pp, num_threads=threads)
        t_detect = time.perf_counter() - t0
        rows = sum(len(d) for d in dets)
        del dets
        t0 = time.perf_counter()
        res = stream_detections(tmp / "stage.json", vids, lambda b: ([(v, *src[v]) for v in b], {}),
                                class_names=classes, info=info, postprocess=pp, provenance={}, window=1024,
                                num_threads=threads, progress=False)
        t_stream = time.perf_counter() - t0
        size = res.path.stat().st_size / 2**20
        print(f"round {rnd} ({text_name}): detect_batch alone {n / t_detect:,.0f} videos/s ({rows / n:.1f} detections/video); "
              f"stream to JSON {n / t_stream:,.0f} videos/s ({size:.0f} MiB); stage seconds: "
              + ", ".join(f"{k} {v:.3f}" for k, v in res.seconds.items()))
    stream.detections_json_batch = rust_batch
    # the JSON text alone: the previous writers (activitynet_results, the % text) vs the Rust text
    few = vids[: 4 * len(names)]
    dets = dict(zip(few, detect_batch([src[v][0][:, :c] for v in few], [src[v][1][:c] for v in few], pp,
                                      num_threads=threads)))
    labels = [json.dumps(x) for x in classes]
    t0 = time.perf_counter()
    ref = activitynet_results(dets, classes, snippet_seconds=1 / FACTOR)
    t_ref = time.perf_counter() - t0
    ps, infos = list(dets.values()), [info[v] for v in few]
    t0 = time.perf_counter()
    old = _percent_batch(ps, labels, infos, few)[0]
    t_old = time.perf_counter() - t0
    per_thread = {}
    for t in (1, threads):
        t0 = time.perf_counter()
        texts = detections_json_batch(ps, labels, infos, few, t)[0]
        per_thread[t] = time.perf_counter() - t0
    assert all(json.loads(a) == json.loads(b) == ref["results"][v] for v, a, b in zip(few, texts, old))
    print(f"JSON text of {len(few)} videos: activitynet_results (1 thread) {len(few) / t_ref:,.0f} videos/s, "
          f"previous % text (1 thread) {len(few) / t_old:,.0f} videos/s, detections_json_batch "
          + ", ".join(f"{t} thread(s) {len(few) / dt:,.0f} videos/s ({t_old / dt:.1f}x the % text)"
                      for t, dt in per_thread.items()))
    raw = tmp / "raw"
    write_tcam_meta(raw, class_names=classes, background=True, snippet_seconds=1 / FACTOR, producer="bench_infer")
    rv = vids[: raw_replicas * len(names)]
    for v in rv:
        write_tcam(raw, v, *src[v])
    t0 = time.perf_counter()
    res = infer_to_file(tmp / "raw.json", from_raw=raw, config=None, overrides=["postprocess.exact=true"],
                        num_threads=threads, progress=False)
    wall = time.perf_counter() - t0
    print(f"--from-raw ({len(rv)} .npz files): {len(rv) / wall:,.0f} videos/s; stage seconds: "
          + ", ".join(f"{k} {v:.3f}" for k, v in res.seconds.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feature-dim", type=int, default=256)
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--raw-replicas", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-end-to-end", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_infer_") as d:
        if not a.skip_end_to_end:
            end_to_end(Path(d), a.feature_dim, a.threads)
        stage(Path(d), a.replicas, a.raw_replicas, a.threads)


if __name__ == "__main__":
    main()
