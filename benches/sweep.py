"""Resumable ablation sweep on the ``thumos14-structured`` synthetic data: the paper's Table 4
(each component added in turn) and Table 3 (fusion templates at test time vs NMS), over seeds.

What each Table-4 row changes, relative to the preset (``--preset``), all as configuration:

* ``baseline`` — the RSKP backbone alone: ``train.refresh = false`` (no refresh, no
  distillation). Tested with NMS.
* ``+linpro`` — refreshes on, pseudo labels from **NMS** instances
  (``postprocess.method = "nms"`` during training: the refresh post-processes with the
  ``postprocess`` section) turned into labels by LinPro, **no Δ**: every distillation phase
  has ``delta = false`` (the target is the latest generation, with the preset's coefficient).
  Tested with NMS.
* ``+fusion`` — as ``+linpro`` with **fusion**-based pseudo labels (``postprocess.method =
  "fusion"``, at the refresh temperatures). Tested with NMS.
* ``+delta`` — as ``+fusion`` with the preset's Δ phases (``ΔG`` targets where the preset has
  them). Tested with NMS.
* ``+fusion_test`` — the ``+delta`` checkpoint tested with fusion instead of NMS (no training
  of its own: the saved TCAMs are post-processed again).

Not expressible, hence not a row: pseudo labels *without* LinPro (the refresh always labels with
LinPro; a "hard" labelling alternative is no option of the ``linpro`` section).

Table 3 (``table3``): the ``+delta`` checkpoint's TCAMs post-processed with NMS and with fusion
under each template (``gaussian``, ``laplace``, ``uniform``, ``student_t``).

Sharing: every variant trains the same epochs before the first refresh, so one *trunk* per seed
is trained to the epoch before ``delta.refresh_epochs[0]``; each variant copies the trunk's run
folder, rewrites its configuration (``config.toml`` and the checkpoint's embedded copy) with the
variant's overrides and resumes for the remaining epochs. Each final checkpoint's test TCAMs are
saved once (``infer_to_file(save_raw=...)``) and every post-processing reads them back
(``infer_to_file(from_raw=...)``), scored with ``tadfuse.evaluate(protocol="wtalc")``.

Resumable: each finished (seed, variant, post-processing) is one JSON line of
``OUT/results.jsonl`` (with the full resolved configuration, the seed and the tadfuse version);
a restart skips finished lines, resumes unfinished run folders and reuses saved TCAMs.

::

    python benches/sweep.py --out sweep_runs --seeds 0 1 2 --preset official
    python benches/sweep.py --out sweep_runs --report
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TABLE4 = ("baseline", "+linpro", "+fusion", "+delta")
TEMPLATES = ("gaussian", "laplace", "uniform", "student_t")


def _strict(values: Sequence[int], lo: int = 0) -> tuple[int, ...]:
    """``values`` bumped so they increase strictly from at least ``lo`` (scaling can merge them)."""
    out: list[int] = []
    for v in values:
        v = max(v, lo, out[-1] + 1 if out else lo)
        out.append(v)
    return tuple(out)


def scale_schedule(cfg: Any, epochs: int) -> Any:
    """``cfg`` with every epoch-valued field scaled from ``cfg.train.epochs`` to ``epochs``
    (milestones, warm-up, refreshes, Δ phases as half-open ranges, distillation start, eval and
    checkpoint periods), for a quick run of the same shape."""
    from tadfuse.config.delta import DeltaPhase

    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}")
    f = epochs / cfg.train.epochs

    def s(e: int) -> int:
        return int(round(e * f))

    refresh = _strict([s(e) for e in cfg.delta.refresh_epochs], lo=1)
    if refresh and refresh[-1] >= epochs:
        raise ValueError(f"--epochs {epochs}: too few epochs for {len(refresh)} refreshes")
    phases: list[DeltaPhase] = []
    prev_last = -1
    for p in cfg.delta.phases:
        first = max(s(p.first), prev_last + 1)
        last = None if p.last is None else max(s(p.last + 1) - 1, first)
        phases.append(DeltaPhase(first, last, p.coef, p.delta))
        prev_last = first if last is None else last
    delta = dataclasses.replace(cfg.delta, refresh_epochs=refresh, phases=tuple(phases),
                                weight_start=s(cfg.delta.weight_start))
    period = max(1, s(cfg.train.eval_every))
    train = cfg.train.replace(epochs=epochs, self_label_milestones=_strict([s(e) for e in cfg.train.self_label_milestones], 1),
                              eval_every=period, checkpoint_every=period)
    optim = dataclasses.replace(cfg.optim, lr_milestones=_strict([s(e) for e in cfg.optim.lr_milestones], 1))
    model = cfg.model.replace(warmup_epoch=max(0, s(cfg.model.warmup_epoch)))
    return dataclasses.replace(cfg, delta=delta, train=train, optim=optim, model=model)


def variant_config(base: Any, variant: str) -> Any:
    """The training configuration of a Table-4 row (module docstring)."""
    if variant == "baseline":
        # The settings refresh-off turns off must keep their preset values (a changed one that
        # has no effect is a ConfigError when the run folder's config.toml is read back).
        from tadfuse.config import get_preset

        preset = get_preset(base.preset)
        train = base.train.replace(refresh=False, refresh_temperatures=preset.train.refresh_temperatures,
                                   empty_memory_at_refresh=preset.train.empty_memory_at_refresh)
        return dataclasses.replace(base, train=train, delta=preset.delta, linpro=preset.linpro)
    if variant == "+delta":
        return base.override({"postprocess.method": "fusion"})
    no_delta = tuple(dataclasses.replace(p, delta=False) for p in base.delta.phases)
    cfg = dataclasses.replace(base, delta=dataclasses.replace(base.delta, phases=no_delta))
    if variant == "+linpro":
        return cfg.override({"postprocess.method": "nms"})
    if variant == "+fusion":
        return cfg.override({"postprocess.method": "fusion"})
    raise ValueError(f"unknown variant {variant!r}")


def posts_of(variant: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, postprocess overrides) of the test-time post-processings scored for ``variant``."""
    posts = [("nms", {"postprocess.method": "nms"})]
    if variant == "+delta":  # the +fusion_test row and Table 3
        posts += [(f"fusion:{t}", {"postprocess.method": "fusion", "postprocess.template": t}) for t in TEMPLATES]
    return posts


def _key(rec: dict[str, Any]) -> tuple[int, str, str]:
    return int(rec["seed"]), str(rec["variant"]), str(rec["post"])


def read_results(path: Path) -> list[dict[str, Any]]:
    """The finished records of ``path`` (a torn last line from a kill is ignored)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _append(path: Path, rec: dict[str, Any]) -> None:
    with path.open("a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
        f.flush()


def _branch(trunk: Path, run: Path, cfg: Any) -> None:
    """``run`` = a copy of the finished ``trunk`` run folder whose configuration is ``cfg``."""
    import torch
    from tadfuse.models.checkpoint import load_checkpoint, save_checkpoint

    tmp = run.with_name(run.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(trunk, tmp)
    (tmp / "config.toml").write_text(cfg.to_toml())
    last = tmp / "checkpoints" / "last.pt"
    ckpt = load_checkpoint(last)
    model = ckpt.build_model()
    last.unlink()  # a hard link to the epoch checkpoint: write a new file, not through the link
    extra = dict(ckpt.extra_state)
    state = dict(extra["train_state"])
    # The Δ-label store carries its schedule in the checkpoint and restores it on resume.
    state["delta_store"] = {**state["delta_store"], "schedule": cfg.delta.to_dict()}
    extra["train_state"] = state
    with torch.no_grad():
        save_checkpoint(last, model, cfg.to_dict(), ckpt.class_names, extra)
    tmp.rename(run)


def sweep(out: Path, seeds: Sequence[int], preset: str, epochs: int | None, feature_dim: int,
          data_kind: str = "thumos14-structured", progress: bool | None = None) -> list[dict[str, Any]]:
    """Runs every missing (seed, variant, post-processing) and appends it to ``out/results.jsonl``;
    returns all records."""
    import tadfuse
    from tadfuse.config import get_preset
    from tadfuse.data import load_dataset, synthesize
    from tadfuse.engine import infer_to_file, train
    from tadfuse.engine.run import RunDir

    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = {_key(r) for r in read_results(results)}
    for seed in seeds:
        data_dir = out / f"data_seed{seed}"
        if not (data_dir / ".complete").is_file():
            shutil.rmtree(data_dir, ignore_errors=True)
            kw: dict[str, Any] = {"seed": seed}
            if data_kind == "thumos14-structured":  # toy: its own fixed width
                kw["feature_dim"] = feature_dim
            synthesize(data_kind, data_dir, **kw)
            (data_dir / ".complete").write_text("")
        data = load_dataset(data_dir)
        base = get_preset(preset)
        if epochs is not None:
            base = scale_schedule(base, epochs)
        base = base.override({"train.seed": seed})
        first = base.delta.refresh_epochs[0]
        wanted = {v: posts_of(v) for v in TABLE4}
        if all((seed, v, p) in done for v, ps in wanted.items() for p, _ in ps):
            continue
        trunk = out / f"seed{seed}" / "trunk"
        trunk_cfg = base.override({"train.epochs": first})
        if RunDir(trunk).is_run():
            train(None, data, trunk, resume=True, progress=progress)
        else:
            train(trunk_cfg, data, trunk, progress=progress)
        for variant, posts in wanted.items():
            if all((seed, variant, p) in done for p, _ in posts):
                continue
            run = out / f"seed{seed}" / variant.lstrip("+")
            if not RunDir(run).is_run():
                _branch(trunk, run, variant_config(RunDir(trunk).load_config().override(
                    {"train.epochs": base.train.epochs}), variant))
            result = train(None, data, run, resume=True, progress=progress)
            cfg = result.config
            raw = run / "raw_test"
            if not (raw / ".complete").is_file():
                shutil.rmtree(raw, ignore_errors=True)
                infer_to_file(run / "raw_infer.json", run / "checkpoints" / "last.pt", data, save_raw=raw,
                              device="cpu", progress=progress)
                (raw / ".complete").write_text("")
            for post, overrides in posts:
                if (seed, variant, post) in done:
                    continue
                test_cfg = cfg.override(overrides)
                pred = run / f"pred_{post.replace(':', '_')}.json"
                infer_to_file(pred, from_raw=raw, config=test_cfg, progress=progress)
                ev = test_cfg.evaluation
                res = tadfuse.evaluate(data.ground_truth(), pred, protocol="wtalc",
                                       tiou_thresholds=list(ev.tiou_thresholds),
                                       subset=ev.subset or data.test_subset)
                rec = {"seed": seed, "variant": variant, "post": post, "preset": preset, "epochs": cfg.train.epochs,
                       "data": data_kind, "feature_dim": feature_dim,
                       "tiou": [float(t) for t in res.tiou_thresholds], "mAP": [float(m) for m in res.mAP],
                       "average_mAP": float(sum(res.mAP) / len(res.mAP)), "config": test_cfg.to_dict(),
                       "train_config": cfg.to_dict(), "tadfuse_version": str(tadfuse.__version__)}
                _append(results, rec)
                done.add((seed, variant, post))
    return read_results(results)


def _cell(values: list[float]) -> str:
    if not values:
        return "—"
    sd = f"{100 * statistics.stdev(values):.2f}" if len(values) > 1 else "—"  # sample std: one seed has none
    return f"{100 * statistics.fmean(values):.2f} ± {sd}"


def report(records: list[dict[str, Any]]) -> str:
    """Markdown tables (mean ± std over seeds, in %) of the Table-4 rows and Table 3."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        by.setdefault((r["variant"], r["post"]), []).append(r)
    tiou = next((r["tiou"] for r in records), [])
    head = "| row | seeds | " + " | ".join(f"mAP@{t:.2f}" for t in tiou) + " | avg |"
    sep = "|---" * (len(tiou) + 3) + "|"

    def row(name: str, recs: list[dict[str, Any]]) -> str:
        cols = [_cell([r["mAP"][i] for r in recs]) for i in range(len(tiou))]
        return f"| {name} | {len(recs)} | " + " | ".join(cols) + f" | {_cell([r['average_mAP'] for r in recs])} |"

    lines = ["### Table 4: components (mean ± std over seeds, %)", "", head, sep]
    rows4 = [(v, (v, "nms")) for v in TABLE4] + [("+fusion_test", ("+delta", "fusion:gaussian"))]
    lines += [row(name, by.get(k, [])) for name, k in rows4]
    lines += ["", "### Table 3: post-processing at test time of +delta (mean ± std over seeds, %)", "", head, sep]
    lines += [row(p, by.get(("+delta", p), [])) for p in ["nms", *(f"fusion:{t}" for t in TEMPLATES)]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="sweep folder (results.jsonl, runs, data)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--feature-dim", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=None, help="scale the preset's schedule to this many epochs")
    ap.add_argument("--preset", choices=("official", "paper", "demo"), default="official")
    ap.add_argument("--data", choices=("thumos14-structured", "toy"), default="thumos14-structured",
                    help=argparse.SUPPRESS)  # toy: the tests' quick check
    ap.add_argument("--report", action="store_true", help="print the tables from OUT/results.jsonl only")
    args = ap.parse_args(argv)
    if args.report:
        records = read_results(args.out / "results.jsonl")
        if not records:
            print(f"--out: no results in {args.out / 'results.jsonl'}", file=sys.stderr)
            return 1
    else:
        records = sweep(args.out, args.seeds, args.preset, args.epochs, args.feature_dim, args.data)
    print(report(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
