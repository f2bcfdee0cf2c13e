"""Slow, obviously-correct restatements of the released RSKP / GauFuse code for the model tests,
and checks of the restatements themselves.

Written from a reading of zhou745/GauFuse_WSTAL (``model/main_branch.py``, ``model/memory.py``,
``method.py``, ``evaluation/eval.py``) and LeonHLJ/RSKP (the same files, ``processor.py``):

* ``ref_forward``: ``WSTAL.forward`` for one video in numpy float64, with explicit loops and the
  dense T×T matrix inverted by ``np.linalg.inv``;
* ``released_forward_torch``: the same in torch float32 in the released operation order (the
  einsum strings, ``torch.inverse`` / ``torch.linalg.solve(M, I)``), for bit-level comparisons;
* ``ref_test_outputs``: ``ss_eval``'s TCAM and video scores;
* ``ReleasedMemory``: the ``Memory`` queue, fed the ``(1, C)`` label array exactly as the
  released training loop feeds it, so ``np.where(labels == 1)[0]`` (GauFuse) gives the class-0
  defect by itself and ``[1]`` (RSKP after its fix) the right classes.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

# -- numpy float64 -------------------------------------------------------------------------------


def ref_l2n(x, eps=1e-9):
    return x / (np.sqrt((x * x).sum(axis=-1, keepdims=True)) + eps)


def ref_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def ref_assign(centres, x, scale=5.0):
    """Z[k, t] = softmax over k of scale·cos(centre_k, x_t), by loops."""
    K, T = centres.shape[0], x.shape[0]
    cn, xn = ref_l2n(centres), ref_l2n(x)
    z = np.zeros((K, T))
    for t in range(T):
        logits = np.array([scale * float(cn[k] @ xn[t]) for k in range(K)])
        z[:, t] = ref_softmax(logits, 0)
    return z


def ref_em(mu, x, iterations=2, scale=5.0):
    for _ in range(iterations):
        z = ref_assign(mu, x, scale)
        zn = z / (z.sum(axis=1, keepdims=True) + 1e-9)
        mu = zn @ x
    return mu


def ref_walk(x, centres, w, scale=5.0):
    """x̃ = (1−w)(I − w²A)⁻¹(w·Zᵀμ + x) with A[t, t'] = Σ_k Z[k,t] Ẑ[k,t'] built entry by entry."""
    T = x.shape[0]
    z = ref_assign(centres, x, scale)
    zn = z / (z.sum(axis=1, keepdims=True) + 1e-9)
    A = np.zeros((T, T))
    for t in range(T):
        for u in range(T):
            A[t, u] = float(z[:, t] @ zn[:, u])
    y = w * (z.T @ centres) + x
    return (1 - w) * np.linalg.inv(np.eye(T) - w**2 * A) @ y


def ref_heads(x, ac, fg, s=20.0):
    xn, acn, fgn = ref_l2n(x), ref_l2n(ac), ref_l2n(fg)
    logits = s * xn @ acn.T  # (T, C+1)
    att = 1 / (1 + np.exp(-(s * xn @ fgn.T)[:, 0]))  # (T,)
    cw = 1 / (1 + np.exp(-logits))
    cw = cw / (cw.sum(axis=0, keepdims=True) + 1e-5)
    ca = att / (att.sum() + 1e-5)
    ca_feat = ca @ x
    cw_feat = cw.T @ x  # (C+1, D)
    ca_pred = ref_softmax(s * ref_l2n(ca_feat) @ acn.T, 0)
    cw_pred = ref_softmax(s * np.einsum("cd,cd->c", ref_l2n(cw_feat), acn), 0)
    return ca_pred, cw_pred, att, logits


def ref_forward(params, features, *, w=0.5, s=20.0, iterations=2):
    """One video, eval mode (no dropout). ``params``: the released state_dict as float64 arrays."""
    x = np.maximum(features @ params["feature_embedding.0.weight"].T + params["feature_embedding.0.bias"], 0.0)
    mu = ref_em(params["mu"], x, iterations)
    xr = ref_walk(x, mu, w)
    o = ref_heads(x, params["ac_center"], params["fg_center"], s)
    m = ref_heads(xr, params["ac_center"], params["fg_center"], s)
    mu_pred = ref_softmax(s * ref_l2n(mu) @ ref_l2n(params["ac_center"]).T, 1)
    return {"o": o, "m": m, "x": x, "mu": mu, "mu_pred": mu_pred, "walked": xr}


def ref_test_outputs(o, m, a, v=0.6):
    """``ss_eval``: TCAM = (a·softmax(o) + (1−a)·softmax(m)) × o's attention; video 0.6/0.4."""
    tcam = (a * ref_softmax(o[3], 1) + (1 - a) * ref_softmax(m[3], 1)) * o[2][:, None]
    return tcam, v * o[0] + (1 - v) * m[0]


# -- torch float32, released operation order ----------------------------------------------------


def released_forward_torch(state, features, solver="inverse", w=0.5, s=20.0, iterations=2):
    """``WSTAL.forward`` (eval) for ``features`` ``(1, T, D_in)``, op for op."""

    def norm(f):
        return f / (torch.norm(f, p=2, dim=-1, keepdim=True) + 1e-9)

    def walk(x, y):
        x_norm, y_norm = norm(x), norm(y)
        eye = torch.eye(x.size(1)).float()
        z = F.softmax(torch.einsum("nkd,ntd->nkt", [y_norm, x_norm]) * 5.0, 1)
        zn = z / (z.sum(dim=-1, keepdim=True) + 1e-9)
        aff = torch.einsum("nkt,nkd->ntd", [z, zn])
        if solver == "inverse":
            inv = torch.inverse(eye - (w**2) * aff)
        else:
            inv = torch.linalg.solve(eye - (w**2) * aff, eye.expand_as(aff))
        y2x = w * torch.einsum("nkt,nkd->ntd", [z, y]) + x
        return (1 - w) * torch.einsum("ntk,nkd->ntd", [inv, y2x])

    def heads(x):
        nx, nac, nfg = norm(x), norm(state["ac_center"]), norm(state["fg_center"])
        frm = torch.einsum("ntd,cd->ntc", [nx, nac]) * s
        fb = torch.einsum("ntd,kd->ntk", [nx, nfg]).squeeze(-1) * s
        att = torch.sigmoid(fb)
        ws = torch.sigmoid(frm)
        ws = ws / (torch.sum(ws, dim=1, keepdim=True) + 1e-5)
        wf = torch.sigmoid(fb)
        wf = wf / (torch.sum(wf, dim=1, keepdim=True) + 1e-5)
        ca = torch.einsum("ntd,nt->nd", [x, wf])
        cw = torch.einsum("ntd,ntc->ncd", [x, ws])
        ca_s = torch.einsum("nd,cd->nc", [norm(ca), nac]) * s
        cw_s = torch.einsum("ncd,cd->nc", [norm(cw), nac]) * s
        return F.softmax(ca_s, -1), F.softmax(cw_s, -1), att, frm

    with torch.no_grad():
        x = torch.relu(F.linear(features, state["feature_embedding.0.weight"], state["feature_embedding.0.bias"]))
        mu = state["mu"][None, ...].repeat(features.shape[0], 1, 1)
        norm_x = norm(x)
        for _ in range(iterations):
            z = F.softmax(torch.einsum("nkd,ntd->nkt", [norm(mu), norm_x]) * 5.0, 1)
            zn = z / (z.sum(dim=-1, keepdim=True) + 1e-9)
            mu = torch.einsum("nkt,ntd->nkd", [zn, x])
        return heads(x), heads(walk(x, mu)), mu


def released_ss_eval(o, m, a):
    """``ss_eval``'s two lines, op for op (``a`` = 0.85 GauFuse ``args.frm_coef``, 0.6 RSKP)."""
    vid = o[0] * 0.6 + m[0] * 0.4
    frm = F.softmax(o[3], -1) * a + F.softmax(m[3], -1) * (1 - a)
    frm = frm * o[2][..., None]
    return frm[0].numpy(), vid[0].numpy()


# -- the memory bank ------------------------------------------------------------------------------


class ReleasedMemory:
    """``model/memory.py``'s queues in numpy; ``where_axis`` 0 = GauFuse (class-0 defect), 1 = RSKP."""

    def __init__(self, num_classes, slots, dim, where_axis):
        self.mu = np.zeros((num_classes, slots, dim))
        self.sc = np.zeros((num_classes, slots))
        self.slots = slots
        self.where_axis = where_axis

    def _insert(self, mu, sc, idx):
        all_sc = np.concatenate([self.sc[idx], sc[:, idx]])
        all_mu = np.concatenate([self.mu[idx], mu])
        order = np.argsort(-all_sc, kind="stable")[: self.slots]
        self.mu[idx] = all_mu[order]
        self.sc[idx] = all_sc[order]

    def init_queue(self, videos):
        """``_init_queue``: labels squeezed to (C,), so ``np.where(lbl == 1)[0]`` is right."""
        for mu, sc, lbl in videos:
            for idx in np.where(lbl == 1)[0].tolist():
                self._insert(mu, sc, idx)

    def train_step(self, mu, sc, np_labels):
        """The training loop: ``idxs = np.where(np_labels == 1)[axis]`` on the (1, C) array,
        read ``_return_queue(idxs)``, then ``_update_queue``. Returns what was read."""
        idxs = np.where(np_labels == 1)[self.where_axis].tolist()
        read = np.concatenate([self.mu[i] for i in idxs], axis=0)
        for idx in idxs:
            self._insert(mu, sc, idx)
        return read


# -- checks of the references ---------------------------------------------------------------------


def test_ref_walk_solves_its_linear_system():
    rng = np.random.default_rng(0)
    x, c, w = rng.normal(size=(7, 5)), rng.normal(size=(3, 5)), 0.6
    out = ref_walk(x, c, w)
    z = ref_assign(c, x)
    zn = z / (z.sum(axis=1, keepdims=True) + 1e-9)
    lhs = out - w**2 * (z.T @ (zn @ out))  # (I − w²ZᵀẐ) x̃
    np.testing.assert_allclose(lhs, (1 - w) * (w * z.T @ c + x), rtol=1e-12, atol=1e-12)


def test_ref_assign_columns_are_distributions():
    rng = np.random.default_rng(1)
    z = ref_assign(rng.normal(size=(4, 3)), rng.normal(size=(6, 3)))
    np.testing.assert_allclose(z.sum(axis=0), 1.0, rtol=1e-12)


def test_released_memory_defect_touches_only_class_0():
    mem = ReleasedMemory(4, 2, 3, where_axis=0)
    mu, sc = np.ones((2, 3)), np.full((2, 5), 0.5)
    read = mem.train_step(mu, sc, np.array([[0, 1, 0, 1]]))
    assert read.shape == (4, 3)  # class 0's queue, twice
    assert np.all(mem.sc[1:] == 0) and np.all(mem.sc[0] == 0.5)


def test_ref_forward_matches_the_torch_restatement():
    rng = np.random.default_rng(2)
    state = {
        "mu": rng.normal(size=(3, 6)),
        "ac_center": rng.normal(size=(4, 6)),
        "fg_center": rng.normal(size=(1, 6)),
        "feature_embedding.0.weight": rng.normal(size=(6, 5)) * 0.5,
        "feature_embedding.0.bias": rng.normal(size=6) * 0.1,
    }
    feats = rng.normal(size=(9, 5))
    ref = ref_forward(state, feats)
    o, m, _ = released_forward_torch({k: torch.tensor(v, dtype=torch.float32) for k, v in state.items()},
                                     torch.tensor(feats[None], dtype=torch.float32))  # fmt: skip
    for got, want in zip([*o, *m], [*ref["o"], *ref["m"]]):
        np.testing.assert_allclose(got[0].numpy(), want, rtol=1e-4, atol=1e-4)
