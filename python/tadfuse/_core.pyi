"""Type stubs of the Rust extension. Use the wrappers in `tadfuse.postprocess`: they convert
inputs to contiguous float64/int64 arrays, which these functions require."""

from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

_F = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
_I = npt.NDArray[np.int64]
# (label, start, end, score, inner)
_Columns = tuple[_I, _F, _F, _F, _F]
# (label, start, end, score, inner, video or None): the input of the grouped kernels, and their output
_VideoColumns = tuple[_I, _F, _F, _F, _F, _I | None]

def extract_proposals(
    cas: _F, thresholds: _F, classes: _I | None, min_length: int, preset: str, alpha: float
) -> _Columns: ...
def fuse(
    columns: _VideoColumns,
    temperature: float, threshold: float, overlap: str, weight: str, template: str, dof: float,
) -> _VideoColumns: ...
def nms(columns: _VideoColumns, threshold: float, overlap: str) -> _VideoColumns: ...
def soft_nms(
    columns: _VideoColumns, sigma: float, min_score: float, method: str, threshold: float, max_out: int | None
) -> _VideoColumns: ...
def detect_batch(
    cas_list: list[_F | _F32],
    score_list: list[_F],
    *,
    thresholds: _F,
    class_threshold: float,
    min_length: int,
    preset: str,
    alpha: float,
    method: str,
    temperature: float,
    threshold: float,
    overlap: str,
    weight: str,
    template: str,
    dof: float,
    sigma: float,
    min_score: float,
    soft_method: str,
    max_out: int | None,
    exact: bool,
    num_threads: int | None,
) -> tuple[list[_Columns], list[int]]:
    """Detections per video and, per video, the fused groups that exact mode computed with the
    shifted form. Exact fusion calls ``numpy.exp`` (with the GIL) between its two passes."""

# LinPro partition (rust/python/partition.rs). Index arrays are int64 with -1 for "none";
# times in snippets; every array returned is fresh.

def linpro_w_rows(
    start: npt.NDArray[np.float64],
    end: npt.NDArray[np.float64],
    length: int,
    preset: str = "official",
    alpha: float = 0.25,
) -> npt.NDArray[np.int64]:
    """W rows of n instances as an (n, 6) array [left_lo, left_hi, inner_lo, inner_hi, right_lo, right_hi]
    of half-open snippet ranges clipped to [0, length] (lo >= hi: empty). Raises ValueError naming
    the argument (start < 0 or non-finite, end < start, length < 0, preset, alpha)."""

def linpro_partition(
    start: npt.NDArray[np.float64],
    end: npt.NDArray[np.float64],
    length: int,
    preset: str = "official",
    alpha: float = 0.25,
) -> dict[str, Any]:
    """Equivalence-class partition of one class's instances. Keys (arrays int64 unless noted):
    seg_start, seg_end, seg_class (S,); class_size (C,); class_ptr (C+1,); entry_row (P,);
    entry_sign (P,) int8; class_component (C,) (-1: all-zero class); row_component (n,);
    num_components (int)."""

def linpro_plan(
    video: npt.NDArray[np.int64],
    label: npt.NDArray[np.int64],
    start: npt.NDArray[np.float64],
    end: npt.NDArray[np.float64],
    score: npt.NDArray[np.float64],
    lengths: npt.NDArray[np.int64],
    num_classes: int,
    preset: str = "official",
    alpha: float = 0.25,
) -> dict[str, npt.NDArray[Any]]:
    """Plan of a batch (instances of all videos, lengths (V,)). Keys: problem_video, problem_label,
    problem_components, problem_closed_form, problem_closed_infeasible (P,); var_size,
    var_value (V_,) float64, var_lp (V_,); seg_video, seg_label, seg_start, seg_end, seg_var (S,);
    inst_lp_row (n,), inst_residual (n,) float64; lp_col_var (N,), lp_indptr (N+1,),
    lp_indices (nnz,), lp_data (nnz,) float64, lp_b (M,) float64, lp_row_block (M,),
    lp_row_instance (M,), lp_block_problem (B,)."""

def linpro_expand(
    lengths: npt.NDArray[np.int64],
    num_classes: int,
    seg_video: npt.NDArray[np.int64],
    seg_label: npt.NDArray[np.int64],
    seg_start: npt.NDArray[np.int64],
    seg_end: npt.NDArray[np.int64],
    seg_var: npt.NDArray[np.int64],
    var_value: npt.NDArray[np.float64],
    var_size: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Labels of all videos stacked, shape (sum(lengths), num_classes): clamp(var_value /
    var_size, 0, 1) on each segment, 0 elsewhere."""
