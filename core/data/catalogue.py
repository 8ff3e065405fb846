"""New catalogues: files outside the pool, read in chunks of bounded size.

``alabel score --data NEW`` applies a saved model to a file or a folder of
files. Each file is read ``chunk_rows`` rows at a time (Parquet by record
batch, CSV by pandas' ``chunksize``), so memory is bounded by the chunk, not
by the catalogue. Formats without a streaming reader here (FITS, plugins)
are read whole, one file at a time.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pandas as pd

from ..errors import DataError
from .formats import format_for, known_formats


class ChunkReader:
    """Reads one format in chunks; subclasses register by ``format_name``."""

    format_name: ClassVar[str] = ""

    def columns(self, path: Path) -> list[str]:
        """The file's column names (cheap: header or schema only)."""
        raise NotImplementedError

    def n_rows(self, path: Path) -> int | None:
        """Row count when the file says it cheaply, else None."""
        return None

    def chunks(self, path: Path, columns: tuple[str, ...], rows: int, id_column: str) -> Iterator[pd.DataFrame]:
        raise NotImplementedError


class ParquetChunks(ChunkReader):
    format_name = "parquet"

    def columns(self, path: Path) -> list[str]:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)

    def n_rows(self, path: Path) -> int | None:
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows

    def chunks(self, path, columns, rows, id_column):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=list(dict.fromkeys(columns))):
            yield batch.to_pandas()


class CsvChunks(ChunkReader):
    format_name = "csv"

    def columns(self, path: Path) -> list[str]:
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]

    def chunks(self, path, columns, rows, id_column):
        # Ids as written (as the pool's CSV reader does): "025" stays "025".
        yield from pd.read_csv(path, usecols=list(dict.fromkeys(columns)), dtype={id_column: str}, chunksize=rows)


class WholeFile(ChunkReader):
    """Any registered format, read whole and cut into chunks (no streaming reader)."""

    def __init__(self, fmt):
        self.fmt = fmt

    def columns(self, path: Path) -> list[str]:
        return [str(c) for c in self.fmt.load(path).columns]

    def chunks(self, path, columns, rows, id_column):
        frame = self.fmt.load(path, text_columns=(id_column,))
        frame.columns = [str(c) for c in frame.columns]
        for start in range(0, len(frame), rows):
            yield frame.iloc[start:start + rows]


def reader_for(path: Path) -> ChunkReader:
    """The chunk reader of ``path``'s format (inferred from its extension)."""
    fmt = format_for(path, None)
    for cls in ChunkReader.__subclasses__():
        if cls.format_name and cls.format_name == fmt.type_name:
            return cls()
    return WholeFile(fmt)


def catalogue_files(path: Path) -> list[Path]:
    """The data files of ``--data``: the file itself, or a folder's readable files in name order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: --data: no such file or folder")
    extensions = tuple(ext for cls in known_formats().values() for ext in cls.extensions)
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(extensions)
                   and not p.name.startswith("."))
    if not files:
        raise DataError(f"{path}: --data: the folder holds no data file ({', '.join(extensions)})")
    return files

