"""Base class of the table formats a data source can be read from."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd

from ...errors import DataError


class DataFormat:
    """Reads one kind of file into a pandas DataFrame.

    Subclasses declare ``type_name`` (the name used as ``format:`` in
    config.yaml), the file-name ``extensions`` it is inferred from, and the
    exceptions their reader raises on a corrupt file (``read_errors``), which
    ``load`` turns into a one-line :class:`DataError` naming the file.
    """

    #: Name under ``data.sources[i].format``.
    type_name: ClassVar[str] = ""
    #: Lower-case file-name endings (with the dot) this format is inferred from.
    extensions: ClassVar[tuple[str, ...]] = ()
    #: Exceptions the reader raises on an unreadable or corrupt file.
    read_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError, ValueError)

    def read(self, path: Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """Return the file's table; columns keep their names and order.

        ``text_columns`` (the id column) are read as text exactly as written
        where the file format stores text (CSV: ``025`` stays ``'025'``, never
        the number 25); formats whose files carry types may ignore it.
        """
        raise NotImplementedError

    def load(self, path: Path, *, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """``read`` with reader failures reported as DataError naming the file."""
        try:
            return self.read(Path(path), text_columns=tuple(text_columns))
        except self.read_errors as exc:
            raise DataError(
                f"{path}: cannot read as {self.type_name} ({type(exc).__name__}: {exc})"
            ) from None
