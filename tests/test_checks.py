"""Argument checks of the public post-processing API and PostprocessConfig: every bad value
gives TypeError/ValueError naming the argument, and nothing is silently truncated."""

from __future__ import annotations

import numpy as np
import pytest
import tadfuse
from tadfuse import PostprocessConfig, Proposals

CAS = np.random.default_rng(0).uniform(0, 0.05, (30, 3))
P = Proposals([0, 0], [0, 5], [4, 9], [0.5, 0.4])


@pytest.mark.parametrize(
    "field, value, exc",
    [
        ("max_out", 2.5, TypeError),
        ("max_out", True, TypeError),
        ("max_out", -1, ValueError),
        ("class_threshold", "a", TypeError),
        ("class_threshold", float("inf"), ValueError),
        ("sigma", -1, ValueError),
        ("sigma", 0, ValueError),
        ("min_score", float("nan"), ValueError),
        ("temperature", "0.2", TypeError),
        ("temperature", 0.0, ValueError),
        ("threshold", 1.5, ValueError),
        ("thresholds", ["a"], TypeError),
        ("thresholds", [], ValueError),
        ("min_length", 2**70, ValueError),
        ("min_length", 2.0, TypeError),
        ("alpha", -0.1, ValueError),
        ("dof", 0, ValueError),
        ("method", "wbf", ValueError),
    ],
)
def test_config_rejects_bad_fields(field, value, exc):
    with pytest.raises(exc, match=f"`{field}`"):
        PostprocessConfig(**{field: value})


def test_config_normalises_numbers():
    cfg = PostprocessConfig(temperature=np.float32(0.5), min_length=np.int64(3), thresholds=np.array([0.1, 0.2]))
    assert cfg.temperature == 0.5 and type(cfg.temperature) is float
    assert cfg.min_length == 3 and type(cfg.min_length) is int
    assert cfg.thresholds == (0.1, 0.2)


@pytest.mark.parametrize(
    "call, name, exc",
    [
        (lambda: tadfuse.extract_proposals(CAS, classes=[0.5]), "classes", ValueError),
        (lambda: tadfuse.extract_proposals(CAS, classes=["a"]), "classes", TypeError),
        (lambda: tadfuse.extract_proposals(CAS, thresholds=["a"]), "thresholds", TypeError),
        (lambda: tadfuse.extract_proposals(CAS, min_length=2**70), "min_length", ValueError),
        (lambda: tadfuse.extract_proposals(CAS, alpha="x", preset="paper"), "alpha", TypeError),
        (lambda: tadfuse.detect_batch([CAS], [np.ones(3)], num_threads=2.5), "num_threads", TypeError),
        (lambda: tadfuse.detect_batch([CAS], [np.ones(3)], num_threads=10**4), "num_threads", ValueError),
        (lambda: tadfuse.detect_batch([CAS], [np.ones(3)], num_threads=0), "num_threads", ValueError),
        (lambda: tadfuse.fuse(P, temperature="0.2"), "temperature", TypeError),
        (lambda: tadfuse.fuse(P, temperature=0.2, dof=-1, template="student_t"), "dof", ValueError),
        (lambda: tadfuse.soft_nms(P, max_out=1.5), "max_out", TypeError),
        (lambda: tadfuse.soft_nms(P, sigma=0), "sigma", ValueError),
        (lambda: tadfuse.nms(P, threshold=-0.1), "threshold", ValueError),
        (lambda: Proposals([1e30], [0], [1], [1]), "label", ValueError),
        (lambda: Proposals([0.5], [0], [1], [1]), "label", ValueError),
        (lambda: Proposals(["a"], [0], [1], [1]), "label", TypeError),
        (lambda: Proposals([0], ["a"], [1], [1]), "start", TypeError),
    ],
)
def test_api_rejects_bad_arguments(call, name, exc):
    with pytest.raises(exc, match=f"`{name}`"):
        call()


def test_columns_replaced_after_construction_are_checked_by_name():
    p = Proposals([0], [0], [1], [1])
    p.start = ["a"]
    with pytest.raises(TypeError, match="`start`"):
        tadfuse.nms(p)


def test_proposals_own_their_columns():
    start = np.array([0.0, 1.0])
    p = Proposals([0, 0], start, [1, 2], [1, 1])
    start[0] = 5.0
    assert p.start[0] == 0.0


def test_integral_floats_are_accepted_as_classes():
    a = tadfuse.extract_proposals(CAS, classes=[1.0, 2.0])
    b = tadfuse.extract_proposals(CAS, classes=[1, 2])
    assert a == b
