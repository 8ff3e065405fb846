"""Exceptions raised by alabel's engine.

Every error a user can cause carries a one-line message that names the file,
the key or the column at fault, so a script (or the CLI's exit code) can act
on it and a person can fix it without reading a traceback.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class AlabelError(Exception):
    """Base class of every error alabel raises on purpose."""

    #: Exit code the ``alabel`` command uses for this kind of error.
    exit_code = 1

    def __init__(self, message: str):
        # One line, always: multi-line messages break log scrapers and the CLI.
        super().__init__(" ".join(str(message).split()))


class ConfigError(AlabelError):
    """A config.yaml (or layout) key is unknown, missing or of the wrong type."""

    exit_code = 2


class DataError(AlabelError):
    """A data file is missing, unreadable or does not match its declared columns."""

    exit_code = 3


class LabelStoreError(AlabelError):
    """The label store refused an operation (unknown class, bad split, ...)."""

    exit_code = 4


class NotReadyError(AlabelError):
    """An operation needs something that does not exist yet (a model, labels)."""

    exit_code = 5


class StaleModelError(NotReadyError):
    """A saved model was trained on other data (the data files or the feature columns changed)."""


class EmptyPoolError(AlabelError):
    """No unlabelled object is left to query."""

    exit_code = 6


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``.

    Case is ignored first ('bll' -> 'BLL'), since difflib scores a case change as a miss.
    """
    choices = [str(c) for c in choices]
    same = [c for c in choices if c.lower() == str(name).lower()]
    if same:
        return f" (did you mean {same[0]!r}?)"
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    if not close:
        lower = {c.lower(): c for c in choices}
        close = [lower[m] for m in difflib.get_close_matches(str(name).lower(), list(lower), n=1, cutoff=0.6)]
    return f" (did you mean {close[0]!r}?)" if close else ""


class StorageError(AlabelError):
    """A file could not be written or read back (disk full, read-only folder, torn file)."""

    exit_code = 1
