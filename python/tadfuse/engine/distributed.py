"""Data-parallel training over processes started by ``torchrun`` (gloo on the CPU, NCCL on CUDA).

``torchrun --standalone --nproc-per-node N -m tadfuse train ...`` runs :func:`tadfuse.engine.train`
in N processes; :func:`launched` sees torchrun's environment and the trainer gets the
:class:`DataParallel` overrides (``tadfuse.engine.trainer``'s data-parallel trainer). The run is
the one-process run of the same configuration, with the work of each step shared (docs/scale-out.md, "Data-parallel training"):

* **Steps.** The videos of an optimiser step (``train.videos_per_step``, the global batch) are
  dealt to the ranks round robin in visiting order (rank ``r`` takes positions ``r, r+N, ...``).
  Each rank back-propagates the summed losses of its share; before the optimiser step the
  gradients are summed over the ranks (one all-reduce of one flat buffer per step), so every rank
  steps with the gradient of the summed losses of the whole step, as the released loop does.
  (``DistributedDataParallel`` averages instead and would need the losses scaled by N; the step's
  several forward passes, the memory branch outside ``forward`` and parameters unused in some
  epochs make the explicit reduction the simpler exact form.)
* **Dropout** masks are drawn per video from ``(train.seed, purpose, epoch, video)``
  (:class:`VideoSeededDropout`), so a video's mask does not depend on the rank or on which videos
  share its forward pass.
* **Memory bank.** Every rank holds the whole bank. After a step's forward passes the ranks
  all-gather the centres of the step's videos and each replays the reads and writes in the
  step's visiting order, so each video reads what it reads in one process, and every bank
  stays identical.
* **Refresh.** Each rank computes the labels of its share of the training videos (round robin);
  an all-gather gives every rank the full Δ-label store. The warm-up memory fill is shared the
  same way.
* Rank 0 alone evaluates (the results are broadcast, so patience stops every rank together),
  writes ``metrics.jsonl`` and the checkpoints; checkpoints hold the gradients accumulated by
  every rank of an open step (summed into rank 0's).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from tadfuse.engine.batching import length_chunks, sorted_by_length
from tadfuse.engine.inference import model_outputs
from tadfuse.engine.losses import training_losses
from tadfuse.engine.refresh import RefreshTimings, refresh_labels
from tadfuse.engine.schedule import EpochPlan
from tadfuse.errors import InvalidArgumentError
from tadfuse.linpro import LinproStats
from tadfuse.models.interface import pad_features

__all__ = ["DataParallel", "DistContext", "VideoSeededDropout", "dropout_seed", "launched", "process_group"]

#: Purposes of a dropout draw (the second key of :func:`dropout_seed`).
TRAIN_DRAW, LABEL_DRAW = 1, 2


def launched() -> bool:
    """True inside a process started by ``torchrun`` (it sets ``RANK`` and ``WORLD_SIZE``)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


@dataclass(frozen=True)
class DistContext:
    """This process's place in the group: ``rank`` of ``world_size``, ``local_rank`` on its node."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, lo: int) -> int:
    raw = os.environ.get(name, "0" if name == "LOCAL_RANK" else None)
    try:
        v = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"environment variable {name}={raw!r} is not an integer (set by torchrun)") from None
    if v < lo:
        raise InvalidArgumentError(f"environment variable {name}={v} must be >= {lo}")
    return v


@contextmanager
def process_group(device: torch.device) -> Iterator[tuple[DistContext, torch.device]]:
    """Joins the process group torchrun's environment describes (``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) for the duration: gloo for a CPU
    ``device``, NCCL for CUDA (an index-less ``cuda`` becomes ``cuda:LOCAL_RANK``). Yields the
    context and the device; leaves a group it did not create alone."""
    rank, world, local = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0)
    if rank >= world:
        raise InvalidArgumentError(f"environment variable RANK={rank} must be below WORLD_SIZE={world}")
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise InvalidArgumentError(f"`device` {str(device)!r}: data-parallel training runs on cpu or cuda (CLI: --device)")
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend, rank=rank, world_size=world)
    try:
        yield DistContext(dist.get_rank(), dist.get_world_size(), local, dist.get_backend()), device
    finally:
        if owns and dist.is_initialized():
            dist.destroy_process_group()


def dropout_seed(seed: int, purpose: int, epoch: int, video: int) -> int:
    """The seed of one video's dropout mask: a pure function of ``(seed, purpose, epoch, video)``
    (``video``: the position among the training videos)."""
    return int(np.random.SeedSequence([int(seed), int(purpose), int(epoch), int(video)]).generate_state(1, np.uint64)[0])


class VideoSeededDropout(nn.Module):
    """Dropout whose mask for batch row ``b`` is drawn from a CPU generator seeded with
    ``rows[b] = (seed, length)``: ``(length, D)`` Bernoulli(1 − p) draws, scaled by ``1/(1 − p)``
    like :class:`torch.nn.Dropout`; rows past ``length`` (padding) are zeroed. The same video gets
    the same mask whatever its batch, padding, rank or device. ``rows`` must be set before each
    forward pass in training mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.rows: list[tuple[int, int]] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        rows = self.rows
        if rows is None or len(rows) != x.shape[0]:
            raise RuntimeError(f"VideoSeededDropout: {0 if rows is None else len(rows)} seeded rows for a batch of "
                               f"{x.shape[0]} videos (set `rows` before the forward pass)")
        keep = torch.zeros(x.shape, dtype=x.dtype)
        for b, (seed, length) in enumerate(rows):
            g = torch.Generator().manual_seed(seed)
            keep[b, :length] = (torch.rand((length, x.shape[2]), generator=g) >= self.p).to(x.dtype)
        return x * keep.to(x.device) / (1.0 - self.p)


def _gather(obj: Any, world: int) -> list[Any]:
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


class DataParallel:
    """The overrides that make the one-process trainer one rank of a data-parallel run (module
    docstring), mixed in before it (``class T(DataParallel, _Trainer)``): the constructor takes
    the :class:`DistContext` before the trainer's arguments; ranks other than 0 write nothing and
    log nothing. The trainer class provides ``loss_terms``, the logged loss terms."""

    loss_terms: tuple[str, ...]
    # the trainer's state, which the overrides use
    config: Any
    data: Any
    device: torch.device
    model: Any
    bank: Any
    store: Any
    optimizer: Any
    run: Any
    log: Any
    progress: bool | None
    train_idx: list[int]
    names: list[str]
    lengths: list[int]
    labels: np.ndarray
    pending: int
    batch: int
    inference_batch: int
    refresh_timings: RefreshTimings

    def __init__(self, ctx: DistContext, *args: Any) -> None:
        super().__init__(*args)  # type: ignore[call-arg]
        self.ctx = ctx
        self.checkpointing = self.run is not None
        self.run_root = None if self.run is None else self.run.root
        if not ctx.main:
            self.run, self.log, self.progress = None, None, False
        self.model.dropout = VideoSeededDropout(self.config.model.dropout)
        with torch.no_grad():  # the same start everywhere, whatever each rank's RNG did
            for t in self.model.state_dict().values():
                dist.broadcast(t, 0)

    def load_state(self, state: Any, source: str) -> None:
        super().load_state(state, source)  # type: ignore[misc]
        if not self.ctx.main:  # rank 0 alone carries the open step's saved gradient sum
            for p in self.model.parameters():
                if p.grad is not None:
                    p.grad.zero_()

    def _seed_rows(self, positions: list[int], lengths: list[int], purpose: int, epoch: int) -> None:
        assert isinstance(self.model.dropout, VideoSeededDropout)
        s = self.config.train.seed
        self.model.dropout.rows = [(dropout_seed(s, purpose, epoch, p), n) for p, n in zip(positions, lengths)]

    def _share(self, n: int) -> list[int]:
        return list(range(self.ctx.rank, n, self.ctx.world_size))

    # -- refresh and memory fill: each rank its share, then all-gather -------------------------

    def _refresh(self, plan: EpochPlan) -> dict[str, Any]:
        cfg = self.config
        t0 = time.perf_counter()
        mine = self._share(len(self.train_idx))
        feats = [self.data.feature(self.train_idx[p]) for p in mine]
        if cfg.model.pseudo_label_dropout:  # dropout active: one video per pass, its own mask
            pairs = []
            for p, f in zip(mine, feats):
                self._seed_rows([p], [int(f.shape[0])], LABEL_DRAW, plan.epoch)
                pairs += model_outputs(self.model, [f], cfg.model, purpose="labels", batch_videos=1, device=self.device)
        else:
            pairs = model_outputs(self.model, feats, cfg.model, purpose="labels", batch_videos=self.inference_batch,
                                  padding_budget=cfg.train.padding_budget, device=self.device, progress=self.progress,
                                  desc=f"refresh {plan.epoch}")
        timings = RefreshTimings(inference_s=time.perf_counter() - t0)
        stats = LinproStats()
        assert plan.refresh_temperature is not None
        labels = refresh_labels([p[0] for p in pairs], [p[1] for p in pairs], plan.refresh_temperature,
                                cfg.postprocess, cfg.linpro, timings=timings, stats=stats) if mine else []
        shares = _gather(({self.names[p]: lab for p, lab in zip(mine, labels)}, dataclasses.asdict(stats)),
                         self.ctx.world_size)
        merged: dict[str, Any] = {}
        for share, _ in shares:
            merged.update(share)
        self.store.add_generation(plan.epoch, {n: merged[n] for n in self.names})
        self.refresh_timings.add(timings)
        total = {k: sum(s[k] for _, s in shares) for k in shares[0][1]}
        return {"temperature": plan.refresh_temperature, **timings.to_dict(), "linpro": total,
                "world_size": self.ctx.world_size}

    @torch.no_grad()
    def _fill_memory(self) -> None:
        cfg = self.config
        mine = self._share(len(self.train_idx))
        was = self.model.training
        self.model.eval()
        order = sorted_by_length(mine, self.lengths)
        chunks = length_chunks([self.lengths[i] for i in order], self.inference_batch, cfg.train.padding_budget)
        centres: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        try:
            for chunk in chunks:
                pos = [order[j] for j in chunk]
                x, mask = pad_features([self.data.feature(self.train_idx[p]) for p in pos], device=self.device)
                out = self.model(x, mask)
                for b, p in enumerate(pos):
                    centres[p] = (out.centres[b].cpu(), out.centre_scores[b].cpu())
        finally:
            self.model.train(was)
        for share in _gather(centres, self.ctx.world_size):
            centres.update(share)
        self.bank.initialise((centres[p][0], centres[p][1], self.labels[p]) for p in range(len(self.train_idx)))

    # -- training ------------------------------------------------------------------------------

    def _step_share(self, videos: list[int], plan: EpochPlan, sums: dict[str, float]) -> None:
        """This rank's share of one optimiser step's ``videos`` (visiting order): forward passes,
        the memory bank replayed over the whole step, losses, backward."""
        cfg = self.config
        mine = videos[self.ctx.rank::self.ctx.world_size]
        if self.batch > 1 and cfg.train.sample_snippets is None:
            ranked = sorted_by_length(mine, self.lengths)
            lens = [self.lengths[p] for p in ranked]
        else:
            ranked, lens = list(mine), [1] * len(mine)
        passes = []
        for chunk in length_chunks(lens, self.batch, cfg.train.padding_budget) if mine else []:
            pos = [ranked[j] for j in chunk]
            feats, kept = self._features(pos, plan.epoch)
            self._seed_rows(pos, [int(f.shape[0]) for f in feats], TRAIN_DRAW, plan.epoch)
            x, mask = pad_features(feats, device=self.device)
            passes.append((pos, kept, self.model(x, mask)))
        reads: dict[int, torch.Tensor] = {}
        if plan.memory_active:
            own = {p: (out.centres[b].detach().cpu(), out.centre_scores[b].detach().cpu())
                   for pos, _, out in passes for b, p in enumerate(pos)}
            written: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
            for share in _gather(own, self.ctx.world_size):
                written.update(share)
            for p in videos:  # read, then write, video by video: the bank one process leaves
                if p in own:
                    reads[p] = self.bank.read(self.labels[p])
                self.bank.write(written[p][0], written[p][1], self.labels[p])
        for pos, kept, out in passes:
            labels = torch.as_tensor(self.labels[pos], device=self.device)
            memory = None
            if plan.memory_active:
                rs = [reads[p] for p in pos]
                n = max(r.shape[0] for r in rs)
                centres = rs[0].new_zeros(len(rs), n, rs[0].shape[1])
                cmask = torch.zeros(len(rs), n, dtype=torch.bool, device=centres.device)
                for b, r in enumerate(rs):
                    centres[b, : r.shape[0]] = r
                    cmask[b, : r.shape[0]] = True
                memory = self.model.memory_branch(out.embedded, centres, out.mask, cmask)
            targets = None
            if plan.weights.distillation > 0:
                targets = []
                for p, idx in zip(pos, kept):
                    g = self.store.target(self.names[p], plan.epoch)
                    targets.append(None if g is None else (g if idx is None else g[idx]))
            terms = training_losses(out.main, out.walk, labels, plan.weights, memory=memory, mask=out.mask,
                                    distillation_targets=targets, distillation_o_coef=cfg.delta.o_coef, train=cfg.train)
            terms["total"].backward()
            for k in self.loss_terms:
                sums[k] += float(terms[k].detach())

    @torch.no_grad()
    def _sum_gradients(self) -> None:
        """Sums every parameter's gradient over the ranks (one flat all-reduce). A parameter no
        rank has a gradient for keeps none (Adam then skips it, as in one process)."""
        params = list(self.model.parameters())
        has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=self.device)
        dist.all_reduce(has, op=dist.ReduceOp.MAX)
        live = [p for p, h in zip(params, has.tolist()) if h]
        if not live:
            return
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in live])
        dist.all_reduce(flat)
        o = 0
        for p in live:
            p.grad = flat[o:o + p.numel()].view_as(p).clone()
            o += p.numel()

    def _optimizer_step(self) -> None:
        self._sum_gradients()
        super()._optimizer_step()

    def _train_epoch(self, plan: EpochPlan) -> dict[str, float]:
        cfg = self.config.train
        order, steps = self._epoch_steps(plan)  # type: ignore[attr-defined]
        sums = dict.fromkeys(self.loss_terms, 0.0)
        bar = tqdm(total=len(order), desc=f"epoch {plan.epoch}", unit="video", leave=False,
                   disable=not self.progress if self.progress is not None else None)
        try:
            for videos in steps:
                self._step_share(videos, plan, sums)
                self.pending += len(videos)
                if self.pending == cfg.videos_per_step:
                    self._optimizer_step()
                bar.update(len(videos))  # the whole step's videos, all ranks together
        finally:
            bar.close()
        if self.pending and not cfg.steps_span_epochs:
            self._optimizer_step()
        total = torch.tensor([sums[k] for k in self.loss_terms], dtype=torch.float64)
        if self.ctx.backend == "nccl":
            total = total.to(self.device)
        dist.all_reduce(total)
        sums = dict(zip(self.loss_terms, total.cpu().tolist()))
        if not np.isfinite(sums["total"]):
            raise FloatingPointError(f"training diverged: the loss of epoch {plan.epoch} is {sums['total']} "
                                     f"(learning rate {plan.learning_rate})")
        return {k: v / len(order) for k, v in sums.items()}

    def _evaluate(self) -> dict[str, Any]:
        box: list[Any] = [super()._evaluate() if self.ctx.main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def save(self, epoch: int, improved: bool, write_epoch_file: bool) -> None:
        if self.checkpointing and self.pending and (write_epoch_file or improved):
            # An open step: rank 0's checkpoint holds every rank's gradients; the others start
            # their share of the rest of the step from zero, so the step's sum stays the same.
            self._sum_gradients()
            if not self.ctx.main:
                for p in self.model.parameters():
                    if p.grad is not None:
                        p.grad.zero_()
        if self.ctx.main:
            super().save(epoch, improved, write_epoch_file)
        dist.barrier()

    def result(self) -> Any:
        self.model.dropout = nn.Dropout(self.config.model.dropout)
        result = super().result()  # type: ignore[misc]
        result.run_dir = self.run_root  # every rank's result names the run folder
        return result
