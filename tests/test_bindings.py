"""The binding boundary: choice strings, the config object, typed LinPro results, thread counts
and the exception classes that reach Python."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tadfuse
from tadfuse import _core
from tadfuse.errors import InvalidArgumentError, InvalidTypeError
from tadfuse.linpro import linpro_labels_batch


def _props(seed: int = 0, m: int = 300, videos: int = 4) -> tadfuse.Proposals:
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 400, m).astype(float)
    return tadfuse.Proposals(rng.integers(0, 3, m), start, start + rng.integers(1, 30, m), rng.uniform(0, 1, m),
                             inner=rng.uniform(0, 0.2, m), video=rng.integers(0, videos, m))


def _columns(p: tadfuse.Proposals):
    return (p.label, p.start, p.end, p.score, p.inner, p.video)


@pytest.mark.parametrize(("call", "arg"), [
    (lambda c: _core.nms(c, 0.25, "nope", None), "overlap"),
    (lambda c: _core.fuse(c, 0.2, 0.25, "coverage", "nope", "gaussian", 3.0, None), "weight"),
    (lambda c: _core.fuse(c, 0.2, 0.25, "coverage", "inner", "cauchy", 3.0, None), "template"),
    (lambda c: _core.soft_nms(c, 0.5, 0.0, "cubic", 0.3, None, None), "method"),
    (lambda c: _core.linpro_w_rows(c[1], c[2], 500, "papers", 0.25), "preset"),
])
def test_unknown_choices_name_the_argument_and_the_choices(call, arg):
    with pytest.raises(InvalidArgumentError, match=rf"`{arg}`: unknown value .*choose one of"):
        call(_columns(_props()))


def test_non_string_choices_are_type_errors():
    with pytest.raises(InvalidTypeError, match="`overlap` must be a str"):
        _core.nms(_columns(_props()), 0.25, 3, None)


def test_public_wrappers_report_the_same():
    with pytest.raises(InvalidArgumentError, match="`overlap`"):
        tadfuse.nms(_props(), overlap="nope")
    with pytest.raises(InvalidArgumentError, match="`template`"):
        tadfuse.fuse(_props(), temperature=0.2, template="cauchy")


def test_core_errors_are_invalid_argument_errors():
    p = _props()
    cols = list(_columns(p))
    cols[2] = cols[1] - 1.0  # end < start
    with pytest.raises(InvalidArgumentError, match="`end`: end < start"):
        _core.nms(tuple(cols), 0.25, "coverage", None)
    with pytest.raises(InvalidArgumentError, match="`cas`: non-finite"):
        tadfuse.detect(np.array([[np.inf, 0.0]]), np.ones(2))
    assert issubclass(InvalidArgumentError, ValueError)


@dataclasses.dataclass
class _Like:
    """Anything with PostprocessConfig's attributes is read the same way."""

    thresholds: tuple = tadfuse.OFFICIAL_THRESHOLDS
    class_threshold: float = 0.16
    min_length: object = 2
    preset: object = "official"
    alpha: float = 0.25
    method: str = "fusion"
    temperature: float = 0.2
    threshold: float = 0.25
    overlap: str = "coverage"
    weight: str = "inner"
    template: str = "gaussian"
    dof: float = 3.0
    sigma: float = 0.5
    min_score: float = 0.001
    soft_method: str = "gaussian"
    max_out: object = None
    exact: bool = False


def test_the_config_is_read_by_attribute():
    rng = np.random.default_rng(1)
    cas = [rng.uniform(0, 0.06, (120, 3))]
    scores = [np.ones(3)]
    out, shifted = _core.detect_batch(cas, scores, _Like(), None)
    ref = tadfuse.detect_batch(cas, scores)
    assert shifted == [0]
    np.testing.assert_array_equal(out[0][1], ref[0].start)
    with pytest.raises(InvalidTypeError, match="`config.min_length`"):
        _core.detect_batch(cas, scores, _Like(min_length="2"), None)
    with pytest.raises(InvalidArgumentError, match="`preset`: unknown value"):
        _core.detect_batch(cas, scores, _Like(preset="papers"), None)
    with pytest.raises(InvalidTypeError, match="`config` has no field `"):
        _core.detect_batch(cas, scores, object(), None)


@pytest.mark.parametrize("bad", [0, tadfuse.postprocess.MAX_THREADS + 1])
def test_thread_counts_are_bounded_everywhere(bad):
    p = _props()
    for call in (lambda: tadfuse.fuse(p, temperature=0.2, num_threads=bad),
                 lambda: tadfuse.nms(p, num_threads=bad),
                 lambda: tadfuse.soft_nms(p, num_threads=bad),
                 lambda: tadfuse.detect_batch([np.zeros((3, 1))], [np.ones(1)], num_threads=bad),
                 lambda: linpro_labels_batch(p, np.full(4, 500), 3, num_threads=bad)):
        with pytest.raises(InvalidArgumentError, match="num_threads"):
            call()
    # the core checks the same bound
    with pytest.raises(InvalidArgumentError, match="num_threads"):
        _core.nms(_columns(p), 0.25, "coverage", bad)


def test_results_do_not_depend_on_the_thread_count():
    p = _props(3, m=2000, videos=12)
    for fn in (lambda n: tadfuse.fuse(p, temperature=0.2, num_threads=n), lambda n: tadfuse.nms(p, num_threads=n),
               lambda n: tadfuse.soft_nms(p, num_threads=n)):
        assert fn(1) == fn(2) == fn(None)
    fused = tadfuse.fuse(p, temperature=0.02)
    one = linpro_labels_batch(fused, np.full(12, 500), 3, num_threads=1)
    two = linpro_labels_batch(fused, np.full(12, 500), 3, num_threads=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_linpro_results_are_typed_read_only_objects():
    p = _props()
    plan = _core.linpro_plan(p.video, p.label, p.start, p.end, p.score, np.full(4, 500), 3, "official", 0.25, None,
                             (_core.LINPRO_NATIVE_MAX_ROWS, _core.LINPRO_NATIVE_MAX_CLASSES))
    assert isinstance(plan, _core.LinproPlan)
    assert plan.lp_indptr.dtype == np.int64 and plan.var_value.dtype == np.float64
    assert plan.var_value is plan.var_value  # the same array every time: the caller fills it in place
    with pytest.raises(AttributeError):
        plan.lp_b = np.zeros(1)
    assert plan.problem_native.dtype == np.int64 and plan.problem_native.size == plan.problem_video.size
    part = _core.linpro_partition(p.start[:20], p.end[:20], 500, "official", 0.25)
    assert isinstance(part, _core.Partition) and part.entry_sign.dtype == np.int8
    assert part.class_ptr.size == part.class_size.size + 1


def test_native_limits_are_bounded():
    """The dense tableau of a component grows with the limits: they are capped, and the error names
    them (the public API passes its module constants)."""
    p = _props()
    args = (p.video, p.label, p.start, p.end, p.score, np.full(4, 500), 3, "official", 0.25, None)
    with pytest.raises(InvalidArgumentError, match=r"`native_limits`: \(rows, classes\) must be at most"):
        _core.linpro_plan(*args, (10_000, 10))
    with pytest.raises(InvalidArgumentError, match="`native_limits`: must be >= 0"):
        _core.linpro_plan(*args, (-1, 10))
    assert _core.linpro_plan(*args, (0, 0)).problem_native.sum() == 0
