"""How the command line reports errors and warnings.

Errors: a `tadfuse.errors.TadfuseError` (bad input: an argument, setting or file) and an
``OSError`` from reading or writing the user's files are the user's to fix, and print as one line
``tadfuse: error: <message>`` (exit status 2, argparse's status for usage errors). Anything else
is a bug in tadfuse and keeps its traceback. ``--traceback`` shows the traceback of a user error
too.

Warnings: while a command runs, every warning prints as one line ``tadfuse: warning: <message>``
on stderr (no source path), each distinct message once. Commands that print notes (a dataset
summary, an evaluation table) leave out the notes already printed as warnings (`unwarned`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TextIO

from tadfuse.errors import TadfuseError, TadfuseWarning

__all__ = ["USER_ERRORS", "error_message", "report_warnings", "unwarned"]

#: Exception classes printed as ``tadfuse: error: <message>`` (exit status 2).
USER_ERRORS: tuple[type[BaseException], ...] = (TadfuseError, OSError)


def error_message(exc: BaseException) -> str:
    """The one-line message of a user error: an ``OSError`` that carries a file name and no
    message of ours reads ``<file>: <reason>``."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        msg = f"{os.fsdecode(exc.filename)}: {exc.strerror}"
        if exc.filename2 is not None:
            msg += f" (-> {os.fsdecode(exc.filename2)})"
    else:
        msg = str(exc)
    return _one_line(msg or type(exc).__name__)


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


class _WarningPrinter:
    """A ``warnings.showwarning`` that prints each distinct message once, as one line."""

    def __init__(self) -> None:
        self.shown: set[str] = set()

    def __call__(self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
        text = str(message)
        if text in self.shown:
            return
        self.shown.add(text)
        prefix = "" if issubclass(category, TadfuseWarning) else f"{category.__name__}: "
        print(f"tadfuse: warning: {prefix}{_one_line(text)}", file=sys.stderr if file is None else file)


_printer: ContextVar[_WarningPrinter | None] = ContextVar("tadfuse_cli_warnings", default=None)


@contextlib.contextmanager
def report_warnings() -> Iterator[None]:
    """Within this block, warnings print as ``tadfuse: warning: ...``, each message once; the
    warning filters and ``warnings.showwarning`` are restored afterwards."""
    printer = _WarningPrinter()
    token = _printer.set(printer)
    try:
        with warnings.catch_warnings():
            # tadfuse's own warnings always reach the printer (Python's per-location registry
            # would hide a repeat in another call of the same process); the printer dedupes.
            warnings.simplefilter("always", TadfuseWarning)
            warnings.showwarning = printer  # type: ignore[assignment]
            yield
    finally:
        _printer.reset(token)


def unwarned(notes: Iterable[Any]) -> list[str]:
    """``notes`` without those already printed as warnings by the enclosing `report_warnings`."""
    printer = _printer.get()
    shown = printer.shown if printer is not None else set()
    return [str(n) for n in notes if str(n) not in shown]
