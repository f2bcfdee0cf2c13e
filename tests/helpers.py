"""Small helpers shared by test modules (pytest puts tests/ on sys.path)."""

from __future__ import annotations


def run_cli(argv: list[str]) -> int:
    """Parse ``argv`` with `tadfuse.cli.build_parser` and run the command's handler, letting
    exceptions propagate (`tadfuse.cli.main` turns user errors into exit status 2)."""
    from tadfuse.cli import build_parser

    args = build_parser().parse_args(argv)
    return int(args.func(args))


