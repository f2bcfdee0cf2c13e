"""Datasets: the W-TALC bundle, per-video feature folders with ActivityNet-style JSON, and
synthetic generators (docs/algorithms.md, "Datasets").

* `load_wtalc` — the W-TALC ``Thumos14reduced`` bundle (both layouts) → `WtalcDataset`.
* `load_folders` — ``<video>.npy`` files + ActivityNet-style JSON, explicit timebase →
  `FolderDataset` (features memory-mapped).
* `wtalc_to_folders` / `folders_to_wtalc` — convert between the two layouts.
* `make_toy`, `make_thumos14_structured`, `make_anet_structured` (`synthesize` by name) —
  synthetic datasets with planted ground truth (the last two with THUMOS14's and ActivityNet
  1.3's structure; `activitynet_stats` holds the measured ActivityNet tables).

Every dataset is a `VideoDataset`: ``names``, ``subsets``, ``class_names``, ``durations``,
``labels_multihot``, ``feature(i)``, ``split("train"|"test"|name)``, ``ground_truth(subset)``
(a `tadfuse.annotations.GroundTruth`, which `tadfuse.evaluation.evaluate` accepts directly).
`load_ground_truth` reads the ground truth of any source (dataset folders of both layouts,
ActivityNet JSON, a dataset object).

Time in annotations is in seconds; ``segments(i, "snippets")`` converts with the dataset's
timebase.

This package reads and writes annotation files through `tadfuse.annotations` and never imports
`tadfuse.evaluation` (docs/architecture.md, "Annotations, evaluation and data").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tadfuse.annotations import GroundTruth, as_ground_truth
from tadfuse.data._base import (
    DataFormatError,
    DataWarning,
    FeatureStore,
    InMemoryFeatures,
    NpyFolderFeatures,
    VideoDataset,
)
from tadfuse.data.folders import (
    FolderDataset,
    folders_to_wtalc,
    load_folders,
    write_folders,
    wtalc_to_folders,
)
from tadfuse.data.synth import (
    ANET_WITHHELD_FILE,
    SYNTH_KINDS,
    FeatureModel,
    make_anet_structured,
    make_thumos14_structured,
    make_toy,
    synthesize,
)
from tadfuse.data.wtalc import (
    THUMOS14_COMMONLY_EXCLUDED,
    THUMOS14_QUIRKS,
    WtalcDataset,
    load_wtalc,
    thumos14_annotation_dir,
    write_wtalc,
)


def load_dataset(path: str | os.PathLike[str], **kwargs: object) -> VideoDataset:
    """Load a dataset folder of either layout: per-video folders if ``path/annotations.json``
    exists, else a W-TALC bundle. ``kwargs`` go to `load_folders` / `load_wtalc`. A folder that
    holds both layouts is read with a `DataWarning` (one of them is probably stale)."""
    p = Path(path)
    if (p / "annotations.json").is_file():
        return load_folders(p, **kwargs)  # type: ignore[arg-type]
    return load_wtalc(p, **kwargs)  # type: ignore[arg-type]


def load_ground_truth(source: Any) -> GroundTruth:
    """The ground truth of ``source``, without features: a dataset folder of either layout (a
    per-video folder dataset's ``annotations.json``, or a W-TALC bundle or annotation folder,
    read with ``load_wtalc(source, features=False)``), or anything
    `tadfuse.annotations.as_ground_truth` accepts (a `GroundTruth`, a dataset object, an
    ActivityNet ground-truth JSON path or dict)."""
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.is_dir() and not (p / "annotations.json").is_file():
            return load_wtalc(p, features=False).ground_truth()
    return as_ground_truth(source)


__all__ = [
    "ANET_WITHHELD_FILE",
    "SYNTH_KINDS",
    "THUMOS14_COMMONLY_EXCLUDED",
    "THUMOS14_QUIRKS",
    "DataFormatError",
    "DataWarning",
    "FeatureModel",
    "FeatureStore",
    "FolderDataset",
    "InMemoryFeatures",
    "NpyFolderFeatures",
    "VideoDataset",
    "WtalcDataset",
    "folders_to_wtalc",
    "load_dataset",
    "load_folders",
    "load_ground_truth",
    "load_wtalc",
    "make_anet_structured",
    "make_thumos14_structured",
    "make_toy",
    "synthesize",
    "thumos14_annotation_dir",
    "write_folders",
    "write_wtalc",
    "wtalc_to_folders",
]
