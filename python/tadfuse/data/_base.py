"""Shared pieces of the dataset loaders: errors, feature stores and the `VideoDataset` base."""

from __future__ import annotations

import abc
import contextlib
import os
import pickle
import shutil
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from tadfuse.annotations import GroundTruth
from tadfuse.errors import DataFormatError, DataWarning, InvalidArgumentError

__all__ = [
    "DataFormatError",
    "DataWarning",
    "FeatureStore",
    "InMemoryFeatures",
    "NpyFolderFeatures",
    "VideoDataset",
]

PathLike = Union[str, "os.PathLike[str]"]


def warn(message: str) -> None:
    warnings.warn(message, DataWarning, stacklevel=3)


# --------------------------------------------------------------------------------------------
# Split names
# --------------------------------------------------------------------------------------------

_TRAIN_NAMES = ("training", "train", "validation", "Validation")
_TEST_AFTER_TRAINING = ("validation", "Validation")
_TEST_NAMES = ("test", "Test", "testing")


def default_subsets(subsets: Sequence[str]) -> tuple[str, str]:
    """The (train, test) subset names inferred from the subsets present: ``training``/``train``
    → ``validation`` (ActivityNet: ``testing`` has no annotations), else ``validation`` →
    ``test``/``testing`` (THUMOS14). ``""`` where no known name is present."""
    present = set(subsets)
    train = next((s for s in _TRAIN_NAMES if s in present), "")
    pool = _TEST_AFTER_TRAINING if train in ("training", "train") else _TEST_NAMES
    test = next((s for s in pool if s in present and s != train), "")
    return train, test


def resolve_subsets(
    subsets: Sequence[str],
    where: str,
    train_subset: str | None,
    test_subset: str | None,
    recorded: Mapping[str, Any],
) -> tuple[str, str]:
    """The (train, test) subset names of a dataset: explicit arguments first (each must be one
    of ``subsets``), then the names recorded in the dataset (``recorded``, e.g. the JSON's
    ``tadfuse`` block; a recorded name that is not present is warned about and ignored), then
    `default_subsets`."""
    present = set(subsets)
    inferred = default_subsets(subsets)
    out = []
    for role, explicit, default in (("train", train_subset, inferred[0]), ("test", test_subset, inferred[1])):
        key = f"{role}_subset"
        if explicit is not None:
            if explicit not in present:
                raise ValueError(f"{where}: {key}={explicit!r} is not one of its subsets {sorted(present)}")
            out.append(explicit)
            continue
        rec = recorded.get(key) or None  # "" records that there is no such subset
        if rec is not None and str(rec) not in present:
            warn(f"{where}: the recorded {key} {rec!r} is not one of its subsets {sorted(present)}; "
                 f"using {default!r}")
            rec = None
        out.append(str(rec) if rec is not None else default)
    return out[0], out[1]


# --------------------------------------------------------------------------------------------
# The files of a dataset folder (both layouts)
# --------------------------------------------------------------------------------------------

#: Files of a W-TALC annotation folder (tadfuse writes all of them; the last one only sometimes).
WTALC_ANNOTATION_FILES = (
    "videoname.npy", "subset.npy", "classlist.npy", "duration.npy", "segments.npy", "labels.npy",
    "labels_all.npy", "original_fps.npy", "extracted_fps.npy", "Ambiguous_test.txt",
    "tadfuse_timebase.json",
)


def wtalc_annotation_dirs(root: Path) -> list[Path]:
    """W-TALC annotation folders in ``root`` (``root`` itself and ``root/*-Annotations``) that
    hold a ``videoname.npy``."""
    dirs = [root] if (root / "videoname.npy").is_file() else []
    dirs += sorted(p for p in root.glob("*-Annotations") if (p / "videoname.npy").is_file())
    return dirs


def layouts_present(root: Path) -> list[str]:
    """Descriptions of the dataset layouts found in ``root`` (empty if none)."""
    found = []
    if (root / "annotations.json").is_file():
        found.append("a per-video folder dataset (annotations.json)")
    for d in wtalc_annotation_dirs(root):
        found.append("a flat W-TALC bundle (videoname.npy, ...)" if d == root
                     else f"a W-TALC annotation folder {d.name}/")
    return found


def warn_if_mixed(root: Path, using: str) -> None:
    """Warn when ``root`` holds more than one dataset layout (e.g. stale files from an earlier
    write): ``using`` says which one is being read."""
    found = layouts_present(root)
    if len(found) > 1:
        warn(f"{root}: holds several datasets: {'; '.join(found)}. Reading {using}; the others may "
             "be stale (rewrite with overwrite=True (CLI: --overwrite) to remove them, or delete them)")


def prepare_dataset_dir(out: Path, overwrite: bool, keep: Sequence[Path] = (), also: Sequence[str] = ()) -> None:
    """Make ``out`` ready for a new dataset of either layout.

    Without ``overwrite``, `FileExistsError` if ``out`` holds any dataset files (either layout,
    so that a new dataset is never mixed with an old one). With it, the dataset files of both
    layouts are removed: ``annotations.json`` and ``features/`` (per-video folders), the W-TALC
    annotation files in ``out`` and ``out/*-Annotations/`` and ``*-I3D-JOINTFeatures.npy``
    files, except the paths in ``keep``; ``also`` names more entries of ``out`` that count.
    """
    files: list[Path] = []
    if (out / "annotations.json").exists():
        files.append(out / "annotations.json")
        if (out / "features").is_dir() and "features" not in also:
            files.append(out / "features")
    files += [out / n for n in also if (out / n).exists()]
    ann_dirs = wtalc_annotation_dirs(out) if out.is_dir() else []
    for d in ann_dirs:
        files += [d / n for n in WTALC_ANNOTATION_FILES if (d / n).exists()]
    if out.is_dir():
        files += sorted(out.glob("*-I3D-JOINTFeatures.npy"))
    keep_set = {Path(k) for k in keep}
    files = [f for f in files if f not in keep_set]
    if files and not overwrite:
        raise FileExistsError(f"{files[0]}: exists (pass overwrite=True (CLI: --overwrite) to replace the "
                              f"dataset in {out})")
    for f in files:
        if f.is_dir():
            shutil.rmtree(f)
        else:
            f.unlink()
    for d in ann_dirs:
        if d != out:
            with contextlib.suppress(OSError):  # a folder that holds other files stays
                d.rmdir()
    out.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------------------------
# Feature stores
# --------------------------------------------------------------------------------------------


class FeatureStore(Sequence[np.ndarray]):
    """Per-video snippet features, indexed like the dataset's videos.

    ``store[i]`` is an array of shape ``(T_i, D)`` (one row per snippet); ``shapes[i]`` is
    ``(T_i, D)`` without touching the data. Subclasses decide where the data lives.
    """

    source: str
    names: tuple[str, ...]
    shapes: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.shapes)

    @property
    def dim(self) -> int:
        """Feature dimension D (0 for an empty store)."""
        return self.shapes[0][1] if self.shapes else 0

    def __getitem__(self, index: Any) -> Any:  # Sequence protocol; int -> np.ndarray
        if isinstance(index, slice):
            return [self._get(i) for i in range(*index.indices(len(self)))]
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"video index {index} out of range for {len(self)} videos")
        return self._get(i)

    @abc.abstractmethod
    def _get(self, i: int) -> np.ndarray:
        """Features of video ``i`` (``0 <= i < len(self)``), checked."""

    def validate(self) -> None:
        """Check every video's features (finite values); raises `DataFormatError`."""
        for i in range(len(self)):
            self._get(i)


def _check_feature_array(arr: Any, where: str, name: str, dim: int | None) -> tuple[int, int]:
    if not isinstance(arr, np.ndarray):
        raise DataFormatError(f"{where}: features of video {name!r} are a {type(arr).__name__}, not an array")
    if arr.ndim != 2:
        raise DataFormatError(
            f"{where}: features of video {name!r} have shape {arr.shape}; expected (snippets, dim)"
        )
    if arr.dtype.kind not in "fiu":
        raise DataFormatError(f"{where}: features of video {name!r} have dtype {arr.dtype}; expected numbers")
    if arr.shape[0] == 0:
        raise DataFormatError(f"{where}: video {name!r} has no snippets (shape {arr.shape})")
    if dim is not None and arr.shape[1] != dim:
        raise DataFormatError(
            f"{where}: video {name!r} has feature dimension {arr.shape[1]}, other videos have {dim}"
        )
    return int(arr.shape[0]), int(arr.shape[1])


def _check_finite(arr: np.ndarray, where: str, name: str) -> None:
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            t, d = np.argwhere(~finite)[0]
            raise DataFormatError(
                f"{where}: features of video {name!r} contain a non-finite value "
                f"(snippet {t}, dimension {d}: {arr[t, d]})"
            )


class InMemoryFeatures(FeatureStore):
    """Features held in memory, one array per video (the pickled W-TALC bundle: a pickled
    object array cannot be memory-mapped, so it is read once, as a single copy)."""

    def __init__(self, arrays: Sequence[np.ndarray], names: Sequence[str], source: str,
                 check_finite: bool = True) -> None:
        self.source = source
        self.names = tuple(names)
        if len(arrays) != len(self.names):
            raise DataFormatError(
                f"{source}: {len(arrays)} feature arrays for {len(self.names)} videos"
            )
        shapes = []
        dim = None
        for arr, name in zip(arrays, self.names):
            shape = _check_feature_array(arr, source, name, dim)
            dim = shape[1]
            if check_finite:
                _check_finite(arr, source, name)
            shapes.append(shape)
        self._arrays = list(arrays)
        self.shapes = tuple(shapes)

    def _get(self, i: int) -> np.ndarray:
        return self._arrays[i]

    def __repr__(self) -> str:
        return f"InMemoryFeatures({len(self)} videos, dim={self.dim}, source={self.source!r})"


class NpyFolderFeatures(FeatureStore):
    """One ``<video>.npy`` per video, memory-mapped read-only (nothing is read until used).

    Shapes come from the ``.npy`` headers at construction; values are checked for finiteness
    the first time each video is read (`validate` checks all).
    """

    def __init__(self, folder: PathLike, names: Sequence[str], check_finite: bool = True) -> None:
        self.folder = Path(folder)
        self.source = str(self.folder)
        self.names = tuple(names)
        self._check_finite = check_finite
        self._checked = np.zeros(len(self.names), bool)
        shapes = []
        dim = None
        for name in self.names:
            path = self.folder / f"{name}.npy"
            arr = self._open(path, name)
            shape = _check_feature_array(arr, str(path), name, dim)
            dim = shape[1]
            shapes.append(shape)
        self.shapes = tuple(shapes)

    @staticmethod
    def _open(path: Path, name: str) -> np.ndarray:
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise DataFormatError(f"{path}: feature file of video {name!r} not found") from None
        except ValueError as exc:
            raise DataFormatError(f"{path}: not a plain numeric .npy array ({exc})") from None

    def _get(self, i: int) -> np.ndarray:
        name = self.names[i]
        path = self.folder / f"{name}.npy"
        arr = self._open(path, name)
        if arr.shape != self.shapes[i]:
            raise DataFormatError(f"{path}: shape changed since loading ({arr.shape} vs {self.shapes[i]})")
        if self._check_finite and not self._checked[i]:
            _check_finite(arr, str(path), name)
            self._checked[i] = True
        return arr

    def __repr__(self) -> str:
        return f"NpyFolderFeatures({len(self)} videos, dim={self.dim}, folder={self.source!r})"


# --------------------------------------------------------------------------------------------
# Writing object arrays without a second copy
# --------------------------------------------------------------------------------------------


def save_object_array(path: PathLike, items: Sequence[Any]) -> None:
    """``np.save`` of a 1-D object array of ``items``, pickled with protocol 5.

    Protocol 5 writes each contiguous numpy array straight from its buffer, so saving a list of
    feature arrays needs no second copy (``np.save`` uses protocol 4, which copies every array
    into a bytes object and keeps them all until the end). ``np.load(path, allow_pickle=True)``
    reads it on Python >= 3.8.
    """
    arr = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray):
            # a plain contiguous ndarray (not a memmap subclass) takes pickle's buffer path
            item = np.ascontiguousarray(np.asarray(item))
        arr[i] = item
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, np.lib.format.header_data_from_array_1_0(arr))
        pickle.dump(arr, fh, protocol=5)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# The dataset base class
# --------------------------------------------------------------------------------------------


class VideoDataset:
    """Videos with snippet features, video-level labels and ground-truth segments.

    Attributes (V videos, C classes):
      * ``names``, ``subsets`` (tuples of V strings), ``class_names`` (C strings).
      * ``durations`` (V,) float64 seconds (NaN when unknown).
      * ``snippet_seconds``, ``offset_seconds`` (V,) float64: the timebase, ``seconds =
        snippet * snippet_seconds + offset_seconds``.
      * ``labels_multihot`` (V, C) float32: the weak (video-level) labels used for training.
      * ``features``: a `FeatureStore` (``features[i]`` is ``(T_i, D)``) or None when loaded
        without features.
      * ``train_subset``, ``test_subset``: the subset names that ``split("train")`` and
        ``split("test")`` refer to.
    """

    def __init__(
        self,
        *,
        ground_truth: GroundTruth,
        weak_labels: Sequence[Sequence[str]],
        features: FeatureStore | None,
        train_subset: str,
        test_subset: str,
        source: str,
    ) -> None:
        self.gt = ground_truth
        self.names: tuple[str, ...] = ground_truth.videos
        self.subsets: tuple[str, ...] = ground_truth.subsets
        self.class_names: tuple[str, ...] = ground_truth.class_names
        self.durations: np.ndarray = ground_truth.durations
        self.snippet_seconds: np.ndarray = ground_truth.snippet_seconds
        self.offset_seconds: np.ndarray = ground_truth.offset_seconds
        self.train_subset = train_subset
        self.test_subset = test_subset
        self.source = source
        if len(weak_labels) != len(self.names):
            raise DataFormatError(f"{source}: {len(weak_labels)} video-level label lists for {len(self.names)} videos")
        cindex = {c: k for k, c in enumerate(self.class_names)}
        mh = np.zeros((len(self.names), len(self.class_names)), np.float32)
        for i, labs in enumerate(weak_labels):
            unknown = [x for x in labs if x not in cindex]
            if unknown:
                raise DataFormatError(f"{source}: video {self.names[i]!r}: unknown video-level classes {unknown}")
            mh[i, [cindex[x] for x in labs]] = 1.0
        mh.setflags(write=False)
        self._weak_names = tuple(tuple(str(x) for x in labs) for labs in weak_labels)
        self.labels_multihot = mh
        if features is not None and features.names != self.names:
            raise DataFormatError(f"{features.source}: feature videos do not match the annotation videos")
        self.features = features
        #: Things the loader noticed and handled (shown by `summary`).
        self.notes: list[str] = []

    # ---- sizes and lookup -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.names)

    def index(self, video: str) -> int:
        """Position of a video name; ``KeyError`` naming it if absent."""
        return self.gt.index(video)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_features(self) -> bool:
        return self.features is not None

    def _store(self) -> FeatureStore:
        if self.features is None:
            raise RuntimeError(f"{self.source}: loaded without features (features=False)")
        return self.features

    @property
    def feature_dim(self) -> int:
        """Feature dimension D."""
        return self._store().dim

    def feature(self, video: int | str) -> np.ndarray:
        """Features of one video, shape (T, D), as stored (float32 for W-TALC); read-only when
        memory-mapped."""
        i = self.index(video) if isinstance(video, str) else int(video)
        return self._store()[i]

    def num_snippets(self, video: int | str) -> int:
        """T for one video (from the stored shape; reads no data)."""
        i = self.index(video) if isinstance(video, str) else int(video)
        return self._store().shapes[i][0]

    # ---- splits -----------------------------------------------------------------------------

    def split(self, subset: str) -> np.ndarray:
        """Indices (int64, ascending) of the videos in ``subset``. ``"train"`` and ``"test"``
        are aliases for ``train_subset`` and ``test_subset``."""
        name = self._subset_name(subset)
        return np.flatnonzero(np.asarray(self.subsets) == name)

    def _subset_name(self, subset: str) -> str:
        name = {"train": self.train_subset, "test": self.test_subset}.get(subset, subset)
        if subset in ("train", "test") and not name:
            raise InvalidArgumentError(
                f"{self.source}: no {subset} subset: none of its subsets {self.gt.subset_counts()} has a "
                f"known {subset} name; load it with {subset}_subset=NAME (CLI: give the subset's own name)"
            )
        if name not in self.subsets:
            alias = f" ({subset} = {name!r})" if name != subset else ""
            raise InvalidArgumentError(f"{self.source}: no videos in subset {subset!r}{alias} (has {self.gt.subset_counts()})")
        return name

    @property
    def train_indices(self) -> np.ndarray:
        return self.split("train")

    @property
    def test_indices(self) -> np.ndarray:
        return self.split("test")

    # ---- annotations ------------------------------------------------------------------------

    def ground_truth(self, subset: str | None = None) -> GroundTruth:
        """Ground-truth segments in seconds (all videos, or one subset; aliases as `split`)."""
        if subset is None:
            return self.gt
        return self.gt.select(subset=self._subset_name(subset))

    def segments(self, video: int | str, unit: str = "seconds") -> tuple[np.ndarray, np.ndarray]:
        """``(labels (n,) int64, segments (n, 2) float64)`` of one video.

        ``unit="seconds"`` as annotated; ``unit="snippets"``: ``(seconds - offset) /
        snippet_seconds`` (continuous, no rounding; ``end`` is exclusive like `Proposals`).
        """
        i = self.index(video) if isinstance(video, str) else int(video)
        labels, segs = self.gt.segments(i)
        if unit == "seconds":
            return labels, segs
        if unit == "snippets":
            if not np.isfinite(self.snippet_seconds[i]):
                raise ValueError(
                    f"{self.source}: no timebase for video {self.names[i]!r}, so seconds cannot become "
                    "snippets; load it with fps= and stride= (CLI: --fps, --stride) or rescaled=True "
                    "(CLI: --rescaled)"
                )
            return labels, (segs - self.offset_seconds[i]) / self.snippet_seconds[i]
        raise ValueError(f"unit must be 'seconds' or 'snippets', got {unit!r}")

    def video_labels(self, video: int | str) -> list[str]:
        """The weak (video-level) labels of one video, by name, as listed in the annotation file
        (order and repeats kept; ``labels_multihot`` is the set)."""
        i = self.index(video) if isinstance(video, str) else int(video)
        return list(self._weak_names[i])

    def iter_videos(self, subset: str | None = None) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(name, features (T, D), multi-hot (C,))`` for a subset (or all videos)."""
        idx = range(len(self)) if subset is None else self.split(subset)
        store = self._store()
        for i in idx:
            yield self.names[i], store[int(i)], self.labels_multihot[int(i)]

    def validate(self) -> None:
        """Read every video's features once and check them (finite values, shapes)."""
        if self.features is not None:
            self.features.validate()

    def summary(self) -> str:
        """Counts in words: videos per subset, classes, segments per subset, features."""
        subs = self.gt.subset_counts()
        seg_per = {s: int(np.sum(np.asarray(self.subsets)[self.gt.video] == s)) for s in subs}
        lines = [
            f"{type(self).__name__} from {self.source}",
            f"  videos: {len(self)} (" + ", ".join(f"{k}: {v}" for k, v in subs.items()) + ")"
            + f"; train = {self.train_subset!r}, test = {self.test_subset!r}",
            f"  classes: {self.num_classes}",
            "  segments: " + ", ".join(f"{k}: {v}" for k, v in seg_per.items()),
            f"  ambiguous intervals: {self.gt.ambiguous_video.size}",
            "  segments past their video's duration: " + self._past_duration_summary(),
        ]
        if self.features is not None:
            total = sum(s[0] for s in self.features.shapes)
            lines.append(f"  features: dim {self.features.dim}, {total} snippets, {self.features!r}")
        else:
            lines.append("  features: not loaded")
        ss = np.unique(self.snippet_seconds[np.isfinite(self.snippet_seconds)])
        lines.append("  snippet seconds: " + (", ".join(f"{s:g}" for s in ss[:4]) or "unknown")
                     + (" ..." if ss.size > 4 else ""))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _past_duration_summary(self) -> str:
        """``"30 in 5 videos (name: count, ...)"``, ``"none"``, or why it cannot be said."""
        if not np.isfinite(self.durations).any():
            return "unknown (no durations)"
        past = self.gt.segments_past_duration()
        if not past:
            return "none"
        listed = ", ".join(f"{v}: {n}" for v, n in list(past.items())[:8])
        return (f"{sum(past.values())} in {len(past)} videos ({listed}{', ...' if len(past) > 8 else ''}); "
                "kept as annotated")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(videos={len(self)}, classes={self.num_classes}, "
                f"features={'yes' if self.has_features else 'no'}, source={self.source!r})")
