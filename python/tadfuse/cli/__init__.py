"""The ``tadfuse`` command line: `main` runs it, `build_parser` builds its argparse parser.

One module per command (``demo``, ``train``, ``infer``, ``eval``, ``data``, ``plot``, ``detect``), each with
``add_parser(subparsers, parents)`` that registers the command and sets ``func`` to its handler
(which returns the exit status); `_args` holds the argument types and shared options, `_errors`
the error and warning reporting. Command modules never import this package's ``__init__``.

Errors in what the user passed (a `tadfuse.errors.TadfuseError`, or an ``OSError`` such as a
missing file) print as one line ``tadfuse: error: <message>`` with exit status 2;
``--traceback`` (before or after the command) shows the traceback instead. Any other exception
is a bug and keeps its traceback. Warnings print as ``tadfuse: warning: <message>``, once each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tadfuse.cli import bench, data, demo, detect, eval, infer, plot, train
from tadfuse.cli._args import common_options
from tadfuse.cli._errors import USER_ERRORS, error_message, report_warnings

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``tadfuse`` parser with every command."""
    from tadfuse import __version__

    common = common_options()
    parser = argparse.ArgumentParser(
        prog="tadfuse", parents=[common],
        description="Weakly supervised temporal action localization with fused pseudo labels.",
    )
    parser.add_argument("--version", action="version", version=f"tadfuse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (demo, train, infer, eval, data, plot, detect, bench):
        command.add_parser(sub, [common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    with report_warnings():
        try:
            return int(args.func(args) or 0)
        except USER_ERRORS as exc:
            if getattr(args, "traceback", False):
                raise
            print(f"{parser.prog}: error: {error_message(exc)}", file=sys.stderr)
            return 2
