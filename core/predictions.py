"""Per-object predictions of a model version, as a table for ``alabel score``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError


def score_table(session, model) -> pd.DataFrame:
    """Prediction, class probabilities and uncertainty measures for every pool row."""
    table = prediction_columns(session.pool.ids, model.proba, model.classes)
    current = session.labels(split=None, sources=None)
    label = np.full(session.pool.n, None, dtype=object)
    source = np.full(session.pool.n, None, dtype=object)
    label[current["row"].to_numpy()] = current["label"].to_numpy()
    source[current["row"].to_numpy()] = current["source"].to_numpy()
    table["label"] = label
    table["label_source"] = source
    table["model_version"] = model.version
    return table


def prediction_columns(ids, proba: np.ndarray, classes) -> pd.DataFrame:
    """id, prediction, one ``proba_<class>`` per class and the uncertainty measures."""
    from .strategies import scores

    classes = [str(c) for c in classes]
    table = pd.DataFrame({"id": ids, "prediction": np.asarray(classes, dtype=object)[proba.argmax(axis=1)]})
    for j, name in enumerate(classes):
        table[f"proba_{name}"] = proba[:, j]
    table["uncertainty"] = scores.least_confidence(proba)
    # scores.margin is "higher = more uncertain" (negative margin); report the margin itself.
    table["margin"] = -scores.margin(proba)
    table["entropy"] = scores.entropy(proba)
    return table


def check_output_path(path: str | Path) -> str:
    """The output format of ``path`` (``.csv`` or ``.parquet``), or a one-line ConfigError."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(f"{path}: unknown output format {suffix or '(none)'!r}; use .csv or .parquet")
    return suffix


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write CSV or Parquet by the file's extension (atomically: never a half-written file)."""
    from .files import atomic_path

    path = Path(path)
    suffix = check_output_path(path)
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    return path


# ------------------------------------------------------------------ new catalogues
#: Rows per chunk when scoring a catalogue outside the pool: bounds the memory of ``alabel score --data``.
CATALOGUE_CHUNK_ROWS = 200_000


def saved_head(session, version: int | None = None):
    """The head of saved model ``version`` (default: the newest) of a session, and its version."""
    return saved_head_in(session.config, version)


def saved_head_in(config, version: int | None = None):
    """The head of saved model ``version`` (default: the newest) in ``config``'s models folder.

    Needs no pool (a Dask pool is never loaded whole).

    Raises
    ------
    NotReadyError
        When no model was saved yet, or ``version`` is not one of them.
    """
    from . import files
    from .errors import NotReadyError
    from .heads.persist import load_head
    from .models_folder import HISTORY_FILE, model_folder_name

    history = files.read_jsonl(config.models_dir / HISTORY_FILE) if (config.models_dir / HISTORY_FILE).exists() else []
    versions = [int(r["version"]) for r in history if isinstance(r.get("version"), int)]
    if not versions:
        raise NotReadyError(f"{config.source}: no saved model yet: run alabel train first")
    if version is None:
        version = versions[-1]
    path = config.models_dir / model_folder_name(version)
    if version not in versions or not path.exists():
        known = ", ".join(f"v{v}" for v in versions)
        raise NotReadyError(f"{config.models_dir}: --model: no saved model v{version} (saved: {known})")
    return load_head(path), version


@dataclass
class CatalogueScore:
    """What ``score_catalogue`` wrote."""

    outputs: list[Path]
    rows: int
    unseen_categories: int


def output_path(source: Path, out_dir: Path) -> Path:
    """One Parquet file per input file, named after it (``part-3.csv`` → ``part-3.parquet``)."""
    name = source.name
    for suffix in reversed(source.suffixes):
        name = name[: -len(suffix)] if name.endswith(suffix) else name
    return Path(out_dir) / f"{name or source.name}.parquet"


def score_catalogue(head, encoding, files, out_dir, *, model_version: int, chunk_rows: int = CATALOGUE_CHUNK_ROWS,
                    progress=None) -> CatalogueScore:
    """Score every row of ``files`` with ``head``; write ``out_dir/<file>.parquet`` per input file.

    Every file's columns are checked before any row is scored, so a bad file
    fails in one line before hours of work. Rows are read, encoded
    (:class:`~core.data.encoding.FeatureEncoding`, the pool's layout) and
    scored ``chunk_rows`` at a time; each output file is written beside its
    final name and renamed when complete.

    Parameters
    ----------
    progress
        Called with the number of rows of each chunk done (e.g. ``tqdm.update``).
    """
    from .data.catalogue import reader_for

    readers = [(Path(f), reader_for(Path(f))) for f in files]
    for path, reader in readers:
        encoding.check_columns(_read(path, reader.columns, path), path)
    outputs, rows, unseen = [], 0, 0
    for path, reader in readers:
        target = output_path(path, out_dir)
        n, u = _score_file(head, encoding, path, reader, target, model_version, chunk_rows, progress)
        outputs.append(target)
        rows += n
        unseen += u
    return CatalogueScore(outputs=outputs, rows=rows, unseen_categories=unseen)


def score_catalogue_on_dask(client, head, encoding, files, out_dir, *, model_version: int,
                            chunk_rows: int = CATALOGUE_CHUNK_ROWS, progress=None) -> CatalogueScore:
    """``score_catalogue`` with one Dask task per file (partition), run on ``client``'s cluster.

    A worker holds one chunk of one file at a time: its memory is bounded by
    ``chunk_rows``, not by the file or the catalogue.
    """
    from distributed import as_completed

    from .data.catalogue import reader_for

    files = [Path(f) for f in files]
    for path in files:
        encoding.check_columns(_read(path, reader_for(path).columns, path), path)
    targets = [output_path(p, out_dir) for p in files]
    head_future = client.scatter(head, broadcast=True)
    futures = [client.submit(_score_one, head_future, encoding, str(p), str(t), model_version, chunk_rows,
                             key=f"alabel-score-{i}-{p.name}", pure=False)
               for i, (p, t) in enumerate(zip(files, targets))]
    rows = unseen = 0
    try:
        for future in as_completed(futures):
            n, u = future.result()
            rows += n
            unseen += u
            if progress is not None:
                progress(n)
    finally:
        client.cancel(futures)
    return CatalogueScore(outputs=targets, rows=rows, unseen_categories=unseen)


def _score_one(head, encoding, path: str, target: str, model_version: int, chunk_rows: int) -> tuple[int, int]:
    from .data.catalogue import reader_for

    path = Path(path)
    return _score_file(head, encoding, path, reader_for(path), Path(target), model_version, chunk_rows, None)


def _score_file(head, encoding, path, reader, target, model_version, chunk_rows, progress) -> tuple[int, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .files import atomic_path
    from .ids import ids_as_text
    from .training.retrain import predict_proba_chunked

    rows = unseen = 0
    writer = None
    with atomic_path(target) as tmp:
        try:
            chunks = reader.chunks(path, encoding.columns, chunk_rows, encoding.spec.id_column)
            while (frame := _read(path, next, chunks, None)) is not None:
                X, u = encoding.encode(frame, path)
                proba = predict_proba_chunked(head, X)
                table = prediction_columns(ids_as_text(frame[encoding.spec.id_column]), proba, head.classes_)
                table["model_version"] = model_version
                batch = pa.Table.from_pandas(table, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, batch.schema)
                writer.write_table(batch)
                rows += len(frame)
                unseen += u
                if progress is not None:
                    progress(len(frame))
            if writer is None:  # an empty file still gets its (empty) output
                pq.write_table(pa.Table.from_pandas(
                    prediction_columns([], np.zeros((0, len(head.classes_)), np.float32), head.classes_)
                    .assign(model_version=model_version), preserve_index=False), tmp)
        finally:
            if writer is not None:
                writer.close()
    return rows, unseen


def _read(path, func, *args):
    """``func(*args)`` with a reader's failure as one DataError naming the file."""
    from .errors import DataError

    try:
        return func(*args)
    except DataError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path}: cannot read ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
