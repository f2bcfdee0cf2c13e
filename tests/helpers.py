"""Small helpers shared by test modules (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import argparse


def run_cli(argv: list[str]) -> int:
    """Parse ``argv`` with the sub-commands that tadfuse.cli registers and run the handler,
    letting exceptions propagate (``tadfuse.cli.main`` turns user errors into exit code 2)."""
    from tadfuse.cli_commands import add_data_command, add_eval_command, add_plot_command

    parser = argparse.ArgumentParser(prog="tadfuse")
    sub = parser.add_subparsers()
    for add in (add_eval_command, add_data_command, add_plot_command):
        add(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))
