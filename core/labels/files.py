"""Labels in and out of files: import a table, export labels or the journal, back the store up."""
from __future__ import annotations

import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import LabelStoreError, did_you_mean
from ..ids import id_text
from .events import SOURCES, LabelEvent, choice

__all__ = ["FilesMixin", "label_rows", "read_label_table"]


def read_label_table(path: Path) -> pd.DataFrame:
    """A label file (``.csv`` or ``.parquet``) as a DataFrame; CSV cells stay text."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise LabelStoreError(f"{path}: no such file to import labels from")
    try:
        if suffix == ".csv":
            # Everything as text: ids such as "007" must keep their zeros.
            return pd.read_csv(path, dtype=str)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise LabelStoreError(f"{path}: cannot read labels ({exc})") from exc
    raise LabelStoreError(f"{path}: unknown label file format {suffix or '(none)'!r} (use .csv or .parquet)")


def label_rows(frame_or_path: pd.DataFrame | str | os.PathLike, *, id_column: str = "object_id",
               label_column: str = "label", split_column: str | None = None,
               confidence_column: str | None = None, time_column: str | None = None,
               known_ids: Collection[Any] | None = None,
               where: str | None = None) -> tuple[pd.DataFrame, str]:
    """A label table's rows under the store's field names, checked, and where they came from.

    Checks what needs no store (columns present, ids and labels not missing,
    ids in the data), so a command can refuse a bad file before it creates a
    store for it. The class of each label is the store's to check. ``where``
    names a DataFrame in messages (a file is named by its path).
    """
    if isinstance(frame_or_path, pd.DataFrame):
        table, where = frame_or_path, where or "DataFrame"
    else:
        path = Path(frame_or_path).expanduser()
        table, where = read_label_table(path), str(path)
    wanted = {"object_id": id_column, "label": label_column, "split": split_column,
              "confidence": confidence_column, "time": time_column}
    columns = [str(c) for c in table.columns]
    for column in wanted.values():
        if column is not None and column not in table.columns:
            raise LabelStoreError(
                f"{where}: no column {column!r}{did_you_mean(column, columns)} "
                f"(columns: {', '.join(columns)})"
            )
    for column in (id_column, label_column):
        empty = table[column].isna().to_numpy().nonzero()[0]
        if len(empty):
            raise LabelStoreError(f"{where}: column {column!r} is empty in data row {empty[0] + 1}")
    if known_ids is not None:
        known = {id_text(k) for k in known_ids}
        ids = table[id_column].map(id_text)
        stray = (~ids.isin(known)).to_numpy().nonzero()[0]
        if len(stray):
            raise LabelStoreError(
                f"{where}: column {id_column!r} names {len(stray)} object(s) not in the data, "
                f"first {ids.iloc[stray[0]]!r} in data row {stray[0] + 1}"
            )
    rows = pd.DataFrame({field: table[column] for field, column in wanted.items() if column is not None})
    return rows, where


class FilesMixin:
    """The file operations of :class:`~core.labels.store.LabelStore`.

    Uses the store's ``_db``, ``path``, ``events``, ``current`` and ``_record_rows``.
    """

    def export(self, path: str | os.PathLike, *, include_events: bool = False) -> Path:
        """Write the current labels (or the whole journal) to ``.csv`` or ``.parquet``.

        Returns
        -------
        Path
            The written file.
        """
        path = Path(path).expanduser()
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet", ".pq"):
            raise LabelStoreError(f"{path}: unknown export format {suffix or '(none)'!r} (use .csv or .parquet)")
        if not path.parent.is_dir():
            raise LabelStoreError(f"{path}: folder {path.parent} does not exist")
        table = self.events() if include_events else self.current()
        try:
            if suffix == ".csv":
                table.to_csv(path, index=False)
            else:
                table.to_parquet(path, index=False)
        except OSError as exc:
            raise LabelStoreError(f"{path}: cannot write labels ({exc})") from exc
        return path

    def backup(self, dest_path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Copy the whole store to ``dest_path`` (consistent even while others write).

        The copy is a self-contained SQLite file that :class:`LabelStore` opens.
        """
        dest = Path(dest_path).expanduser()
        if self.path is not None and dest.resolve() == self.path.resolve():
            raise LabelStoreError(f"{dest}: cannot back up a label store onto itself")
        if not dest.parent.is_dir():
            raise LabelStoreError(f"{dest}: folder {dest.parent} does not exist")
        if dest.exists():
            if not overwrite:
                raise LabelStoreError(f"{dest}: already exists (pass overwrite=True to replace it)")
            dest.unlink()
        self._db.backup(dest)
        return dest

    def import_labels(
        self,
        frame_or_path: pd.DataFrame | str | os.PathLike,
        *,
        source: str = "import",
        annotator: str = "import",
        id_column: str = "object_id",
        label_column: str = "label",
        split: str = "train",
        split_column: str | None = None,
        confidence_column: str | None = None,
        time_column: str | None = None,
        known_ids: Collection[Any] | None = None,
        event_id: Callable[[], str] | None = None,
        where: str | None = None,
    ) -> list[LabelEvent]:
        """Record labels from a table (CSV/Parquet file or DataFrame), all or nothing.

        Every row is checked (columns present, ids and labels not missing,
        classes known) before anything is written; on any error the store is
        unchanged and the message names the file and the column. ``event_id``
        makes each row's event id (default: a UUID); an id can say how the
        objects were chosen (``core.evaluation.estimates.random_sample_event_id``).
        ``where`` names a DataFrame in messages: a command that has already read
        and checked a file (:func:`label_rows`) passes its rows and the file's name.

        Returns
        -------
        list of LabelEvent
            The recorded events, one per row.
        """
        rows, where = label_rows(frame_or_path, id_column=id_column, label_column=label_column,
                                 split_column=split_column, confidence_column=confidence_column,
                                 time_column=time_column, known_ids=known_ids, where=where)
        choice(source, SOURCES, "source", f"{where}: ")
        if event_id is not None:
            rows["event_id"] = [event_id() for _ in range(len(rows))]
        return self._record_rows(
            rows,
            defaults={"annotator": annotator, "source": source, "split": split, "kind": "label"},
            where=f"{where}: ",
        )
