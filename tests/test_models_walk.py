"""The random walk: Woodbury form = dense released inverse = slow numpy reference; masking; EM."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

torch = pytest.importorskip("torch")

from tadfuse.errors import InvalidArgumentError  # noqa: E402
from tadfuse.models import assignments, em_centres, random_walk  # noqa: E402
from test_models_reference import ref_em, ref_walk  # noqa: E402

finite = st.floats(-3.0, 3.0, allow_nan=False, width=64)


@st.composite
def walk_inputs(draw, max_t=12, max_k=9, max_d=6):
    t = draw(st.integers(1, max_t))
    k = draw(st.integers(1, max_k))
    d = draw(st.integers(1, max_d))
    x = draw(arrays(np.float64, (t, d), elements=finite))
    c = draw(arrays(np.float64, (k, d), elements=finite))
    w = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.99]) | st.floats(0.0, 0.99))
    return x, c, w


def walk(x, c, w, method, dtype=torch.float64):
    return random_walk(torch.tensor(x[None], dtype=dtype), torch.tensor(c[None], dtype=dtype), w, method=method)[0].numpy()


@settings(max_examples=60)
@given(walk_inputs())
def test_woodbury_and_dense_match_the_reference_float64(inp):
    x, c, w = inp
    ref = ref_walk(x, c, w)
    scale = max(1.0, float(np.abs(ref).max()))
    for method in ("woodbury", "inverse", "solve"):
        np.testing.assert_allclose(walk(x, c, w, method), ref, rtol=0, atol=1e-10 * scale)


@settings(max_examples=40)
@given(walk_inputs())
def test_woodbury_matches_dense_float32(inp):
    x, c, w = inp
    dense = walk(x, c, w, "inverse", torch.float32)
    fast = walk(x, c, w, "woodbury", torch.float32)
    scale = max(1.0, float(np.abs(dense).max()))
    # float32 rounding of an inverse with condition number ≤ (1+w²)/(1−w²) ≈ 100 at w = 0.99
    np.testing.assert_allclose(fast, dense, rtol=0, atol=1e-5 * scale / (1 - w**2))


@pytest.mark.parametrize(
    "t,k,w",
    [(1, 8, 0.5), (1, 1, 0.5), (2, 9, 0.9), (5, 5, 0.999), (40, 3, 0.0), (30, 8, 0.5), (3, 40, 0.7)],
)
def test_engineered_shapes_and_weights(t, k, w):
    """T = 1, K > T, K = T, w = 0, w → 1."""
    rng = np.random.default_rng(t * 100 + k)
    x, c = rng.normal(size=(t, 6)), rng.normal(size=(k, 6))
    ref = ref_walk(x, c, w)
    np.testing.assert_allclose(walk(x, c, w, "woodbury"), ref, rtol=0, atol=1e-10 * max(1.0, np.abs(ref).max()))
    scale = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(walk(x, c, w, "woodbury", torch.float32), ref, rtol=0, atol=2e-5 / (1 - w**2) * scale)


def test_degenerate_inputs():
    """Identical snippets (ties in every softmax), zero centres (an empty memory bank), zero
    snippets (padding that was not masked) stay finite and match the reference."""
    x = np.tile(np.array([[1.0, -2.0, 0.5]]), (6, 1))
    c = np.zeros((5, 3))
    for xs, cs in ((x, c), (x, np.eye(3)), (np.zeros((4, 3)), np.eye(3)[:2])):
        ref = ref_walk(xs, cs, 0.5)
        got = walk(xs, cs, 0.5, "woodbury")
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


@settings(max_examples=30)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.integers(1, 5), st.data())
def test_masked_batch_equals_each_video(lengths, k, data):
    """Padded snippets and padded centres change nothing for the real ones."""
    d, t_max = 4, max(lengths)
    ks = [data.draw(st.integers(1, k)) for _ in lengths]
    xs = [data.draw(arrays(np.float64, (n, d), elements=finite)) for n in lengths]
    cs = [data.draw(arrays(np.float64, (kk, d), elements=finite)) for kk in ks]
    xb = torch.zeros(len(lengths), t_max, d, dtype=torch.float64)
    cb = torch.full((len(lengths), k, d), 7.0, dtype=torch.float64)  # junk in padded centres
    mask = torch.zeros(len(lengths), t_max, dtype=torch.bool)
    cmask = torch.zeros(len(lengths), k, dtype=torch.bool)
    for b, (x, c) in enumerate(zip(xs, cs)):
        xb[b, : len(x)], cb[b, : len(c)] = torch.tensor(x), torch.tensor(c)
        mask[b, : len(x)], cmask[b, : len(c)] = True, True
    for method in ("woodbury", "inverse"):
        out = random_walk(xb, cb, 0.5, mask=mask, centre_mask=cmask, method=method).numpy()
        for b, (x, c) in enumerate(zip(xs, cs)):
            np.testing.assert_allclose(out[b, : len(x)], walk(x, c, 0.5, method), rtol=0, atol=1e-10)
            assert np.all(out[b, len(x) :] == 0)


def test_assignments_zero_padding_rows_and_columns():
    x = torch.randn(1, 5, 3, dtype=torch.float64)
    c = torch.randn(1, 4, 3, dtype=torch.float64)
    mask = torch.tensor([[True, True, True, False, False]])
    cmask = torch.tensor([[True, False, True, False]])
    z = assignments(c, x, mask=mask, centre_mask=cmask)
    assert torch.all(z[0, :, 3:] == 0) and torch.all(z[0, [1, 3]] == 0)
    torch.testing.assert_close(z[0, :, :3].sum(0), torch.ones(3, dtype=torch.float64))


@settings(max_examples=30)
@given(st.integers(1, 10), st.integers(1, 6), st.integers(0, 3), st.data())
def test_em_matches_the_reference(t, k, iterations, data):
    x = data.draw(arrays(np.float64, (t, 4), elements=finite))
    mu = data.draw(arrays(np.float64, (k, 4), elements=finite))
    got = em_centres(torch.tensor(mu), torch.tensor(x[None]), iterations=iterations)[0].numpy()
    np.testing.assert_allclose(got, ref_em(mu, x, iterations), rtol=0, atol=1e-10)


def test_gradients_of_woodbury_equal_dense_gradients():
    torch.manual_seed(0)
    x = torch.randn(1, 7, 4, dtype=torch.float64, requires_grad=True)
    c = torch.randn(1, 3, 4, dtype=torch.float64, requires_grad=True)
    grads = []
    for method in ("woodbury", "inverse"):
        (gx, gc) = torch.autograd.grad(random_walk(x, c, 0.5, method=method).pow(2).sum(), (x, c))
        grads.append((gx, gc))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-10)


def test_bad_arguments():
    x, c = torch.randn(1, 4, 3), torch.randn(1, 2, 3)
    with pytest.raises(InvalidArgumentError, match="method"):
        random_walk(x, c, 0.5, method="lu")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="must agree"):
        random_walk(x, torch.randn(1, 2, 5), 0.5)
    with pytest.raises(InvalidArgumentError, match="at least one real centre"):
        random_walk(x, c, 0.5, centre_mask=torch.tensor([[False, False]]))
