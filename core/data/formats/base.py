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

    def read(self, path: Path) -> pd.DataFrame:
        """Return the file's table; columns keep their names and order."""
        raise NotImplementedError

    def load(self, path: Path) -> pd.DataFrame:
        """``read`` with reader failures reported as DataError naming the file."""
        try:
            return self.read(Path(path))
        except self.read_errors as exc:
            raise DataError(
                f"{path}: cannot read as {self.type_name} ({type(exc).__name__}: {exc})"
            ) from None
