"""LinPro pseudo labels: the paper's ℓ1 linear program, solved exactly on equivalence classes.

For one video of ``l`` snippets and one class with fused instances ``(start, end, score)``
(docs/algorithms.md, "LinPro pseudo labels"), row ``k`` of the ``n × l`` matrix ``W`` is ``+1`` on the instance's inner snippets
and ``-1`` on its two outer ranges; LinPro solves::

    minimise Σ_i g_i   subject to   W g = q (the fused scores),   0 ≤ g ≤ 1

and uses ``g`` as the class's snippet-level pseudo label. Instead of that dense LP (``l``
variables per class per video, what the released code solves), this module solves the *reduced*
LP over equivalence classes — snippets whose columns of ``W`` are identical — which has the same
optimum; expanding each class sum uniformly over its snippets gives an optimal solution of the
full LP that is constant on every equivalence class (the paper's "average equivalent snippets",
done exactly). Independent components are separate LPs; one-row components have a closed form;
the small multi-row components (at most :data:`NATIVE_MAX_ROWS` rows and
:data:`NATIVE_MAX_CLASSES` classes: all of them on real videos) are solved in Rust by an exact
dense simplex (docs/linpro-native.md); the remaining components of a whole batch are stacked
into one block-diagonal LP, which HiGHS solves in a single call when every component is feasible.

Infeasible systems (no ``0 ≤ g ≤ 1`` satisfies ``W g = q``; a few percent of real videos) are
solved elastically in two phases: the minimum ``‖W g − q‖₁`` first, then the minimum ``Σ g`` at that
residual (the native simplex always solves that way, feasible or not). For the stacked LP, to
keep the feasible components out of those slower phases, an infeasible stack is first split into
4 parts, each re-solved as a plain LP, and an infeasible part is split again, at most 2 levels
deep (16 parts; a stack of fewer than 8 blocks is not split); only the infeasible parts at the
bottom go through the elastic phases, up to 3 more calls each (``_solve_blocks``), so the number
of HiGHS calls grows with the number of infeasible parts. Infeasible systems are
counted in :class:`LinproStats`; the output is never NaN.

Rows (instance ranges), in snippets, with ``s = int(start)``, ``e = int(end)``, ``n = e − s``
(``int`` truncates toward zero) and every range clipped to the video like a numpy slice:

* ``official`` (the released code): ``pad = 0.0785·n^0.9``; ``+1`` on ``[s, e)``, ``-1`` on
  ``[max(0, int(s − pad)), s)`` and ``[e, min(l − 1, int(e + pad + 1)))`` — the video's last
  snippet is never an outer snippet, and an instance with ``n = 0`` still has the one-snippet
  right range ``[e, e + 1)``: quirks kept on purpose.
* ``paper``: outer width ``w = int(alpha·n)`` (``alpha = 0.25``) on each side:
  ``-1`` on ``[max(0, s − w), s)`` and ``[e, min(l, e + w))``.

Entries are sums, not means, in both presets.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from tadfuse import _core
from tadfuse._checks import integer
from tadfuse.errors import InvalidArgumentError, InvalidTypeError
from tadfuse.proposals import Proposals

if TYPE_CHECKING:  # scipy.sparse is imported lazily: `import tadfuse` stays fast
    from scipy import sparse

__all__ = [
    "FEASIBILITY_TOL",
    "NATIVE_MAX_CLASSES",
    "NATIVE_MAX_ROWS",
    "PAPER_ALPHA",
    "LinproStats",
    "Partition",
    "linpro_labels",
    "linpro_labels_batch",
    "partition",
    "w_matrix",
]

Preset = Literal["official", "paper"]
Solver = Literal["auto", "highspy", "scipy"]

#: Outer width factor of the ``paper`` preset (outer width ``int(alpha·n)`` per side).
PAPER_ALPHA = 0.25

#: A component whose minimum L1 residual exceeds this (absolute, in score units) is infeasible.
FEASIBILITY_TOL: float = _core.LINPRO_FEASIBILITY_TOL
#: Largest multi-row component (rows, and equivalence classes) that the native simplex solves;
#: larger ones go to HiGHS (docs/linpro-native.md, "Where each component is solved").
NATIVE_MAX_ROWS: int = _core.LINPRO_NATIVE_MAX_ROWS
NATIVE_MAX_CLASSES: int = _core.LINPRO_NATIVE_MAX_CLASSES
# An infeasible stack is cut into this many parts, at most this many times (see _solve_blocks).
_SPLIT = 4
_SPLIT_DEPTH = 2

#: HiGHS primal/dual feasibility tolerance used for the stacked LP (HiGHS's default is 1e-7).
_HIGHS_TOL = 1e-10


# --------------------------------------------------------------------------------------------
# Statistics


@dataclasses.dataclass
class LinproStats:
    """Counters of a LinPro run; pass one as ``stats=`` to accumulate over calls (an epoch).

    A *problem* is one (video, class) pair with at least one fused instance; a *component* is
    a maximal set of instances linked through shared non-zero snippets (an independent LP).
    """

    videos: int = 0
    #: (video, class) pairs with at least one fused instance.
    problems: int = 0
    #: Fused instances (rows of W) over all problems.
    instances: int = 0
    #: Independent components over all problems.
    components: int = 0
    #: Components solved in closed form (one row, or rows linked only through outer snippets).
    closed_form: int = 0
    #: Multi-row components solved by the native simplex in Rust.
    native: int = 0
    #: Components solved by HiGHS (larger than the native limits, ``native=False``, or given back).
    lp_components: int = 0
    #: Components the native simplex gave back to HiGHS because its optimality certificate failed
    #: (counted in ``lp_components`` too; 0 in every workload measured).
    native_fallbacks: int = 0
    #: HiGHS invocations: 1 per batch with LP components when all are feasible; more when an
    #: infeasible stack is split and solved elastically (see ``_solve_blocks``).
    lp_solves: int = 0
    #: Problems with at least one infeasible component (solved elastically).
    infeasible_problems: int = 0
    #: Infeasible components (closed form, native or HiGHS).
    infeasible_components: int = 0
    #: Largest ``|W g − q|`` over all rows, in score units.
    max_residual: float = 0.0
    #: ``Σ |W g − q|`` over all rows (the minimum L1 residual of the infeasible components).
    residual_l1: float = 0.0

    def merge(self, other: LinproStats) -> None:
        """Adds ``other``'s counts to this object (max for ``max_residual``)."""
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            setattr(self, f.name, max(a, b) if f.name == "max_residual" else a + b)


# --------------------------------------------------------------------------------------------
# W rows and the partition (mainly for inspection and tests; the label functions use the core)


def _rule(preset: str, alpha: float | None) -> float:
    if preset == "official":
        if alpha is not None:
            raise InvalidArgumentError("alpha: only the 'paper' preset has an outer width factor")
        return PAPER_ALPHA  # unused by the core for 'official'
    if preset == "paper":
        return PAPER_ALPHA if alpha is None else float(alpha)
    raise InvalidArgumentError(f"preset: must be 'official' or 'paper', got {preset!r}")


def _bounds(start: npt.ArrayLike, end: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = np.ascontiguousarray(start, dtype=np.float64).reshape(-1)
    e = np.ascontiguousarray(end, dtype=np.float64).reshape(-1)
    return s, e


def w_matrix(
    start: npt.ArrayLike,
    end: npt.ArrayLike,
    length: int,
    *,
    preset: Preset = "official",
    alpha: float | None = None,
) -> np.ndarray:
    """The dense ``W`` of one class, shape ``(n, length)`` float64, entries in {-1, 0, +1}.

    ``start``, ``end``: shape ``(n,)``, snippets, ``0 ≤ start ≤ end``. This is the ``O(n·l)``
    matrix that the released code builds; the label functions never materialise it.
    """
    s, e = _bounds(start, end)
    rows = _core.linpro_w_rows(s, e, int(length), preset, _rule(preset, alpha))
    w = np.zeros((rows.shape[0], int(length)), dtype=np.float64)
    for k, (a, b, c, d, f, g) in enumerate(rows.tolist()):
        w[k, a:b] = -1.0
        w[k, c:d] = 1.0
        w[k, f:g] = -1.0
    return w


@dataclasses.dataclass(frozen=True)
class Partition:
    """Equivalence classes and components of one class's W (see :func:`partition`).

    Classes are numbered by their first snippet in time, components by their smallest row.
    ``C`` classes, ``n`` rows, ``S`` segments (maximal runs of one class).
    """

    #: Class of every snippet, shape ``(length,)`` int64.
    snippet_class: np.ndarray
    #: Segments ``[seg_start[j], seg_end[j])`` of class ``seg_class[j]``, shape ``(S,)`` each.
    seg_start: np.ndarray
    seg_end: np.ndarray
    seg_class: np.ndarray
    #: Snippets per class, shape ``(C,)``.
    class_size: np.ndarray
    #: CSR of the column patterns: class ``c``'s non-zeros are rows
    #: ``entry_row[class_ptr[c]:class_ptr[c+1]]`` with values ``entry_sign[...]`` (±1).
    class_ptr: np.ndarray
    entry_row: np.ndarray
    entry_sign: np.ndarray
    #: Component of each class, shape ``(C,)``; -1 for the all-zero class.
    class_component: np.ndarray
    #: Component of each row, shape ``(n,)``.
    row_component: np.ndarray
    num_components: int

    @property
    def num_classes(self) -> int:
        return int(self.class_size.shape[0])

    def column(self, c: int, num_rows: int) -> np.ndarray:
        """Class ``c``'s column of W, shape ``(num_rows,)`` float64."""
        col = np.zeros(num_rows)
        r = slice(self.class_ptr[c], self.class_ptr[c + 1])
        col[self.entry_row[r]] = self.entry_sign[r]
        return col


def partition(
    start: npt.ArrayLike,
    end: npt.ArrayLike,
    length: int,
    *,
    preset: Preset = "official",
    alpha: float | None = None,
) -> Partition:
    """Equivalence classes (identical columns of W) and independent components of one class.

    ``start``, ``end``: shape ``(n,)``, snippets. Computed by a sweep over sorted range endpoints
    in ``O(n log n + length + P)`` (``P``: total size of the distinct column patterns), without
    the dense matrix.
    """
    s, e = _bounds(start, end)
    d = _core.linpro_partition(s, e, int(length), preset, _rule(preset, alpha))
    return Partition(
        snippet_class=np.repeat(d.seg_class, d.seg_end - d.seg_start),
        seg_start=d.seg_start,
        seg_end=d.seg_end,
        seg_class=d.seg_class,
        class_size=d.class_size,
        class_ptr=d.class_ptr,
        entry_row=d.entry_row,
        entry_sign=d.entry_sign,
        class_component=d.class_component,
        row_component=d.row_component,
        num_components=int(d.num_components),
    )


# --------------------------------------------------------------------------------------------
# HiGHS back ends: one small interface, two implementations


class _Csc(NamedTuple):
    """A sparse matrix in CSC form as plain arrays (no scipy object on the hot path)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, a: sparse.sparray) -> _Csc:
        from scipy import sparse

        a = sparse.csc_array(a)
        return cls(a.indptr, a.indices, a.data, (int(a.shape[0]), int(a.shape[1])))

    def scipy(self) -> sparse.csc_array:
        from scipy import sparse

        return sparse.csc_array((self.data, self.indices, self.indptr), shape=self.shape)

    def matvec(self, x: np.ndarray) -> np.ndarray:
        cols = np.repeat(np.arange(self.shape[1]), np.diff(self.indptr))
        return np.bincount(self.indices, weights=self.data * x[cols], minlength=self.shape[0])


@dataclasses.dataclass
class _LP:
    """``min c·x  s.t.  row_lower ≤ A x ≤ row_upper,  lower ≤ x ≤ upper``."""

    c: np.ndarray
    a: _Csc
    row_lower: np.ndarray
    row_upper: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


_local = threading.local()


def _highspy_solve(lp: _LP) -> np.ndarray | None:
    import highspy

    h = getattr(_local, "highs", None)
    if h is None:
        # The raw binding: no banner, no Python callback machinery.
        h = highspy._Highs()  # type: ignore[attr-defined]  # exported in highspy.__all__
        h.setOptionValue("output_flag", False)
        h.setOptionValue("primal_feasibility_tolerance", _HIGHS_TOL)
        h.setOptionValue("dual_feasibility_tolerance", _HIGHS_TOL)
        _local.highs = h
    else:
        h.clearModel()
    a = lp.a
    status = h.passModel(
        a.shape[1], a.shape[0], a.indices.size, 1, 1, 0.0,  # colwise, minimise, offset
        lp.c, lp.lower, lp.upper, lp.row_lower, lp.row_upper,
        a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data,
        np.zeros(a.shape[1], dtype=np.int32),  # all continuous: an LP
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("LinPro: HiGHS rejected the stacked LP")
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(h.getSolution().col_value, dtype=np.float64)


def _scipy_solve(lp: _LP) -> np.ndarray | None:
    from scipy import sparse
    from scipy.optimize import linprog

    eq = lp.row_lower == lp.row_upper
    a = lp.a.scipy().tocsr()
    a_ub = sparse.vstack([a[~eq & np.isfinite(lp.row_upper)], -a[~eq & np.isfinite(lp.row_lower)]])
    b_ub = np.concatenate(
        [lp.row_upper[~eq & np.isfinite(lp.row_upper)], -lp.row_lower[~eq & np.isfinite(lp.row_lower)]]
    )
    res = linprog(
        lp.c,
        A_ub=a_ub if a_ub.shape[0] else None,
        b_ub=b_ub if a_ub.shape[0] else None,
        A_eq=a[eq] if eq.any() else None,
        b_eq=lp.row_lower[eq] if eq.any() else None,
        bounds=np.column_stack([lp.lower, lp.upper]),
        method="highs",
        options={"primal_feasibility_tolerance": _HIGHS_TOL, "dual_feasibility_tolerance": _HIGHS_TOL},
    )
    return np.asarray(res.x, dtype=np.float64) if res.status == 0 else None


def _backend(solver: str) -> Any:
    if solver == "scipy":
        return _scipy_solve
    if solver in ("highspy", "auto"):
        try:
            import highspy  # noqa: F401
        except ImportError:
            if solver == "highspy":
                raise ImportError("solver='highspy' needs the highspy package (pip install highspy)") from None
            return _scipy_solve
        return _highspy_solve
    raise InvalidArgumentError(f"solver: must be 'auto', 'highspy' or 'scipy', got {solver!r}")


def _elastic_matrix(a: _Csc) -> sparse.csc_array:
    """``[A  I  −I]``: the equality rows with residual slacks ``r⁺, r⁻ ≥ 0``."""
    from scipy import sparse

    m = a.shape[0]
    # built directly: sparse.eye_array needs scipy >= 1.12 and we support 1.11
    eye = sparse.csc_array((np.ones(m), np.arange(m), np.arange(m + 1)), shape=(m, m))
    return sparse.hstack([a.scipy(), eye, -eye], format="csc")


def _min_residual(a: _Csc, b: np.ndarray, ub: np.ndarray, row_block: np.ndarray, num_blocks: int, solve: Any) -> np.ndarray:
    """Phase 1: each block's minimum ``‖A h − b‖₁`` over ``0 ≤ h ≤ ub`` (one HiGHS call)."""
    m, n = a.shape
    x = solve(
        _LP(
            np.r_[np.zeros(n), np.ones(2 * m)],
            _Csc.of(_elastic_matrix(a)),
            b,
            b,
            np.zeros(n + 2 * m),
            np.r_[ub, np.full(2 * m, np.inf)],
        )
    )
    if x is None:
        raise RuntimeError("LinPro: HiGHS failed on the elastic LP (always feasible and bounded)")
    return np.bincount(row_block, weights=x[n : n + m] + x[n + m :], minlength=num_blocks)


def _min_mass_at_residual(
    a: _Csc, b: np.ndarray, ub: np.ndarray, row_block: np.ndarray, block_l1: np.ndarray, solve: Any
) -> np.ndarray:
    """Phase 2: ``min Σh`` with each block's L1 residual capped at its phase-1 minimum (times
    ``1 + 1e-9``, plus 1e-12, so that HiGHS's tolerances cannot make the cap infeasible)."""
    from scipy import sparse

    m, n = a.shape
    k = block_l1.size
    cap = sparse.csc_array(
        (np.ones(2 * m), (np.tile(row_block, 2), np.arange(n, n + 2 * m))), shape=(k, n + 2 * m)
    )
    x = solve(
        _LP(
            np.r_[np.ones(n), np.zeros(2 * m)],
            _Csc.of(sparse.vstack([_elastic_matrix(a), cap], format="csc")),
            np.r_[b, np.full(k, -np.inf)],
            np.r_[b, block_l1 * (1 + 1e-9) + 1e-12],
            np.zeros(n + 2 * m),
            np.r_[ub, np.full(2 * m, np.inf)],
        )
    )
    if x is None:
        raise RuntimeError("LinPro: HiGHS failed on the phase-2 elastic LP")
    return x[:n]


def _select_blocks(
    a: _Csc, row_block: np.ndarray, col_block: np.ndarray, keep: np.ndarray
) -> tuple[_Csc, np.ndarray, np.ndarray, np.ndarray]:
    """The sub-LP of the blocks where ``keep`` is true: ``(A_sub, rows, cols, sub_row_block)``
    with ``rows``/``cols`` the selected original indices and blocks renumbered from 0."""
    rows = np.flatnonzero(keep[row_block])
    cols = np.flatnonzero(keep[col_block])
    new_row = np.full(a.shape[0], -1)
    new_row[rows] = np.arange(rows.size)
    counts = np.diff(a.indptr)[cols]
    entries = np.repeat(a.indptr[cols], counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    sub = _Csc(
        np.r_[0, np.cumsum(counts)],
        new_row[a.indices[entries]],
        a.data[entries],
        (int(rows.size), int(cols.size)),
    )
    new_block = np.cumsum(keep) - 1
    return sub, rows, cols, new_block[row_block[rows]]


def _solve_blocks(
    a: _Csc,
    b: np.ndarray,
    ub: np.ndarray,
    row_block: np.ndarray,
    num_blocks: int,
    solve: Any,
    depth: int = 0,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Solves the stacked block-diagonal reduced LP ``min Σh s.t. A h = b, 0 ≤ h ≤ ub``.

    Blocks are independent, so an optimum of a stack of blocks restricted to one block is that
    block's optimum. The stack is solved as one plain LP (one HiGHS call). HiGHS proves an
    infeasible stack infeasible quickly but solves a feasible one in full, so an infeasible
    stack is cut into `_SPLIT` parts that are solved the same way (up to `_SPLIT_DEPTH` levels):
    the feasible parts cost what they would have cost anyway, and only the small part holding
    an infeasible block goes to the elastic phases (`_split_infeasible`).

    Returns ``(h, block_l1, solves)``: the solution, each block's minimum L1 residual (0 for a
    feasible block) and the number of HiGHS calls.
    """
    n = a.shape[1]
    x = solve(_LP(np.ones(n), a, b, b, np.zeros(n), ub))
    if x is not None:
        return x, np.zeros(num_blocks), 1
    if depth >= _SPLIT_DEPTH or num_blocks < 2 * _SPLIT:
        return _split_infeasible(a, b, ub, row_block, num_blocks, solve, solves=1)
    col_block = row_block[a.indices[a.indptr[:-1]]]  # every column has a non-zero
    x = np.zeros(n)
    block_l1 = np.zeros(num_blocks)
    solves = 1
    for part in np.array_split(np.arange(num_blocks), _SPLIT):
        keep = np.zeros(num_blocks, dtype=bool)
        keep[part] = True
        sub, rows, cols, sub_block = _select_blocks(a, row_block, col_block, keep)
        got, l1, k = _solve_blocks(sub, b[rows], ub[cols], sub_block, part.size, solve, depth + 1)
        x[cols] = got
        block_l1[part] = l1
        solves += k
    return x, block_l1, solves


def _split_infeasible(
    a: _Csc, b: np.ndarray, ub: np.ndarray, row_block: np.ndarray, num_blocks: int, solve: Any, solves: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """The stack is infeasible but no row is out of reach: phase 1 (minimum L1 residual of
    every block, one call) finds the infeasible blocks; the feasible ones are solved again as
    one plain LP, and the infeasible ones get phase 2 (minimum ``Σh`` at their minimum
    residual) — at most three more calls, whatever the number of infeasible blocks."""
    n = a.shape[1]
    block_l1 = _min_residual(a, b, ub, row_block, num_blocks, solve)
    infeasible = block_l1 > FEASIBILITY_TOL
    col_block = row_block[a.indices[a.indptr[:-1]]]  # every column has a non-zero
    x = np.zeros(n)
    solves += 1
    if not infeasible.all():
        sub, rows, cols, _ = _select_blocks(a, row_block, col_block, ~infeasible)
        solves += 1
        got = solve(_LP(np.ones(cols.size), sub, b[rows], b[rows], np.zeros(cols.size), ub[cols]))
        if got is None:  # numerically borderline blocks: give every block the elastic phase 2
            infeasible[:] = True
        else:
            x[cols] = got
    keep = infeasible
    sub, rows, cols, sub_block = _select_blocks(a, row_block, col_block, keep)
    solves += 1
    x[cols] = _min_mass_at_residual(sub, b[rows], ub[cols], sub_block, block_l1[keep], solve)
    return x, np.where(infeasible, block_l1, 0.0), solves


# --------------------------------------------------------------------------------------------
# Labels


def _lengths(values: npt.ArrayLike, name: str) -> np.ndarray:
    """Integer lengths as int64, shape ``(V,)``; non-integer values (``7.9``, ``"7"``) raise
    ``ValueError`` naming ``name`` instead of being truncated."""
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"{name}: must be integers, got {values!r}") from e
    if raw.dtype == bool or raw.dtype.kind not in "iuf":
        raise InvalidArgumentError(f"{name}: must be integers, got {values!r} (dtype {raw.dtype})")
    if raw.dtype.kind == "f" and not np.all(np.isfinite(raw) & (raw == np.round(raw))):
        bad = raw[~(np.isfinite(raw) & (raw == np.round(raw)))].reshape(-1)[0]
        raise InvalidArgumentError(f"{name}: must be integers, got {float(bad)!r}")
    return np.ascontiguousarray(raw, dtype=np.int64).reshape(-1)


def _gather(
    fused: Proposals | Sequence[Proposals], num_videos: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(fused, Proposals):
        if fused.video is None:
            raise InvalidArgumentError("fused: a single Proposals for a batch needs a `video` column")
        return fused.video, fused.label, fused.start, fused.end, fused.score
    if isinstance(fused, (Mapping, str, bytes)) or not isinstance(fused, Iterable):
        raise InvalidTypeError(
            f"fused: expected a Proposals or a sequence of Proposals, got {type(fused).__name__}"
        )
    parts = list(fused)
    for k, p in enumerate(parts):
        if not isinstance(p, Proposals):
            raise InvalidTypeError(f"fused[{k}]: expected Proposals, got {type(p).__name__}")
    if len(parts) != num_videos:
        raise InvalidArgumentError(f"fused: got {len(parts)} Proposals for {num_videos} lengths")
    video = np.repeat(np.arange(num_videos, dtype=np.int64), [len(p) for p in parts])
    cat = lambda name: (
        np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0)
    )
    return video, cat("label").astype(np.int64), cat("start"), cat("end"), cat("score")


def _check_inside(video: np.ndarray, label: np.ndarray, start: np.ndarray, end: np.ndarray, lens: np.ndarray,
                  preset: str) -> None:
    """Instances must lie inside their video. The one exception is the official preset's end one
    snippet past the last one (extraction stores ``e + 1``), which its W rows slice off, as the
    released code does; anything further means a wrong ``length`` and is not silently clipped."""
    known = (video >= 0) & (video < lens.size)  # other indices: the core names them
    if not known.any():
        return
    l = lens[np.where(known, video, 0)]
    # 1e-6 snippet of slack: the exact mode's released arithmetic (no clamping) may put a fused
    # end an ulp past e + 1; a wrong length is off by whole snippets.
    limit = l + (1 if preset == "official" else 0) + 1e-6
    bad = known & ((start > l + 1e-6) | (end > limit))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError(
            f"fused: instance {i} (video {int(video[i])}, label {int(label[i])}) spans [{start[i]:g}, {end[i]:g}) "
            f"snippets but its video has {int(l[i])}; instances must lie inside the video (under the official "
            f"preset an end may pass it by one snippet) — is the length right?"
        )


def linpro_labels_batch(
    fused: Proposals | Sequence[Proposals],
    lengths: npt.ArrayLike,
    num_classes: int,
    *,
    preset: Preset = "official",
    alpha: float | None = None,
    solver: Solver = "auto",
    stats: LinproStats | None = None,
    num_threads: int | None = None,
    native: bool = True,
) -> list[np.ndarray]:
    """LinPro pseudo labels of many videos in one call.

    Args:
        fused: fused instances of all videos: one :class:`~tadfuse.Proposals` with a ``video``
            column (indices into ``lengths``), or one ``Proposals`` per video. ``label`` is the
            output column (``< num_classes``); ``start``/``end`` in snippets
            (``0 ≤ start ≤ end``); ``score`` is the right-hand side ``q``.
        lengths: video lengths in snippets, shape ``(V,)``.
        num_classes: columns of each output (background column included, e.g. 21).
        preset: W rows, ``"official"`` or ``"paper"`` (module docstring).
        alpha: outer width factor of ``"paper"`` (default 0.25); must be ``None`` for
            ``"official"``.
        solver: HiGHS, for the components beyond the native limits, through ``"highspy"`` or
            ``"scipy"`` (``scipy.optimize.linprog``); ``"auto"`` takes highspy when installed
            (measured faster, see benches).
        stats: a :class:`LinproStats` to add this call's counts to.
        num_threads: workers for planning and the native solves (None: all cores; a batch of
            fewer than 256 instances is planned on the calling thread); the result is the same
            for any count.
        native: solve the multi-row components of at most :data:`NATIVE_MAX_ROWS` rows and
            :data:`NATIVE_MAX_CLASSES` classes with the native simplex (the default); ``False``
            sends every component without a closed form to HiGHS (for comparisons).

    Returns:
        ``V`` float64 arrays, video ``v``'s of shape ``(lengths[v], num_classes)``, values in
        ``[0, 1]``, 0 for classes without instances. They are views into one buffer.

    The (video, class) problems are partitioned in parallel in Rust; one-row components are
    solved in closed form, small multi-row ones by the native simplex (in the same parallel
    pass), and the rest of the batch by one block-diagonal HiGHS LP (none at all when nothing is
    left, the usual case). That is one HiGHS call when every component is feasible; an
    infeasible stack is split into
    4 parts, re-solved separately, and split again up to 2 levels deep, and each infeasible
    part at the bottom takes up to 3 more calls for the elastic phases (``_solve_blocks``;
    the count is ``stats.lp_solves``).

    Raises ``ValueError`` for non-integer or negative ``lengths`` and ``TypeError`` when
    ``fused`` is neither a ``Proposals`` nor a sequence of them.
    """
    lens = _lengths(lengths, "lengths")
    if lens.size and lens.min() < 0:
        raise InvalidArgumentError("lengths: must be >= 0")
    columns = _gather(fused, lens.size)
    flat = _labels(*columns, lens, num_classes, preset, alpha, solver, stats, num_threads, native)
    return np.split(flat, np.cumsum(lens)[:-1]) if lens.size else []


def _labels(
    video: np.ndarray,
    label: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    score: np.ndarray,
    lens: np.ndarray,
    num_classes: int,
    preset: Preset,
    alpha: float | None,
    solver: Solver,
    stats: LinproStats | None,
    num_threads: int | None,
    native: bool,
) -> np.ndarray:
    """The labels of all videos stacked, shape ``(Σ lens, num_classes)`` (``linpro_labels_batch``
    once its instances are gathered and ``lens`` checked)."""
    num_classes = int(num_classes)
    if num_classes < 0:
        raise InvalidArgumentError(f"num_classes: must be >= 0, got {num_classes}")
    solve = _backend(solver)
    threads = None if num_threads is None else integer("num_threads", num_threads, lo=1, hi=_core.MAX_THREADS)
    _check_inside(video, label, start, end, lens, preset)
    plan = _core.linpro_plan(
        np.ascontiguousarray(video, dtype=np.int64),
        np.ascontiguousarray(label, dtype=np.int64),
        np.ascontiguousarray(start, dtype=np.float64),
        np.ascontiguousarray(end, dtype=np.float64),
        np.ascontiguousarray(score, dtype=np.float64),
        lens,
        num_classes,
        preset,
        _rule(preset, alpha),
        threads,
        (NATIVE_MAX_ROWS, NATIVE_MAX_CLASSES) if native else (0, 0),
    )
    var_value = plan.var_value
    col_var = plan.lp_col_var
    n_blocks = plan.lp_block_problem.size
    solves = 0
    lp_res = np.zeros(0)
    block_l1 = np.zeros(n_blocks)
    if col_var.size:
        m = plan.lp_b.size
        a = _Csc(plan.lp_indptr, plan.lp_indices, plan.lp_data, (m, int(col_var.size)))
        ub = plan.var_size[col_var]
        h, block_l1, solves = _solve_blocks(a, plan.lp_b, ub, plan.lp_row_block, n_blocks, solve)
        h = np.clip(h, 0.0, ub)
        var_value[col_var] = h
        lp_res = plan.lp_b - a.matvec(h)

    flat = _core.linpro_expand(
        lens, num_classes, plan.seg_video, plan.seg_label, plan.seg_start,
        plan.seg_end, plan.seg_var, var_value, plan.var_size,
    )

    if stats is not None:
        closed_res = plan.inst_residual
        infeasible_problem = (plan.problem_closed_infeasible + plan.problem_native_infeasible) > 0
        block_inf = block_l1 > FEASIBILITY_TOL
        infeasible_problem[plan.lp_block_problem[block_inf]] = True
        all_res = np.abs(np.concatenate([closed_res, lp_res]))
        stats.merge(
            LinproStats(
                videos=int(lens.size),
                problems=int(plan.problem_video.size),
                instances=int(label.size),
                components=int(plan.problem_components.sum()),
                closed_form=int(plan.problem_closed_form.sum()),
                native=int(plan.problem_native.sum()),
                lp_components=int(n_blocks),
                native_fallbacks=int(plan.problem_native_fallback.sum()),
                lp_solves=solves,
                infeasible_problems=int(infeasible_problem.sum()),
                infeasible_components=int(
                    plan.problem_closed_infeasible.sum() + plan.problem_native_infeasible.sum() + block_inf.sum()
                ),
                max_residual=float(all_res.max()) if all_res.size else 0.0,
                residual_l1=float(all_res.sum()),
            )
        )
    return flat


def linpro_labels(
    fused: Proposals,
    length: int,
    num_classes: int,
    *,
    preset: Preset = "official",
    alpha: float | None = None,
    solver: Solver = "auto",
    stats: LinproStats | None = None,
    num_threads: int | None = None,
    native: bool = True,
) -> np.ndarray:
    """LinPro pseudo labels of one video, shape ``(length, num_classes)`` float64 in ``[0, 1]``.

    ``fused``: the video's fused instances (``label`` = output column, ``start``/``end`` in
    snippets, ``score`` = right-hand side); a ``video`` column, if present, is ignored.
    ``length``: snippets, a non-negative integer (``ValueError`` naming ``length`` otherwise).
    Other arguments as in :func:`linpro_labels_batch`. Classes without instances get 0.
    ``TypeError`` when ``fused`` is not a ``Proposals``.
    """
    if not isinstance(fused, Proposals):
        raise InvalidTypeError(f"fused: expected a Proposals, got {type(fused).__name__}")
    if np.ndim(length) != 0:
        raise InvalidArgumentError(f"length: must be one integer, got {length!r}")
    n = _lengths(length, "length")
    if n[0] < 0:
        raise InvalidArgumentError(f"length: must be >= 0, got {int(n[0])}")
    video = np.zeros(len(fused), dtype=np.int64)
    return _labels(video, fused.label, fused.start, fused.end, fused.score, n, num_classes, preset, alpha, solver,
                   stats, num_threads, native)
