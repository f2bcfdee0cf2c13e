"""Type stubs of the Rust extension. Use the wrappers in `tadfuse.postprocess` and
`tadfuse.linpro`: they convert inputs to contiguous float64/int64 arrays, which these functions
require. Choice strings (``preset``, ``overlap``, ``weight``, ``template``, soft-NMS ``method``)
are parsed here; an unknown one raises ``tadfuse.errors.InvalidArgumentError`` naming it, as do
the core's own checks."""

import numpy as np
import numpy.typing as npt

from tadfuse.config import PostprocessConfig

__version__: str
#: Upper bound of every ``num_threads``.
MAX_THREADS: int
#: LinPro: the least L1 residual above which a component is infeasible (score units).
LINPRO_FEASIBILITY_TOL: float
#: LinPro: the default native limits (rows, classes) of a component.
LINPRO_NATIVE_MAX_ROWS: int
LINPRO_NATIVE_MAX_CLASSES: int

_F = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
_I = npt.NDArray[np.int64]
# (label, start, end, score, inner)
_Columns = tuple[_I, _F, _F, _F, _F]
# (label, start, end, score, inner, video or None): the input of the grouped kernels, and their output
_VideoColumns = tuple[_I, _F, _F, _F, _F, _I | None]

def extract_proposals(
    cas: _F, thresholds: _F, classes: _I | None, min_length: int, preset: str, alpha: float
) -> _Columns:
    """Proposals of an (l, K) CAS; ``preset`` "official", "paper" (``alpha`` its outer width
    fraction) or "rskp" (official with the outer pad ``0.25·n``)."""
def fuse(
    columns: _VideoColumns,
    temperature: float,
    threshold: float,
    overlap: str,
    weight: str,
    template: str,
    dof: float,
    num_threads: int | None,
) -> _VideoColumns: ...
def nms(columns: _VideoColumns, threshold: float, overlap: str, num_threads: int | None) -> _VideoColumns: ...
def soft_nms(
    columns: _VideoColumns,
    sigma: float,
    min_score: float,
    method: str,
    threshold: float,
    max_out: int | None,
    num_threads: int | None,
) -> _VideoColumns: ...
def detect_batch(
    cas_list: list[_F | _F32], score_list: list[_F], config: PostprocessConfig, num_threads: int | None
) -> tuple[list[_Columns], list[int]]:
    """Detections per video under ``config`` (read by attribute), and per video the fused groups
    that exact mode computed with the shifted form. Exact fusion calls ``numpy.exp`` (with the
    GIL) between its two passes."""

# Detections JSON text (rust/python/json.rs).

def detections_json_batch(
    label_json: list[str],
    offsets: _I,
    label: _I,
    score: _F,
    seg_start: _F,
    seg_end: _F,
    start: _F,
    end: _F,
    num_threads: int | None,
) -> list[str]:
    """The ActivityNet result list of each video as JSON text: video ``v`` has rows
    ``offsets[v]:offsets[v + 1]`` (V + 1 non-decreasing offsets from 0 to n), each row
    ``{"label": label_json[label], "score", "segment": [seg_start, seg_end], "snippets": [start,
    end]}`` with floats printed as the shortest decimal that round-trips. Formatted in parallel
    (GIL released); identical for any ``num_threads``. Non-finite floats, labels outside
    ``label_json`` or bad offsets raise InvalidArgumentError naming the argument."""

# LinPro partition (rust/python/partition.rs). Index arrays are int64 with -1 for "none";
# times in snippets; every array returned is fresh.

def linpro_w_rows(start: _F, end: _F, length: int, preset: str, alpha: float) -> _I:
    """W rows of n instances as an (n, 6) array [left_lo, left_hi, inner_lo, inner_hi, right_lo, right_hi]
    of half-open snippet ranges clipped to [0, length] (lo >= hi: empty). Raises InvalidArgumentError
    naming the argument (start < 0 or non-finite, end < start, length < 0, preset, alpha); preset
    "official" or "paper" ("rskp" is an extraction preset and is refused)."""

class Partition:
    """Equivalence-class partition of one class's instances: segments (S,), classes (C,), the
    CSR of the column patterns (P,), components of classes and rows."""

    seg_start: _I
    seg_end: _I
    seg_class: _I
    class_size: _I
    class_ptr: _I  # (C + 1,)
    entry_row: _I
    entry_sign: npt.NDArray[np.int8]
    class_component: _I  # -1: the all-zero class
    row_component: _I  # (n,)
    num_components: int

def linpro_partition(start: _F, end: _F, length: int, preset: str, alpha: float) -> Partition: ...

class LinproPlan:
    """Plan of a LinPro batch: problems (P,), variables (V_,), segments (S,), instances (n,) and
    the stacked reduced LP (N columns, M rows, B blocks). ``var_value`` is written in place by
    the caller once the LP is solved."""

    problem_video: _I
    problem_label: _I
    problem_components: _I
    problem_closed_form: _I
    problem_closed_infeasible: _I
    problem_native: _I  # components solved by the native simplex
    problem_native_infeasible: _I
    problem_native_fallback: _I  # given back to the stacked LP (certificate failed)
    var_size: _F
    var_value: _F
    var_lp: _I
    seg_video: _I
    seg_label: _I
    seg_start: _I
    seg_end: _I
    seg_var: _I
    inst_lp_row: _I
    inst_residual: _F
    lp_col_var: _I
    lp_indptr: _I  # (N + 1,)
    lp_indices: _I
    lp_data: _F
    lp_b: _F
    lp_row_block: _I
    lp_row_instance: _I
    lp_block_problem: _I

def linpro_plan(
    video: _I,
    label: _I,
    start: _F,
    end: _F,
    score: _F,
    lengths: _I,
    num_classes: int,
    preset: str,
    alpha: float,
    num_threads: int | None,
    native_limits: tuple[int, int],
) -> LinproPlan:
    """Plan of a batch (instances of all videos, lengths (V,)), problems planned in parallel on
    ``num_threads`` workers (None: all cores; a batch of fewer than 256 instances on the calling
    thread). Multi-row components without a closed form of at most ``native_limits = (rows,
    classes)`` are solved by the native simplex (their values in ``var_value``, residuals in
    ``inst_residual``); ``(0, 0)`` stacks them all. Limits above (512, 2048) raise
    InvalidArgumentError naming ``native_limits``."""

def linpro_expand(
    lengths: _I,
    num_classes: int,
    seg_video: _I,
    seg_label: _I,
    seg_start: _I,
    seg_end: _I,
    seg_var: _I,
    var_value: _F,
    var_size: _F,
) -> _F:
    """Labels of all videos stacked, shape (sum(lengths), num_classes): clamp(var_value /
    var_size, 0, 1) on each segment, 0 elsewhere."""
