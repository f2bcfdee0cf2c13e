"""The comparisons of ``tadfuse bench``, one function per table (`TABLES`).

* ``postprocess``: THUMOS14-like detection, `tadfuse.reference.numpy_official.numpy_detect` per
  video vs `tadfuse.detect_batch` with 1 and ``threads`` threads.
* ``kernels``: one class of random segments: fusion, hard NMS and soft-NMS, the numpy loops vs
  tadfuse.
* ``exact``: ``PostprocessConfig.official(exact=True)`` vs the fast official path (float64 and
  float32 TCAMs, fusion and NMS; the LinPro workload's TCAMs at T = 0.02), one thread.
* ``linpro``: LinPro labels, the released code's dense LP per (video, class)
  (`tadfuse.bench.full_lp`) vs `tadfuse.linpro_labels_batch` / `tadfuse.linpro_labels`.

Before anything is timed, each table checks that what it compares computes the same thing (the
numpy baselines agree with tadfuse to 1e-12, thread counts give identical output, LinPro reaches
the full LP's optimum); a disagreement is a bug and raises ``AssertionError``. Timing:
`tadfuse.bench.timing.interleaved`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tadfuse.bench.report import Ratio, Table
from tadfuse.bench.settings import Settings
from tadfuse.bench.timing import Timing, interleaved
from tadfuse.bench.workloads import FUSE_TEMPERATURE, NUM_CLASSES, TrainingWorkload, one_class_segments

__all__ = ["TABLES", "Context", "exact", "kernels", "linpro", "postprocess", "timed_sets"]


@dataclass
class Context:
    """A run's settings, its workloads (generated once, on first use) and the hook called after
    every timed round (a progress bar)."""

    settings: Settings
    after_round: Callable[[], None] | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def test_videos(self) -> list:
        if "test" not in self._cache:
            from tadfuse.bench.workloads import thumos14_test_like

            self._cache["test"] = thumos14_test_like(self.settings.seed, self.settings.size.test_videos)
        return self._cache["test"]

    def training(self) -> TrainingWorkload:
        if "train" not in self._cache:
            from tadfuse.bench.workloads import thumos14_train_like

            self._cache["train"] = thumos14_train_like(self.settings.seed, self.settings.size.train_videos)
        return self._cache["train"]

    def time(self, contenders: dict[str, Callable[[], object]]) -> dict[str, Timing]:
        s = self.settings
        return interleaved(contenders, s.repeat, s.size.budget_s, s.size.max_calls, after_round=self.after_round)


def _ms(t: float) -> str:
    return f"{t * 1e3:.3f} ms"


def _x(r: float, digits: int = 1) -> str:
    return f"{r:.{digits}f}x"


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(f"tadfuse bench: {what}")


# --------------------------------------------------------------------------------------------
# post-processing


def _check_detect(videos: list, fused: list) -> None:
    """numpy_detect and detect_batch agree on every video (class sets, columns to 1e-12)."""
    from tadfuse.reference.numpy_official import numpy_detect

    for v, det in zip(videos, fused):
        ref = numpy_detect(v.cas, v.video_scores)
        got = {c: det[det.label == c] for c in np.unique(det.label).tolist()}
        _require(sorted(ref) == sorted(got), "numpy_detect and detect_batch process different classes")
        for c, r in ref.items():
            for col in ("start", "end", "score", "inner"):
                _require(np.allclose(getattr(got[c], col), r[col], rtol=1e-12, atol=1e-12),
                         f"numpy_detect and detect_batch differ in {col} of class {c}")


def postprocess(ctx: Context) -> Table:
    """THUMOS14-like detection, numpy vs tadfuse with 1 and ``threads`` threads."""
    from tadfuse.config import PostprocessConfig
    from tadfuse.postprocess import detect_batch
    from tadfuse.reference.numpy_official import numpy_detect

    videos, n_threads = ctx.test_videos(), ctx.settings.threads
    cas, scores = [v.cas for v in videos], [v.video_scores for v in videos]
    cfg = PostprocessConfig.official()
    fused = detect_batch(cas, scores, cfg, num_threads=1)
    _check_detect(videos, fused)
    run = lambda k: functools.partial(detect_batch, cas, scores, cfg, num_threads=k)
    contenders = {"numpy": lambda: [numpy_detect(c, s) for c, s in zip(cas, scores)], "tadfuse, 1 thread": run(1)}
    if n_threads > 1:
        _require(run(n_threads)() == fused, f"detect_batch with {n_threads} threads differs from 1 thread")
        contenders[f"tadfuse, {n_threads} threads"] = run(n_threads)
    t = ctx.time(contenders)

    n = len(videos)
    snippets = sum(c.shape[0] for c in cas)
    pairs = sum(int((s >= cfg.class_threshold).sum()) for s in scores)
    table = Table(
        "postprocess",
        f"THUMOS14-like detection: {n} videos, {snippets} snippets, {NUM_CLASSES} classes, {len(cfg.thresholds)} "
        f"thresholds, {pairs} (video, class) pairs processed, {sum(map(len, fused))} fused detections",
        ["workload", "baseline", "tadfuse", "speed-up"],
        workload={"videos": n, "snippets": snippets, "classes": NUM_CLASSES, "thresholds": len(cfg.thresholds),
                  "pairs": pairs, "fused_detections": sum(map(len, fused))},
    )
    for name in list(contenders)[1:]:
        r = Ratio(f"detect, {n} videos, {name.removeprefix('tadfuse, ')}", "numpy", name, t["numpy"], t[name])
        table.ratios.append(r)
        table.rows.append([r.row, f"numpy {_ms(r.numerator_timing.median)}",
                           f"tadfuse {_ms(r.denominator_timing.median)}", _x(r.value)])
    if n_threads > 1:
        many = f"tadfuse, {n_threads} threads"
        r = Ratio(f"{n_threads} threads vs 1 thread", "tadfuse, 1 thread", many, t["tadfuse, 1 thread"], t[many])
        table.ratios.append(r)
        table.rows.append([r.row, f"1 thread {_ms(r.numerator_timing.median)}",
                           f"{n_threads} threads {_ms(r.denominator_timing.median)}", _x(r.value, 2)])
    table.rows.append(["videos / s (1 thread)", f"numpy {n / t['numpy'].median:.0f}",
                       f"tadfuse {n / t['tadfuse, 1 thread'].median:.0f}", ""])
    return table


def kernels(ctx: Context) -> Table:
    """One class of n random segments: fusion, NMS, soft-NMS, numpy loops vs tadfuse."""
    from tadfuse.postprocess import fuse, nms, soft_nms
    from tadfuse.proposals import Proposals
    from tadfuse.reference.numpy_official import numpy_fuse, numpy_nms, numpy_soft_nms

    sizes = ctx.settings.size.kernel_segments
    table = Table("kernels", "One class, n random segments (~10 per 100 snippets, lengths 2-100): "
                  "numpy loops vs tadfuse, one thread", ["kernel", "baseline", "tadfuse", "speed-up"],
                  workload={"segments": list(sizes), "temperature": 0.2, "overlap_threshold": 0.25})
    for n in sizes:
        seg = one_class_segments(n, ctx.settings.seed)
        p = Proposals(**seg)
        s, e, sc, inn = seg["start"], seg["end"], seg["score"], seg["inner"]
        ref_f, got_f = numpy_fuse(s, e, sc, inn, 0.2, 0.25), fuse(p, temperature=0.2)
        _require(np.allclose(got_f.start, ref_f[0], rtol=1e-12, atol=0) and
                 np.allclose(got_f.score, ref_f[2], rtol=1e-12, atol=0), f"numpy_fuse and fuse differ ({n} segments)")
        _require(np.array_equal(nms(p).start, s[numpy_nms(s, e, sc)]), f"numpy_nms and nms differ ({n} segments)")
        idx, dec = numpy_soft_nms(s, e, sc)
        got_s = soft_nms(p)
        _require(np.array_equal(got_s.start, s[idx]) and np.allclose(got_s.score, dec, rtol=1e-12, atol=0),
                 f"numpy_soft_nms and soft_nms differ ({n} segments)")
        call = functools.partial
        pairs = {
            "fusion": (call(numpy_fuse, s, e, sc, inn, 0.2, 0.25), call(fuse, p, temperature=0.2)),
            "NMS": (call(numpy_nms, s, e, sc), call(nms, p)),
            "soft-NMS": (call(numpy_soft_nms, s, e, sc), call(soft_nms, p)),
        }
        t = ctx.time({f"{k} {who}": fn for k, (a, b) in pairs.items() for who, fn in (("numpy", a), ("tadfuse", b))})
        for k in pairs:
            r = Ratio(f"{k}, {n:,} segments", f"{k} numpy", f"{k} tadfuse", t[f"{k} numpy"], t[f"{k} tadfuse"])
            table.ratios.append(r)
            table.rows.append([r.row, f"numpy {_ms(r.numerator_timing.median)}",
                               f"tadfuse {_ms(r.denominator_timing.median)}", _x(r.value)])
    return table


def _check_exact(fast: list, slow: list, dtype: np.dtype, name: str) -> None:
    """Exact and fast detections are the same up to rounding: where a video has as many rows in
    both, the same starts, ends and scores to 1e-9 relative for float64 TCAMs, 1e-5 for float32
    (exact mode averages in the TCAM's dtype); sorted, since rows whose scores differ in the
    last bits may swap."""
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (1e-5, 1e-7)
    _require(len(fast) == len(slow), f"exact and fast mode return different video counts ({name})")
    for a, b in zip(fast, slow):
        if len(a) == len(b):
            for col in ("start", "end", "score"):
                _require(np.allclose(np.sort(getattr(a, col)), np.sort(getattr(b, col)), rtol=rtol, atol=atol),
                         f"exact and fast mode differ in {col} beyond rounding ({name})")


def exact(ctx: Context) -> Table:
    """Exact mode vs the fast official path, one thread."""
    from tadfuse.config import PostprocessConfig
    from tadfuse.postprocess import detect_batch

    videos, train = ctx.test_videos(), ctx.training()
    cas, scores = [v.cas for v in videos], [v.video_scores for v in videos]
    cfg = PostprocessConfig.official()
    cases = [(f"{name} TCAMs", tcams, scores, cfg.replace(method=method))
             for name, tcams in (("float64", cas), ("float32", [c.astype(np.float32) for c in cas]))
             for method in ("fusion", "nms")]
    cases.append((f"{len(train.cas)} training videos (the LinPro workload), T = {FUSE_TEMPERATURE}", train.cas,
                  train.video_scores, cfg.replace(temperature=FUSE_TEMPERATURE)))
    table = Table("exact", f"Exact mode (official(exact=True)) vs the fast official path, one thread: the {len(videos)} "
                  f"THUMOS14-like test videos and the {len(train.cas)} training videos of the LinPro workload",
                  ["workload", "fast", "exact", "exact / fast"],
                  workload={"test_videos": len(videos), "train_videos": len(train.cas)})
    for name, tcams, vs, base in cases:
        fast = functools.partial(detect_batch, tcams, vs, base, num_threads=1)
        slow = functools.partial(detect_batch, tcams, vs, base.replace(exact=True), num_threads=1)
        _check_exact(fast(), slow(), tcams[0].dtype, name)
        t = ctx.time({"fast": fast, "exact": slow})
        r = Ratio(f"detect {base.method}, {name}", "exact", "fast", t["exact"], t["fast"])
        table.ratios.append(r)
        table.rows.append([r.row, _ms(r.denominator_timing.median), _ms(r.numerator_timing.median), _x(r.value, 2)])
    return table


# --------------------------------------------------------------------------------------------
# LinPro


def linpro(ctx: Context) -> Table:
    """LinPro labels: the dense LP per (video, class) vs tadfuse's reduced LPs."""
    from tadfuse.bench.full_lp import full_lp_labels
    from tadfuse.linpro import LinproStats, linpro_labels, linpro_labels_batch, w_matrix

    work, n_threads = ctx.training(), ctx.settings.threads
    fused, lengths, C = work.fused, work.lengths, NUM_CLASSES
    n_videos = len(fused)

    base = full_lp_labels(fused, lengths, C)
    stats = LinproStats()
    ours = linpro_labels_batch(fused, lengths, C, stats=stats, num_threads=1)
    rel, max_res = [], 0.0
    for v, (f, l, g) in enumerate(zip(fused, lengths.tolist(), ours)):
        for c in np.unique(f.label).tolist():
            if (v, c) in base.objective:
                sel = f.label == c
                w = w_matrix(f.start[sel], f.end[sel], l)
                max_res = max(max_res, float(np.abs(w @ g[:, c] - f.score[sel]).max()))
                ref = base.objective[(v, c)]
                rel.append(abs(g[:, c].sum() - ref) / max(abs(ref), 1e-12))
    nan_ours = sum(int(np.isnan(g).sum()) for g in ours)
    _require(nan_ours == 0, f"linpro_labels_batch returned {nan_ours} NaN entries")
    _require(not rel or max(rel) <= 1e-6, f"LinPro optimum differs from the full LP's by {max(rel) if rel else 0:.2e}")

    full = "full LP per class, scipy linprog(method='highs')"
    contenders: dict[str, Callable[[], object]] = {
        full: lambda: full_lp_labels(fused, lengths, C),
        "tadfuse linpro_labels_batch (highspy)": lambda: linpro_labels_batch(fused, lengths, C, solver="highspy",
                                                                             num_threads=1),
        "tadfuse linpro_labels_batch (scipy)": lambda: linpro_labels_batch(fused, lengths, C, solver="scipy",
                                                                           num_threads=1),
        "tadfuse linpro_labels per video (highspy)": lambda: [
            linpro_labels(f, int(l), C, solver="highspy", num_threads=1) for f, l in zip(fused, lengths)],
    }
    if n_threads > 1:
        contenders[f"tadfuse linpro_labels_batch (highspy), {n_threads} threads"] = lambda: linpro_labels_batch(
            fused, lengths, C, solver="highspy", num_threads=n_threads)
    t = ctx.time(contenders)

    table = Table(
        "linpro",
        f"LinPro labels, THUMOS14-like training set ({n_videos} videos, {int(lengths.sum())} snippets, "
        f"{stats.problems} (video, class) problems, {stats.instances} fused instances); one thread unless named",
        ["method", f"median ms / {n_videos} videos", "best ms", "videos/s", "speed-up vs full LP"],
        workload={"videos": n_videos, "snippets": int(lengths.sum()), "problems": stats.problems,
                  "instances": stats.instances},
    )
    for name, tm in t.items():
        r = Ratio(name, full, name, t[full], tm)
        if name != full:
            table.ratios.append(r)
        table.rows.append([name, f"{tm.median * 1e3:.1f}", f"{tm.best * 1e3:.1f}", f"{n_videos / tm.median:,.0f}",
                           _x(r.value)])
    table.notes = [
        f"full LP: {base.infeasible} infeasible problems (NaN columns in the released code); tadfuse: "
        f"{stats.infeasible_problems} infeasible problems solved elastically, NaN entries: {nan_ours}",
        f"tadfuse components: {stats.components} ({stats.closed_form} closed form, {stats.lp_components} by HiGHS in "
        f"{stats.lp_solves} HiGHS calls for the whole batch)",
        f"objective vs full LP on the {len(rel)} feasible problems: max relative difference "
        f"{max(rel) if rel else 0.0:.2e}; max |W g - q| there (tadfuse) {max_res:.2e}; on the infeasible ones the "
        f"minimum L1 residual, total {stats.residual_l1:.3g}",
    ]
    table.workload.update(infeasible_full_lp=base.infeasible, infeasible_tadfuse=stats.infeasible_problems,
                          components=stats.components, closed_form=stats.closed_form,
                          lp_components=stats.lp_components, lp_solves=stats.lp_solves,
                          max_relative_objective_difference=max(rel) if rel else 0.0)
    return table


#: Table name → (builder, how many interleaved sets of rounds it times for a `Settings`).
TABLES: dict[str, tuple[Callable[[Context], Table], Callable[[Settings], int]]] = {
    "postprocess": (postprocess, lambda s: 1),
    "kernels": (kernels, lambda s: len(s.size.kernel_segments)),
    "exact": (exact, lambda s: 5),
    "linpro": (linpro, lambda s: 1),
}


def timed_sets(names: list[str], settings: Settings) -> int:
    """How many rounds the tables ``names`` time in all (a progress bar's total)."""
    return settings.repeat * sum(TABLES[n][1](settings) for n in names)
