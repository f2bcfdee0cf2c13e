"""The ``tadfuse`` command line.

Errors in what the user passed (missing or malformed files, bad values: ``ValueError`` — which
includes the data module's ``DataFormatError`` and JSON decode errors —, ``TypeError``,
``KeyError`` and ``OSError`` such as ``FileNotFoundError``, and a missing optional extra such
as matplotlib for ``tadfuse plot``) are printed as one line ``tadfuse: error: <message>`` on
stderr with exit status 2, argparse's convention for usage errors. ``--traceback`` shows the
Python traceback instead. Any other exception is a bug and propagates with its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tadfuse.errors import MissingExtraError

__all__ = ["build_parser", "main"]


#: Exception classes reported as ``tadfuse: error: <message>`` (exit status 2) by `main`.
_USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, KeyError, OSError, MissingExtraError)


def _demo(args: argparse.Namespace) -> int:
    from tadfuse.demo import run_demo

    print(run_demo(videos=args.videos, seed=args.seed))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from tadfuse import __version__

    parser = argparse.ArgumentParser(
        prog="tadfuse",
        description="Weakly supervised temporal action localization with fused pseudo labels.",
    )
    parser.add_argument("--version", action="version", version=f"tadfuse {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="on an error in the input, show the Python traceback instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="post-processing demo on generated TCAMs: detections and fusion-vs-NMS timing")
    demo.add_argument("--videos", type=int, default=212, help="number of generated videos (default 212)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(func=_demo)

    from tadfuse.cli_commands import add_data_command, add_eval_command, add_plot_command

    add_eval_command(sub)
    add_data_command(sub)
    add_plot_command(sub)
    return parser


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        msg = exc.args[0]  # str(KeyError) is the repr of its argument
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        msg = f"{os.fsdecode(exc.filename)}: {exc.strerror}"
    else:
        msg = str(exc)
    return msg or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except _USER_ERRORS as exc:
        if args.traceback:
            raise
        print(f"{parser.prog}: error: {_error_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
