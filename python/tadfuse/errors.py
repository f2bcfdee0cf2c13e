"""The exceptions and warnings tadfuse raises for bad input, in one hierarchy.

Every error caused by what a caller passed (an argument, a file, a setting) is a
:class:`TadfuseError`, and also a ``ValueError`` or ``TypeError`` so that code written against the
built-in types keeps working. The command line prints exactly these (and ``OSError`` from reading
a user's file) as one line ``tadfuse: error: ...``; anything else is a bug and keeps its traceback.
Messages name the argument, setting or file at fault.

This module imports nothing from tadfuse, so every other module may import it.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataFormatError",
    "DataWarning",
    "EvaluationWarning",
    "InvalidArgumentError",
    "InvalidTypeError",
    "MissingExtraError",
    "TadfuseError",
    "TadfuseWarning",
]


class TadfuseError(Exception):
    """Base of every error tadfuse raises for bad input."""


class InvalidArgumentError(TadfuseError, ValueError):
    """An argument has a bad value (out of range, wrong shape, non-finite, unknown name)."""


class InvalidTypeError(TadfuseError, TypeError):
    """An argument has the wrong type (a string where a number is meant, a non-array)."""


class ConfigError(InvalidArgumentError):
    """A configuration key or value is unknown, malformed or would have no effect."""


class DataFormatError(InvalidArgumentError):
    """A dataset or result file is missing, malformed or inconsistent; the message names the file."""


class MissingExtraError(TadfuseError, ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


class TadfuseWarning(UserWarning):
    """Base of tadfuse's warnings (the command line prints them as ``tadfuse: warning: ...``)."""


class DataWarning(TadfuseWarning):
    """Something in a dataset was skipped or looks wrong; the message says what."""


class EvaluationWarning(TadfuseWarning):
    """Something in an evaluation's inputs was ignored or looks wrong; the message says what."""
