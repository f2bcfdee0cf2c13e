"""``tadfuse train``: train the RSKP backbone and the pseudo-label method into a run folder
(`tadfuse.engine.train`), or continue one (``--resume RUN``, `tadfuse.engine.resume`)."""

from __future__ import annotations

import argparse
from typing import Any

from tadfuse.cli._args import add_command, add_config_options, integer, resolve_config
from tadfuse.errors import InvalidArgumentError

__all__ = ["add_parser", "run"]

#: Flags that a resumed run cannot take (it keeps its configuration).
_NOT_WITH_RESUME = ("preset", "config", "set", "postprocess", "epochs", "seed", "checkpoint_every", "out")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def run(args: argparse.Namespace) -> int:
    from tadfuse.engine import resume, train

    if args.resume is not None:
        given = [_flag(d) for d in _NOT_WITH_RESUME if getattr(args, d) not in (None, [])]
        if given:
            raise InvalidArgumentError(f"--resume continues a run with its saved configuration; drop {', '.join(given)}")
        result = resume(args.resume, data=args.data, device=args.device)
    else:
        missing = [f for f, v in (("--data", args.data), ("--out", args.out)) if v is None]
        if missing:
            raise InvalidArgumentError(f"{' and '.join(missing)} required (or --resume RUN to continue a run)")
        config = resolve_config(args)
        result = train(config, args.data, args.out, epochs=args.epochs, seed=args.seed,
                       checkpoint_every=args.checkpoint_every, device=args.device)
    last = result.history[-1] if result.history else None
    print(f"run {result.run_dir}: {len(result.history)} epochs recorded (preset {result.config.preset})"
          + (", stopped early (train.patience)" if result.stopped_early else ""))
    if result.best_epoch is not None:
        method = result.config.train.eval_methods[0]
        print(f"best epoch {result.best_epoch}: average mAP {100 * result.best_score:.2f} ({method}); "
              f"checkpoints/best.pt")
    if last is not None and "eval" in last:
        for method, rec in last["eval"].items():
            value = rec.get("average_mAP", rec.get("mAP"))
            print(f"  epoch {last['epoch']} {method}: {100 * value:.2f}")
    return 0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tadfuse train``."""
    p = add_command(
        subparsers, "train", parents=parents,
        help="train the model and the pseudo-label method into a run folder (or --resume one)",
        description="Train RSKP (with the pseudo-label method unless train.refresh is off) on a dataset folder. "
        "The run folder gets config.toml, metrics.jsonl (one line per epoch) and checkpoints/ (epoch_NNNN.pt, "
        "last.pt, best.pt), all written atomically; --resume RUN continues a run killed at any moment.",
    )
    p.add_argument("--data", metavar="DIR", help="dataset folder (W-TALC bundle or per-video folders)")
    p.add_argument("--out", metavar="RUN", help="new run folder")
    p.add_argument("--resume", metavar="RUN", help="continue this run folder from its last checkpoint")
    p.add_argument("--epochs", type=integer(1), metavar="N", help="training epochs (train.epochs)")
    p.add_argument("--seed", type=integer(0), metavar="S", help="seed of Python, NumPy and torch (train.seed)")
    p.add_argument("--checkpoint-every", type=integer(1), metavar="N",
                   help="checkpoint every N epochs (train.checkpoint_every)")
    p.add_argument("--device", metavar="D", help="torch device, e.g. cpu or cuda:0 (default: cuda if available)")
    add_config_options(p, method=True)
    p.set_defaults(func=run)
    return p
