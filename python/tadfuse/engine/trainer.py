"""The training loop (torch): :func:`train` and :func:`resume`.

One epoch ``e`` (docs/engine.md, "Training: losses, schedules and the refresh" and "Batching
semantics"; the plan of each epoch is :func:`tadfuse.engine.schedule.epoch_plan`):

1. **Refresh** (a refresh epoch of a run with ``train.refresh``): empty the memory bank
   (``train.empty_memory_at_refresh``), run the model over every training video
   (:func:`tadfuse.engine.inference.model_outputs` with ``purpose="labels"``: the label TCAM
   ``model.label_tcam_o_weight``, dropout active iff ``model.pseudo_label_dropout``), post-process
   each at the refresh's fusion temperature and turn the instances into LinPro labels
   (:func:`tadfuse.engine.refresh.refresh_labels`), and add them as a generation to the Δ-label
   store (:class:`tadfuse.DeltaLabelStore`).
2. Set the epoch's learning rate; visit the training videos in the order
   :func:`tadfuse.engine.batching.epoch_order` draws. The videos of one optimiser step
   (``train.videos_per_step``; the step counter runs across epochs when
   ``train.steps_span_epochs``) are sorted by length and run in padded forward passes
   (:func:`~tadfuse.engine.batching.length_chunks`); each pass reads and writes the memory bank
   video by video in that order (after the warm-up), computes the summed losses
   (:func:`tadfuse.engine.losses.training_losses`) and back-propagates them, so the step's
   gradient is that of the summed losses of its videos.
3. After the pass: fill the memory bank after the warm-up epoch (every training video in
   dataset order, eval mode); evaluate on the test split with each of ``train.eval_methods``
   (:func:`tadfuse.engine.inference.evaluate_inference`); append the epoch's line to
   ``metrics.jsonl``; checkpoint (:mod:`tadfuse.engine.run`).

Seeds: ``train.seed`` seeds Python's ``random``, NumPy's global generator and torch; the shuffles
and snippet samples are pure functions of the seed and the epoch; the dropout masks come from
torch's generator, whose state every checkpoint saves. So a run resumed from any checkpoint ends
with the same weights as an uninterrupted one (bit for bit on CPU with deterministic algorithms).

Under ``torchrun`` :func:`train` runs one rank of a data-parallel run (:mod:`tadfuse.engine.distributed`,
docs/scale-out.md, "Data-parallel training").
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from tadfuse.config import Config, get_preset
from tadfuse.data import VideoDataset
from tadfuse.delta import DeltaLabelStore
from tadfuse.engine import distributed
from tadfuse.engine.batching import epoch_order, length_chunks, sample_indices, sorted_by_length
from tadfuse.engine.inference import evaluate_inference, evaluation_record, model_outputs, resolve_device, split_inference
from tadfuse.engine.loading import DATA_DIMENSIONS, check_model_fits, fit_dimensions, load_data
from tadfuse.engine.losses import training_losses
from tadfuse.engine.refresh import RefreshTimings, refresh_labels
from tadfuse.engine.run import (
    RUN_STATE_VERSION,
    RunDir,
    optimizer_state_in,
    optimizer_state_out,
    rng_state,
    set_rng_state,
)
from tadfuse.engine.schedule import EpochPlan, epoch_plan
from tadfuse.errors import ConfigError, DataFormatError, InvalidArgumentError, InvalidTypeError
from tadfuse.linpro import LinproStats
from tadfuse.models.checkpoint import load_checkpoint, save_checkpoint
from tadfuse.models.interface import pad_features
from tadfuse.models.memory import MemoryBank
from tadfuse.models.rskp import RSKP

__all__ = ["TrainResult", "resume", "train"]

#: The loss terms logged per epoch (means over the epoch's videos, unweighted, as released).
LOSS_TERMS: tuple[str, ...] = ("foreground", "background", "attention", "self_label", "distillation", "total")


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained ``model`` (eval mode, on the training device),
    the ``config`` it was trained under, one metrics record per epoch run in this call or
    before it (``history``, as in ``metrics.jsonl``), the best evaluated epoch and its average
    mAP (fraction; ``-inf`` before any evaluation), whether patience stopped the run early,
    and the run folder (None without ``out``)."""

    model: RSKP
    config: Config
    history: list[dict[str, Any]]
    best_epoch: int | None
    best_score: float
    stopped_early: bool
    run_dir: Path | None
    refresh_timings: RefreshTimings = field(default_factory=RefreshTimings)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (every device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _Trainer:
    """The state of one run and the loop over its epochs (see the module docstring)."""

    def __init__(self, config: Config, data: VideoDataset, device: torch.device, run: RunDir | None,
                 progress: bool | None, log: Callable[[dict[str, Any]], None] | None) -> None:
        self.config = config
        self.data = data
        self.device = device
        self.run = run
        self.progress = progress
        self.log = log
        self.train_idx = [int(i) for i in data.split("train")]
        try:
            self.test_idx = [int(i) for i in data.split("test")]
        except InvalidArgumentError:  # no test split: train without evaluations (and no best.pt)
            self.test_idx = []
        self.names = [data.names[i] for i in self.train_idx]
        self.lengths = [data.num_snippets(i) for i in self.train_idx]
        self.labels = np.asarray(data.labels_multihot[self.train_idx], np.float32)
        if config.train.use_memory and not self.labels.any(axis=1).all():
            bad = self.names[int(np.flatnonzero(~self.labels.any(axis=1))[0])]
            raise DataFormatError(f"{data.source}: training video {bad!r} has no video-level label (the memory bank "
                                  f"needs one; set train.use_memory=false to train without it)")
        self.model = RSKP(config.model).to(device)
        self.model.train()
        o = config.optim
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=o.lr_values[0], betas=tuple(o.betas),
                                          weight_decay=o.weight_decay)
        self.bank = MemoryBank.from_config(config.model).to(device)
        self.store = DeltaLabelStore(config.delta)
        self.next_epoch = 0
        self.step = 0
        self.pending = 0  # videos whose gradients are accumulated but not yet stepped
        self.best_epoch: int | None = None
        self.best_score = -math.inf
        self.evals_since_best = 0
        self.stopped = False
        self.history: list[dict[str, Any]] = []
        self.refresh_timings = RefreshTimings()
        self.batch, self.inference_batch = config.train.forward_batches(device.type)

    # -- state --------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        grads = [None if p.grad is None else p.grad for p in self.model.parameters()] if self.pending else []
        return {
            "version": RUN_STATE_VERSION,
            "next_epoch": self.next_epoch,
            "step": self.step,
            "pending_videos": self.pending,
            "pending_grads": grads,
            "optimizer": optimizer_state_out(self.optimizer),
            "memory_bank": self.bank.state_dict(),
            "delta_store": self.store.state_dict(),
            "best_epoch": self.best_epoch,
            "best_score": self.best_score if math.isfinite(self.best_score) else None,
            "evals_since_best": self.evals_since_best,
            "stopped": self.stopped,
            "rng": rng_state(),
        }

    def load_state(self, state: Mapping[str, Any], source: str) -> None:
        if state.get("version") != RUN_STATE_VERSION:
            raise DataFormatError(f"{source}: training state version {state.get('version')!r}, this tadfuse resumes "
                                  f"version {RUN_STATE_VERSION}")
        self.next_epoch = int(state["next_epoch"])
        self.step = int(state["step"])
        self.pending = int(state["pending_videos"])
        optimizer_state_in(self.optimizer, state["optimizer"])
        self.bank.load_state_dict(state["memory_bank"])
        self.store.load_state_dict(state["delta_store"])
        self.best_epoch = state["best_epoch"]
        self.best_score = -math.inf if state["best_score"] is None else float(state["best_score"])
        self.evals_since_best = int(state["evals_since_best"])
        self.stopped = bool(state["stopped"])
        params = list(self.model.parameters())
        grads = state["pending_grads"]
        if self.pending and len(grads) != len(params):
            raise DataFormatError(f"{source}: {len(grads)} pending gradients for {len(params)} parameters")
        for p, g in zip(params, grads if self.pending else []):
            p.grad = None if g is None else g.to(p.device)
        set_rng_state(state["rng"])

    def save(self, epoch: int, improved: bool, write_epoch_file: bool) -> None:
        if self.run is None:
            return
        ckpt_state = {"train_state": self.state(), "epoch": epoch, "epochs_done": epoch + 1}
        cfg = self.config.to_dict()
        names = list(self.data.class_names)
        if write_epoch_file:
            path = self.run.epoch_checkpoint(epoch + 1)
            save_checkpoint(path, self.model, cfg, names, ckpt_state)
            self.run.publish(path, "last.pt", *(("best.pt",) if improved else ()))
        elif improved:
            save_checkpoint(self.run.best, self.model, cfg, names, ckpt_state)

    # -- one epoch ----------------------------------------------------------------------------

    def _features(self, positions: Sequence[int], epoch: int) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Features of training positions, resampled when ``train.sample_snippets`` is set (the
        snippets kept, per video, else None)."""
        n = self.config.train.sample_snippets
        feats, kept = [], []
        for p in positions:
            f = self.data.feature(self.train_idx[p])
            if n is None:
                feats.append(f)
                kept.append(None)
            else:
                idx = sample_indices(f.shape[0], n, self.config.train.seed, epoch, p)
                feats.append(np.asarray(f)[idx])
                kept.append(idx)
        return feats, kept

    def _refresh(self, plan: EpochPlan) -> dict[str, Any]:
        cfg = self.config
        t0 = time.perf_counter()
        feats = [self.data.feature(i) for i in self.train_idx]
        pairs = model_outputs(self.model, feats, cfg.model, purpose="labels", batch_videos=self.inference_batch,
                              padding_budget=cfg.train.padding_budget, device=self.device, progress=self.progress,
                              desc=f"refresh {plan.epoch}")
        timings = RefreshTimings(inference_s=time.perf_counter() - t0)
        stats = LinproStats()
        assert plan.refresh_temperature is not None
        labels = refresh_labels([p[0] for p in pairs], [p[1] for p in pairs], plan.refresh_temperature,
                                cfg.postprocess, cfg.linpro, timings=timings, stats=stats)
        self.store.add_generation(plan.epoch, dict(zip(self.names, labels)))
        self.refresh_timings.add(timings)
        return {"temperature": plan.refresh_temperature, **timings.to_dict(),
                "linpro": {k: v for k, v in dataclasses.asdict(stats).items()}}

    @torch.no_grad()
    def _fill_memory(self) -> None:
        """The released warm-up fill: every training video in dataset order, eval mode."""
        cfg = self.config
        was = self.model.training
        self.model.eval()
        order = sorted_by_length(range(len(self.train_idx)), self.lengths)
        chunks = length_chunks([self.lengths[i] for i in order], self.inference_batch, cfg.train.padding_budget)
        centres: list[Any] = [None] * len(self.train_idx)
        try:
            for chunk in chunks:
                pos = [order[j] for j in chunk]
                x, mask = pad_features([self.data.feature(self.train_idx[p]) for p in pos], device=self.device)
                out = self.model(x, mask)
                for b, p in enumerate(pos):
                    centres[p] = (out.centres[b], out.centre_scores[b])
        finally:
            self.model.train(was)
        self.bank.initialise((mu, sc, self.labels[p]) for p, (mu, sc) in enumerate(centres))

    def _forward_backward(self, positions: list[int], plan: EpochPlan, sums: dict[str, float]) -> None:
        cfg = self.config
        feats, kept = self._features(positions, plan.epoch)
        x, mask = pad_features(feats, device=self.device)
        labels = torch.as_tensor(self.labels[positions], device=self.device)
        out = self.model(x, mask)
        memory = self.model.memory_step(out, self.bank, labels) if plan.memory_active else None
        targets = None
        if plan.weights.distillation > 0:
            targets = []
            for p, idx in zip(positions, kept):
                g = self.store.target(self.names[p], plan.epoch)
                targets.append(None if g is None else (g if idx is None else g[idx]))
        terms = training_losses(out.main, out.walk, labels, plan.weights, memory=memory, mask=mask,
                                distillation_targets=targets, distillation_o_coef=cfg.delta.o_coef, train=cfg.train)
        terms["total"].backward()
        for k in LOSS_TERMS:
            sums[k] += float(terms[k].detach())

    def _optimizer_step(self) -> None:
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.pending = 0

    def _epoch_steps(self, plan: EpochPlan) -> tuple[list[int], list[list[int]]]:
        """Sets the epoch's learning rate; returns its visiting order and the videos of each
        optimiser step in that order (the first step finishes the one a previous epoch left open)."""
        cfg = self.config.train
        for g in self.optimizer.param_groups:
            g["lr"] = plan.learning_rate
        order = epoch_order(len(self.train_idx), cfg.seed, plan.epoch).tolist()
        steps: list[list[int]] = []
        i = 0
        while i < len(order):
            room = cfg.videos_per_step - (self.pending if not steps else 0)
            steps.append(order[i:i + room])
            i += room
        return order, steps

    def _train_epoch(self, plan: EpochPlan) -> dict[str, float]:
        cfg = self.config.train
        order, steps = self._epoch_steps(plan)
        sums = dict.fromkeys(LOSS_TERMS, 0.0)
        bar = tqdm(total=len(order), desc=f"epoch {plan.epoch}", unit="video", leave=False,
                   disable=not self.progress if self.progress is not None else None)
        try:
            for videos in steps:
                if self.batch > 1 and cfg.sample_snippets is None:
                    # padded passes take the step's videos by length (less padding)
                    ranked = sorted_by_length(videos, self.lengths)
                    lens = [self.lengths[p] for p in ranked]
                else:  # one video per pass, or equal (resampled) lengths: the visiting order, as released
                    ranked, lens = list(videos), [1] * len(videos)
                for chunk in length_chunks(lens, self.batch, cfg.padding_budget):
                    self._forward_backward([ranked[j] for j in chunk], plan, sums)
                    bar.update(len(chunk))
                self.pending += len(videos)
                if self.pending == cfg.videos_per_step:
                    self._optimizer_step()
        finally:
            bar.close()
        if self.pending and not cfg.steps_span_epochs:
            self._optimizer_step()
        if not math.isfinite(sums["total"]):
            raise FloatingPointError(f"training diverged: the loss of epoch {plan.epoch} is {sums['total']} "
                                     f"(learning rate {plan.learning_rate})")
        return {k: v / len(order) for k, v in sums.items()}

    def _evaluate(self) -> dict[str, Any]:
        inference = split_inference(self.model, self.config, self.data, self.test_idx, device=self.device,
                                    progress=self.progress)
        return evaluate_inference(inference, self.data)

    def run_epochs(self) -> None:
        cfg = self.config
        epochs = range(self.next_epoch, cfg.train.epochs)
        bar = tqdm(epochs, desc="train", unit="epoch", initial=self.next_epoch, total=cfg.train.epochs,
                   disable=not self.progress if self.progress is not None else None)
        for epoch in bar:
            if self.stopped:
                break
            plan = epoch_plan(cfg, epoch)
            record: dict[str, Any] = {"epoch": epoch, "lr": plan.learning_rate}
            t0 = time.perf_counter()
            if plan.memory_emptied:
                self.bank.clear()
            if plan.refresh_temperature is not None:
                record["refresh"] = self._refresh(plan)
            t1 = time.perf_counter()
            record["loss"] = self._train_epoch(plan)
            t2 = time.perf_counter()
            if plan.memory_filled_after:
                self._fill_memory()
            record["step"] = self.step
            record["pending_videos"] = self.pending
            improved = False
            if plan.evaluates_after and self.test_idx:
                results = self._evaluate()
                record["eval"] = evaluation_record(results)
                score = results[cfg.train.eval_methods[0]].average_mAP
                improved = score > self.best_score
                if improved:
                    self.best_epoch, self.best_score, self.evals_since_best = epoch, score, 0
                else:
                    self.evals_since_best += 1
                    if cfg.train.patience and self.evals_since_best >= cfg.train.patience:
                        self.stopped = True
                record["best_epoch"] = self.best_epoch
            t3 = time.perf_counter()
            record["time_s"] = {"refresh": t1 - t0, "train": t2 - t1, "eval": t3 - t2}
            record["stopped_early"] = self.stopped
            self.next_epoch = epoch + 1
            last = epoch == cfg.train.epochs - 1 or self.stopped
            if self.run is not None:
                self.run.append_metrics(record)
            self.history.append(record)
            if self.log is not None:
                self.log(record)
            self.save(epoch, improved, plan.checkpoints_after or last)
            if "eval" in record:
                bar.set_postfix(mAP=f"{100 * record['eval'][cfg.train.eval_methods[0]]['average_mAP']:.2f}")
        bar.close()
        self.model.eval()

    def result(self) -> TrainResult:
        return TrainResult(self.model, self.config, self.history, self.best_epoch, self.best_score, self.stopped,
                           None if self.run is None else self.run.root, self.refresh_timings)


class _DataParallelTrainer(distributed.DataParallel, _Trainer):
    """One rank of a run under torchrun (:mod:`tadfuse.engine.distributed`)."""

    loss_terms = LOSS_TERMS


def _resolve_config(config: Config | str | None) -> Config:
    if config is None:
        return get_preset("official")
    if isinstance(config, str):
        return get_preset(config)
    if not isinstance(config, Config):
        raise InvalidTypeError(f"`config` must be a Config or a preset name, got {type(config).__name__}")
    return config


def train(
    config: Config | str | None,
    data: VideoDataset | str | os.PathLike[str] | None,
    out: str | os.PathLike[str] | None = None,
    *,
    epochs: int | None = None,
    seed: int | None = None,
    checkpoint_every: int | None = None,
    device: str | torch.device | None = None,
    resume: bool = False,
    progress: bool | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train the RSKP backbone (with the pseudo-label method unless ``train.refresh`` is off).

    Args:
        config: a :class:`~tadfuse.config.Config` or a preset name (default ``official``).
            ``model.feature_dim`` / ``model.num_classes`` come from the data unless set
            explicitly (then they must agree). Ignored with ``resume`` (the run's own is used).
        data: a dataset or dataset folder with ``train`` and ``test`` splits. With ``resume``,
            default the folder the run was started on (``RUN/run.json``).
        out: the run folder (module :mod:`tadfuse.engine.run`); None trains in memory only.
        epochs, seed, checkpoint_every: shorthands for ``train.epochs``, ``train.seed`` and
            ``train.checkpoint_every`` (recorded in ``config.toml``). Not allowed with ``resume``.
        device: default ``cuda`` when available, else ``cpu``.
        resume: continue the run in ``out`` from ``checkpoints/last.pt`` (or start it when it has
            no checkpoint yet).
        progress: tqdm bars (None: on a terminal only).
        log: called with each epoch's metrics record.
    """
    dev = resolve_device(device)
    if distributed.launched():  # under torchrun: one rank of a data-parallel run
        with distributed.process_group(dev) as (ctx, dev):
            if resume:
                return _resume(data, out, epochs, seed, checkpoint_every, dev, progress, log, ctx)
            return _train_new(config, data, out, epochs, seed, checkpoint_every, dev, progress, log, ctx)
    if not resume:
        return _train_new(config, data, out, epochs, seed, checkpoint_every, dev, progress, log, None)
    return _resume(data, out, epochs, seed, checkpoint_every, dev, progress, log, None)


def _resume(data: VideoDataset | str | os.PathLike[str] | None, out: str | os.PathLike[str] | None,
            epochs: int | None, seed: int | None, checkpoint_every: int | None, dev: torch.device,
            progress: bool | None, log: Callable[[dict[str, Any]], None] | None, ctx: Any) -> TrainResult:
    """:func:`train` with ``resume``; ``ctx`` as for :func:`_train_new` (rank 0 alone rewrites
    the run folder, the other ranks read it after)."""
    main = ctx is None or ctx.main
    if out is None:
        raise InvalidArgumentError("`resume` needs the run folder `out` (CLI: --resume RUN)")
    if any(v is not None for v in (epochs, seed, checkpoint_every)):
        raise InvalidArgumentError("a resumed run keeps its configuration: epochs, seed and checkpoint_every "
                                   "cannot change (CLI: --resume takes no --epochs/--seed/--checkpoint-every)")
    run = RunDir(out)
    cfg = run.load_config()
    if data is None:
        data = run.info().get("data")
        if data is None:
            raise InvalidArgumentError(f"{run.root}: the run was started on an in-memory dataset; pass `data`")
    ds = load_data(data)
    check_model_fits(cfg.model, None, ds, str(run.config_path))
    if main:
        run.remove_temporaries()
    make = _Trainer if ctx is None else lambda *a: _DataParallelTrainer(ctx, *a)
    if run.last.is_file():
        ckpt = load_checkpoint(run.last)
        if ckpt.config != cfg.to_dict():
            raise DataFormatError(f"{run.last}: its configuration differs from {run.config_path}")
        check_model_fits(cfg.model, ckpt.class_names, ds, str(run.last))
        trainer = make(cfg, ds, dev, run, progress, log)
        trainer.model.load_state_dict(ckpt.state_dict)
        trainer.load_state(ckpt.extra_state["train_state"], str(run.last))
        history = run.truncate_metrics(trainer.next_epoch - 1) if main else []
    else:  # killed before its first checkpoint: start again
        history = run.truncate_metrics(-1) if main else []
        seed_everything(cfg.train.seed)
        trainer = make(cfg, ds, dev, run, progress, log)
    if ctx is not None:
        torch.distributed.barrier()  # rank 0 has rewritten metrics.jsonl
        history = history if main else [r for r in run.read_metrics() if r["epoch"] < trainer.next_epoch]
    trainer.history = history
    trainer.run_epochs()
    return trainer.result()


def _train_new(config: Config | str | None, data: VideoDataset | str | os.PathLike[str] | None,
               out: str | os.PathLike[str] | None, epochs: int | None, seed: int | None, checkpoint_every: int | None,
               dev: torch.device, progress: bool | None, log: Callable[[dict[str, Any]], None] | None,
               ctx: Any) -> TrainResult:
    """A new run (:func:`train` without ``resume``); ``ctx``: this rank's
    :class:`tadfuse.engine.distributed.DistContext` under torchrun, else None."""
    cfg = _resolve_config(config)
    changes = {k: v for k, v in (("epochs", epochs), ("seed", seed), ("checkpoint_every", checkpoint_every))
               if v is not None}
    if changes:
        try:
            cfg = dataclasses.replace(cfg, train=cfg.train.replace(**changes))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (CLI: --{next(iter(changes)).replace('_', '-')})") from None
    ds = load_data(data) if data is not None else None
    if ds is None:
        raise InvalidArgumentError("`data` is required (CLI: --data)")
    cfg = fit_dimensions(cfg, {name: getattr(ds, name) for name in DATA_DIMENSIONS}, ds.source)
    run = None
    if out is not None:
        run = RunDir(out)
        from tadfuse._core import __version__

        if ctx is None or ctx.main:
            run.create(cfg, {"data": str(Path(ds.source).resolve()) if Path(ds.source).exists() else None,
                         "tadfuse_version": __version__, "torch_version": str(torch.__version__),
                         "device": str(dev), "python": sys.version.split()[0],
                         **({} if ctx is None else {"world_size": ctx.world_size, "backend": ctx.backend})})
    seed_everything(cfg.train.seed)
    if ctx is None:
        trainer = _Trainer(cfg, ds, dev, run, progress, log)
    else:
        torch.distributed.barrier()  # the run folder exists before any rank goes on
        trainer = _DataParallelTrainer(ctx, cfg, ds, dev, run, progress, log)
    trainer.run_epochs()
    return trainer.result()


def resume(run: str | os.PathLike[str], *, data: VideoDataset | str | os.PathLike[str] | None = None,
           device: str | torch.device | None = None, progress: bool | None = None,
           log: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Continue the run folder ``run`` from its last checkpoint (:func:`train` with ``resume``)."""
    return train(None, data, run, device=device, resume=True, progress=progress, log=log)
