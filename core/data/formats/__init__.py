"""Table formats a data source can be read from, looked up by name or extension.

Each format lives in its own module with a :class:`DataFormat` subclass that
declares ``type_name`` and ``extensions``; importing this package registers
the built-in ones. A user format is named by its dotted path in config.yaml.
"""
from __future__ import annotations

from pathlib import Path

from ...errors import DataError
from ...registry import concrete_descendants, resolve
from .base import DataFormat
from .csv_format import CsvFormat
from .fits_format import FitsFormat
from .parquet_format import ParquetFormat

__all__ = ["DataFormat", "CsvFormat", "ParquetFormat", "FitsFormat", "format_class", "format_for", "known_formats"]


def known_formats() -> dict[str, type[DataFormat]]:
    """Map ``type_name`` → class for every loaded format."""
    return concrete_descendants(DataFormat)


def format_class(name: str, *, key: str = "format", where: str = "config.yaml") -> type[DataFormat]:
    """The format registered as ``name`` (or a dotted path); ConfigError otherwise."""
    return resolve(DataFormat, name, key=key, where=where)


def format_for(path: Path, declared: str | None = None) -> DataFormat:
    """The format to read ``path`` with: the declared one, else by extension.

    Raises
    ------
    DataError
        When nothing is declared and no format claims the file's extension.
    """
    if declared is not None:
        return format_class(declared, where=str(path))()
    name = Path(path).name.lower()
    # Longest match first so ".fits.gz" wins over a shorter ending.
    candidates = sorted(
        ((ext, cls) for cls in known_formats().values() for ext in cls.extensions),
        key=lambda item: -len(item[0]),
    )
    for ext, cls in candidates:
        if name.endswith(ext):
            return cls()
    formats = known_formats()
    extensions = ", ".join(ext for cls in formats.values() for ext in cls.extensions)
    raise DataError(
        f"{path}: unknown format for this file extension; set data.sources[].format to one of "
        f"{', '.join(formats)} (known extensions: {extensions})"
    )
