"""Type stubs of the Rust extension. Use the wrappers in `tadfuse.postprocess`: they convert
inputs to contiguous float64/int64 arrays, which these functions require."""

import numpy as np
import numpy.typing as npt

__version__: str

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
# (label, start, end, score, inner)
_Columns = tuple[_I, _F, _F, _F, _F]
# (label, start, end, score, inner, video or None)
_VideoColumns = tuple[_I, _F, _F, _F, _F, _I | None]

def extract_proposals(
    cas: _F, thresholds: _F, classes: _I | None, min_length: int, preset: str, alpha: float
) -> _Columns: ...
def fuse(
    label: _I, start: _F, end: _F, score: _F, inner: _F, video: _I | None,
    temperature: float, threshold: float, overlap: str, weight: str, template: str, dof: float,
) -> _VideoColumns: ...
def nms(
    label: _I, start: _F, end: _F, score: _F, inner: _F, video: _I | None, threshold: float, overlap: str
) -> _VideoColumns: ...
def soft_nms(
    label: _I, start: _F, end: _F, score: _F, inner: _F, video: _I | None,
    sigma: float, min_score: float, method: str, threshold: float, max_out: int | None,
) -> _VideoColumns: ...
def detect_batch(
    cas_list: list[_F],
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
    num_threads: int | None,
) -> list[_Columns]: ...
