"""`tadfuse.bench`: the timing harness (against a scripted clock), the workloads (the sizes recorded
in benches/RESULTS.md, prefixes), the released dense-LP baseline (engineered W rows, feasible and
infeasible problems, parity with tadfuse's LinPro), the tables' agreement checks (they fail when a
baseline is wrong), and the report (markdown structure, provenance)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tadfuse.bench import TABLE_NAMES, Settings, Size, provenance, render, run, to_json
from tadfuse.bench.full_lp import full_lp_labels, released_w
from tadfuse.bench.report import Ratio, Table, cpu_model
from tadfuse.bench.timing import Timing, best_of, interleaved
from tadfuse.bench.workloads import (
    NUM_CLASSES,
    one_class_segments,
    thumos14_test_like,
    thumos14_train_like,
)
from tadfuse.errors import InvalidArgumentError
from tadfuse.proposals import Proposals

# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------


class ScriptedClock:
    """A clock that a call advances by its scripted duration: ``calls[name]`` pops the next one."""

    def __init__(self, durations: dict[str, list[float]]) -> None:
        self.now = 0.0
        self.left = {k: list(v) for k, v in durations.items()}
        self.log: list[str] = []

    def __call__(self) -> float:
        return self.now

    def fn(self, name: str):
        def call() -> None:
            self.log.append(name)
            self.now += self.left[name].pop(0)

        return call


def test_best_of_stops_at_the_budget_and_the_cap() -> None:
    clock = ScriptedClock({"f": [0.5, 0.25, 0.375, 0.125, 0.125]})  # dyadic: exact clock arithmetic
    assert best_of(clock.fn("f"), budget=1.0, max_calls=50, clock=clock) == (0.25, 3)  # 0.5 + 0.25 + 0.375 >= 1
    clock = ScriptedClock({"f": [0.375, 0.125, 0.25]})
    assert best_of(clock.fn("f"), budget=10.0, max_calls=2, clock=clock) == (0.125, 2)
    clock = ScriptedClock({"f": [2.0]})
    assert best_of(clock.fn("f"), budget=0.0, max_calls=5, clock=clock) == (2.0, 1)  # at least one call
    with pytest.raises(InvalidArgumentError, match="max_calls"):
        best_of(lambda: None, budget=1.0, max_calls=0)


def test_interleaved_rotates_the_order_each_round() -> None:
    clock = ScriptedClock({n: [1.0] * 4 for n in "abc"})
    interleaved({n: clock.fn(n) for n in "abc"}, rounds=4, budget=0.0, clock=clock)
    assert "".join(clock.log) == "abc" "bca" "cab" "abc"
    with pytest.raises(InvalidArgumentError, match="rounds"):
        interleaved({"a": lambda: None}, rounds=0, budget=0.0)


_ticks = st.integers(1, 64).map(lambda k: k / 64)  # dyadic: the clock's sums and differences are exact


@given(st.lists(st.lists(_ticks, min_size=1, max_size=4), min_size=1, max_size=6),
       st.integers(0, 128).map(lambda k: k / 64), st.integers(1, 4))
def test_interleaved_reports_the_best_call_of_each_round(calls: list[list[float]], budget: float, cap: int) -> None:
    """Round r of a contender whose calls take ``calls[r]`` (then 1 s each): the round's time is
    the best of the calls made until ``budget`` is spent (at least 1, at most ``cap``)."""
    pad = [1.0] * cap
    rnd = [0]
    clock = ScriptedClock({})
    clock.left["f"] = [*calls[0], *pad]

    def next_round() -> None:
        rnd[0] += 1
        if rnd[0] < len(calls):
            clock.left["f"] = [*calls[rnd[0]], *pad]

    t = interleaved({"f": clock.fn("f")}, rounds=len(calls), budget=budget, max_calls=cap, clock=clock,
                    after_round=next_round)["f"]
    want, n = [], 0
    for r in calls:
        durations = [*r, *pad]
        spent, best, k = 0.0, math.inf, 0
        while k == 0 or (spent < budget and k < cap):
            best, spent, k = min(best, durations[k]), spent + durations[k], k + 1
        want.append(best)
        n += k
    assert list(t.rounds) == want and t.calls == n == len(clock.log)
    assert t.median == statistics.median(t.rounds) and t.best == min(t.rounds)


def test_timing_and_ratio() -> None:
    a, b = Timing((3.0, 1.0, 2.0), calls=7), Timing((0.5, 0.25, 1.0), calls=9)
    assert (a.median, a.best) == (2.0, 1.0)
    r = Ratio("row", "slow", "fast", a, b)
    assert r.value == 4.0
    d = r.to_dict()
    assert d["ratio"] == 4.0 and d["numerator"]["name"] == "slow" and d["denominator"]["rounds_s"] == [0.5, 0.25, 1.0]
    assert d["numerator"]["calls"] == 7


# --------------------------------------------------------------------------------------------
# workloads
# --------------------------------------------------------------------------------------------


def test_test_workload_is_the_recorded_one() -> None:
    """The numbers in benches/RESULTS.md's detection title: 212 videos, 71804 snippets, 247
    (video, class) pairs processed, 9424 fused detections (official preset)."""
    from tadfuse.config import PostprocessConfig
    from tadfuse.postprocess import detect_batch

    videos = thumos14_test_like(0)
    assert len(videos) == 212 and all(v.cas.shape[1] == NUM_CLASSES for v in videos)
    assert sum(v.cas.shape[0] for v in videos) == 71804
    assert sum(int((v.video_scores >= 0.16).sum()) for v in videos) == 247
    fused = detect_batch([v.cas for v in videos], [v.video_scores for v in videos], PostprocessConfig.official())
    assert sum(map(len, fused)) == 9424
    first = thumos14_test_like(0, videos=5)
    assert len(first) == 5 and all(np.array_equal(a.cas, b.cas) for a, b in zip(first, videos))
    assert not np.array_equal(thumos14_test_like(1, videos=1)[0].cas, videos[0].cas)


def test_training_workload_is_the_recorded_one() -> None:
    """benches/RESULTS.md's LinPro title: 200 videos, 65215 snippets, 299 (video, class)
    problems, 2415 fused instances; 1-3 classes per video."""
    w = thumos14_train_like(0)
    assert len(w.fused) == len(w.cas) == len(w.names) == 200 and int(w.lengths.sum()) == 65215
    assert sum(len(np.unique(f.label)) for f in w.fused) == 299 and sum(map(len, w.fused)) == 2415
    assert all(1 <= int((s > 0).sum()) <= 3 for s in w.video_scores)
    assert all(c.shape == (int(l), NUM_CLASSES) for c, l in zip(w.cas, w.lengths))
    first = thumos14_train_like(0, videos=7)
    assert first.names == w.names[:7] and all(np.array_equal(a, b) for a, b in zip(first.cas, w.cas))
    assert all(a == b for a, b in zip(first.fused, w.fused))


@pytest.mark.parametrize("videos", [0, -1, 213, 2.0, True])
def test_workload_sizes_are_checked(videos) -> None:
    with pytest.raises((InvalidArgumentError, TypeError), match="videos"):
        thumos14_test_like(0, videos=videos)
    with pytest.raises((InvalidArgumentError, TypeError), match="videos"):
        thumos14_train_like(0, videos=videos if videos != 213 else 201)


def test_one_class_segments() -> None:
    seg = one_class_segments(1000, seed=3)
    n = seg["end"] - seg["start"]
    assert set(seg) == {"label", "start", "end", "score", "inner"} and all(len(v) == 1000 for v in seg.values())
    assert n.min() >= 2 and n.max() <= 100 and (seg["score"] <= seg["inner"]).all() and (seg["label"] == 0).all()
    assert all(np.array_equal(a, b) for a, b in zip(seg.values(), one_class_segments(1000, seed=3).values()))
    Proposals(**seg)  # valid columns


# --------------------------------------------------------------------------------------------
# the released dense LP
# --------------------------------------------------------------------------------------------


def test_released_w_engineered_rows() -> None:
    # [5, 10), l = 20: n = 5, margin 0.0785 * 5^0.9 = 0.334: outer 4 and 10
    w, q = released_w(np.array([[5.0, 10.0, 0.3]]), 20)
    assert np.array_equal(np.flatnonzero(w[0] == 1), np.arange(5, 10))
    assert np.array_equal(np.flatnonzero(w[0] == -1), [4, 10]) and q.tolist() == [0.3]
    # [10, 110), l = 200: margin 4.953: outer 5..9 and 110..114
    w, _ = released_w(np.array([[10.0, 110.0, 1.0]]), 200)
    assert np.array_equal(np.flatnonzero(w[0] == -1), [*range(5, 10), *range(110, 115)])
    # the right margin stops at l - 1 (the released code's cut); the left at 0
    w, _ = released_w(np.array([[15.0, 19.0, 1.0], [0.0, 3.0, 1.0]]), 20)
    assert np.flatnonzero(w[0] == -1).tolist() == [14] and w[0, 19] == 0  # snippet 19 is in no margin
    assert np.flatnonzero(w[1] == -1).tolist() == [3] and (w[1, :3] == 1).all()


def test_full_lp_feasible_and_infeasible() -> None:
    # video 0: one instance [2, 6) with q = 0.5 (min Σx = 0.5); video 1: q = 5 > 4 inner snippets
    fused = [Proposals(np.array([3]), np.array([2.0]), np.array([6.0]), np.array([0.5])),
             Proposals(np.array([1]), np.array([2.0]), np.array([6.0]), np.array([5.0]))]
    out = full_lp_labels(fused, [10, 10], NUM_CLASSES)
    assert out.infeasible == 1 and set(out.objective) == {(0, 3)}
    assert out.objective[(0, 3)] == pytest.approx(0.5)
    g = out.labels[0]
    assert g.shape == (10, NUM_CLASSES) and g[:, 3].sum() == pytest.approx(0.5) and (g[:, :3] == 0).all()
    assert np.isnan(out.labels[1][:, 1]).all() and not np.isnan(out.labels[1][:, 0]).any()


def test_full_lp_reaches_tadfuse_linpro_optimum() -> None:
    from tadfuse.linpro import linpro_labels_batch

    w = thumos14_train_like(0, videos=12)
    base = full_lp_labels(w.fused, w.lengths, NUM_CLASSES)
    ours = linpro_labels_batch(w.fused, w.lengths, NUM_CLASSES)
    assert base.objective
    for (v, c), obj in base.objective.items():
        assert ours[v][:, c].sum() == pytest.approx(obj, rel=1e-7, abs=1e-9)
        assert np.isfinite(base.labels[v][:, c]).all()


# --------------------------------------------------------------------------------------------
# tables: tiny runs, and their checks fail when a baseline is wrong
# --------------------------------------------------------------------------------------------

TINY = Settings(Size("tiny", 3, 3, (50,), budget_s=0.0, max_calls=1, repeat=1), repeat=2, threads=2, seed=0)


def test_tiny_run_of_every_table() -> None:
    tables = run(TINY, progress=False)
    assert [t.name for t in tables] == list(TABLE_NAMES)
    for t in tables:
        assert t.ratios and all(math.isfinite(r.value) and r.value > 0 for r in t.ratios)
        assert all(len(r.numerator_timing.rounds) == 2 for r in t.ratios)
        assert all(len(row) == len(t.header) for row in t.rows)
    data = to_json(tables, TINY, provenance("tadfuse bench"))
    assert data["settings"]["repeat"] == 2 and [t["name"] for t in data["tables"]] == list(TABLE_NAMES)
    text = render(tables, TINY, provenance("tadfuse bench"))
    assert text.count("|---|") == len(TABLE_NAMES)
    assert [t.name for t in run(TINY, ["linpro", "postprocess"], progress=False)] == ["postprocess", "linpro"]
    with pytest.raises(InvalidArgumentError, match="unknown table 'nope'"):
        run(TINY, ["nope"])


def test_one_thread_leaves_out_the_threaded_rows() -> None:
    one = Settings(TINY.size, 1, 1, 0)
    t = run(one, ["postprocess"], progress=False)[0]
    assert [r.row for r in t.ratios] == ["detect, 3 videos, 1 thread"]


def test_postprocess_check_fails_on_a_wrong_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    import tadfuse.reference.numpy_official as ref

    real = ref.numpy_detect

    def shifted(cas, scores):
        out = real(cas, scores)
        for r in out.values():
            r["start"] = r["start"] + 1e-9
        return out

    monkeypatch.setattr(ref, "numpy_detect", shifted)
    with pytest.raises(AssertionError, match="differ in start"):
        run(TINY, ["postprocess"], progress=False)


def test_kernel_check_fails_on_a_wrong_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    import tadfuse.reference.numpy_official as ref

    real = ref.numpy_nms
    monkeypatch.setattr(ref, "numpy_nms", lambda s, e, sc: real(s, e, sc)[:-1])
    with pytest.raises(AssertionError, match="numpy_nms and nms differ"):
        run(TINY, ["kernels"], progress=False)


def test_linpro_check_fails_on_a_wrong_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    import tadfuse.bench.full_lp as full_lp

    real = full_lp.full_lp_labels

    def off(*args):
        out = real(*args)
        return full_lp.FullLP(out.labels, {k: v * (1 + 1e-4) for k, v in out.objective.items()}, out.infeasible)

    monkeypatch.setattr(full_lp, "full_lp_labels", off)
    with pytest.raises(AssertionError, match="optimum differs"):
        run(TINY, ["linpro"], progress=False)


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def test_table_markdown() -> None:
    t = Table("x", "Title line", ["a", "b"], rows=[["r1", "1.0x"], ["r2", ""]], notes=["a note"])
    assert t.markdown().splitlines() == ["Title line", "", "| a | b |", "|---|---:|", "| r1 | 1.0x |", "| r2 |  |",
                                         "", "- a note"]
    assert t.to_dict()["rows"] == [["r1", "1.0x"], ["r2", ""]]


def test_provenance() -> None:
    import numpy
    import scipy
    import tadfuse

    p = provenance("tadfuse bench --quick")
    assert p["command"] == "tadfuse bench --quick" and p["tadfuse_version"] == tadfuse.__version__
    assert p["numpy"] == numpy.__version__ and p["scipy"] == scipy.__version__
    m = p["machine"]
    assert m["cpu_model"] == cpu_model() and m["cpu_model"] and m["cpu_count"] >= 1 and 1 <= m["usable_cpus"]
    assert p["time_utc"].endswith("+00:00")
