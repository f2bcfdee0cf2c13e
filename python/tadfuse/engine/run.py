"""The run folder of a training run, and the state that survives a restart (torch).

::

    RUN/config.toml                 the resolved configuration (Config.to_toml), written once
    RUN/run.json                    what the run was started on (data folder, device, versions)
    RUN/metrics.jsonl               one JSON object per finished epoch, in order
    RUN/checkpoints/epoch_NNNN.pt   after NNNN finished epochs (every train.checkpoint_every)
    RUN/checkpoints/last.pt         the latest of them (a hard link, or a copy)
    RUN/checkpoints/best.pt         the evaluated epoch with the best average mAP

Every file is written atomically (a temporary file in the same folder, flushed, fsynced, then
``os.replace``), so a run killed at any moment leaves complete files only; a killed run's
temporaries (``.*.tmp``) are removed when it resumes. Checkpoints are tadfuse checkpoints
(:func:`tadfuse.models.save_checkpoint`, read with ``torch.load(weights_only=True)``) whose
``extra_state`` holds the training state: the epoch, the optimiser step counter, the gradients
of an unfinished step, the optimiser state, the memory bank, the Δ-label store, the best score
so far and the RNG states of Python, NumPy and torch (:func:`rng_state` / :func:`set_rng_state`).

On resume, ``metrics.jsonl`` is cut back to the checkpoint's epoch (:meth:`RunDir.truncate_metrics`),
so a resumed run neither repeats nor loses lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tadfuse._atomic import atomic_write_text
from tadfuse.config import Config
from tadfuse.errors import DataFormatError, InvalidArgumentError

__all__ = ["RUN_STATE_VERSION", "RunDir", "optimizer_state_in", "optimizer_state_out", "rng_state", "set_rng_state"]

#: Version of the training state in a checkpoint's ``extra_state["train_state"]``.
RUN_STATE_VERSION = 1


def _atomic_link(src: Path, dst: Path) -> None:
    """``dst`` becomes the file ``src`` (a hard link where the file system has them, else a
    copy), atomically."""
    tmp = dst.parent / f".{dst.name}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class RunDir:
    """Paths and files of one run folder (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.config_path = self.root / "config.toml"
        self.info_path = self.root / "run.json"
        self.metrics_path = self.root / "metrics.jsonl"
        self.checkpoints = self.root / "checkpoints"

    # -- creation and reading -------------------------------------------------------------

    def is_run(self) -> bool:
        return self.config_path.is_file()

    def create(self, config: Config, info: Mapping[str, Any]) -> None:
        """Start a new run: refuses a folder that already holds a run (``FileExistsError``
        naming it; resume it instead) or other files."""
        if self.root.exists():
            if not self.root.is_dir():
                raise InvalidArgumentError(f"{self.root}: exists and is not a folder (CLI: --out)")
            if self.is_run() or self.checkpoints.exists():
                raise FileExistsError(f"{self.root}: already holds a run; resume it (tadfuse train --resume "
                                      f"{self.root}) or choose a new --out")
            if any(self.root.iterdir()):
                raise FileExistsError(f"{self.root}: the folder is not empty; choose a new --out")
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.info_path, json.dumps(dict(info), indent=1, sort_keys=True) + "\n")
        atomic_write_text(self.config_path, config.to_toml())

    def load_config(self) -> Config:
        from tadfuse.config import load_config

        if not self.is_run():
            raise DataFormatError(f"{self.root}: not a run folder (no config.toml) (CLI: --resume)")
        return load_config(None, self.config_path)

    def info(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.info_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{self.info_path}: not valid JSON ({exc})") from None

    def remove_temporaries(self) -> None:
        """Delete the ``.*.tmp`` files a killed run left behind."""
        for folder in (self.root, self.checkpoints):
            if folder.is_dir():
                for p in folder.glob(".*.tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()

    # -- checkpoints ----------------------------------------------------------------------

    def epoch_checkpoint(self, epochs_done: int) -> Path:
        return self.checkpoints / f"epoch_{epochs_done:04d}.pt"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.pt"

    def publish(self, path: Path, *names: str) -> None:
        """Make ``checkpoints/<name>`` (``"last.pt"``, ``"best.pt"``) the file ``path``."""
        for name in names:
            _atomic_link(path, self.checkpoints / name)

    # -- metrics --------------------------------------------------------------------------

    def append_metrics(self, record: Mapping[str, Any]) -> None:
        """Append one epoch's record as a JSON line (flushed and fsynced)."""
        line = json.dumps(dict(record), sort_keys=True, allow_nan=False)
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_metrics(self) -> list[dict[str, Any]]:
        """The complete records, in order (a half-written last line is left out)."""
        if not self.metrics_path.is_file():
            return []
        out = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("epoch"), int):
                out.append(rec)
        return out

    def truncate_metrics(self, last_epoch: int) -> list[dict[str, Any]]:
        """Keep the records of epochs ``<= last_epoch`` (0-based), each once, in increasing
        epoch order; rewrite the file atomically. Returns the kept records."""
        kept: list[dict[str, Any]] = []
        for rec in self.read_metrics():
            if rec["epoch"] <= last_epoch and (not kept or rec["epoch"] > kept[-1]["epoch"]):
                kept.append(rec)
        text = "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in kept)
        atomic_write_text(self.metrics_path, text)
        return kept


# -- state that must survive a restart --------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """The states of Python's ``random``, NumPy's global generator and torch (CPU, and every
    CUDA device when CUDA is initialised), as checkpoint-safe values."""
    py = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": {"version": py[0], "state": list(py[1]), "gauss": py[2]},
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": torch.from_numpy(np.asarray(np_state["state"]["key"], dtype=np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore :func:`rng_state`."""
    py = state["python"]
    random.setstate((int(py["version"]), tuple(int(v) for v in py["state"]), py["gauss"]))
    n = state["numpy"]
    np.random.set_state({
        "bit_generator": n["bit_generator"],
        "state": {"key": np.asarray(n["key"].numpy(), dtype=np.uint32), "pos": int(n["pos"])},
        "has_gauss": int(n["has_gauss"]),
        "gauss": float(n["gauss"]),
    })
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        states = list(state["cuda"])
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)


def optimizer_state_out(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """``optimizer.state_dict()`` with its integer state keys as strings (checkpoints hold only
    string-keyed dicts)."""
    sd = optimizer.state_dict()
    return {"state": {str(k): v for k, v in sd["state"].items()}, "param_groups": sd["param_groups"]}


def optimizer_state_in(optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Load :func:`optimizer_state_out`'s form (tuples stored as lists become tuples again)."""
    groups = []
    for g in state["param_groups"]:
        g = dict(g)
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    optimizer.load_state_dict({"state": {int(k): v for k, v in state["state"].items()}, "param_groups": groups})
