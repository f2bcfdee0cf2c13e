"""Small helpers shared by test modules (pytest puts tests/ on sys.path)."""

from __future__ import annotations


def run_cli(argv: list[str]) -> int:
    """Parse ``argv`` with `tadfuse.cli.build_parser` and run the command's handler, letting
    exceptions propagate (`tadfuse.cli.main` turns user errors into exit status 2)."""
    from tadfuse.cli import build_parser

    args = build_parser().parse_args(argv)
    return int(args.func(args))




def package_path() -> str:
    """The folder holding the ``tadfuse`` package these tests import (site-packages of an
    installed wheel, or the source tree of an editable install): a subprocess given it as
    ``PYTHONPATH`` imports the same tadfuse, compiled extension included."""
    from pathlib import Path

    import tadfuse

    return str(Path(tadfuse.__file__).resolve().parents[1])
