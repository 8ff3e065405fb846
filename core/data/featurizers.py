"""Featurizers: turn a column (text, arrays, ...) into a block of numeric features.

A featurizer is a small class that declares ``type_name`` and implements
``transform(values) -> (N, d) float32``. ``featurize`` wraps it with an on-disk
cache keyed by the featurizer, its parameters and the content of the column,
so an expensive embedding is computed once per data set, not once per start.

Built-in featurizers live here (``passthrough``, ``tfidf``) or in optional
plugin modules listed in ``_PLUGIN_MODULES`` (``text_embeddings`` provides
``minilm``); those are imported lazily by :func:`featurizer_class`.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..params import Param, defaults, integer, validate
from ..registry import resolve

#: Optional modules (inside this package) that register more featurizers.
_PLUGIN_MODULES = ("text_embeddings",)
#: Why an optional plugin module could not be imported (module → message).
_plugin_failures: dict[str, str] = {}
_plugins_loaded = False


class Featurizer:
    """Base class: maps a pandas Series to an ``(N, d)`` float32 matrix.

    Subclasses declare ``type_name`` and ``params_spec`` (every accepted
    parameter, :mod:`core.params` declarations) and implement either ``transform`` for vectorised work
    or ``transform_batch`` for work done in chunks (the base ``transform`` then
    shows a progress bar). ``__init__`` only stores and checks parameters,
    like a scikit-learn estimator, so a spec can be validated cheaply.
    """

    #: Name under ``data.features.embeddings[].featurizer``.
    type_name: ClassVar[str] = ""
    #: Accepted parameters (type, default, bounds, doc).
    params_spec: ClassVar[dict[str, Param]] = {}
    #: Bump when the output of ``transform`` changes, to invalidate caches.
    version: ClassVar[str] = "1"
    #: Rows per ``transform_batch`` call.
    batch_size: ClassVar[int] = 256
    #: True when the output depends on the whole column it is fitted on (TF-IDF's
    #: vocabulary): rows outside the pool cannot be embedded the same way.
    fitted_on_column: ClassVar[bool] = False

    def __init__(self, **params: Any):
        # Python-style errors for Python callers; config.yaml goes through validate_params.
        unknown = sorted(set(params) - set(self.params_spec))
        if unknown:
            known = ", ".join(self.params_spec) or "none"
            raise TypeError(
                f"featurizer {self.type_name!r} got unknown parameter(s) {', '.join(unknown)}; known: {known}"
            )
        for name, value in params.items():
            problem = self.params_spec[name].problem(value)
            if problem:
                raise ValueError(f"featurizer {self.type_name!r}: {name} {problem}")
        self.params: dict[str, Any] = {**defaults(self.params_spec), **params}

    @classmethod
    def validate_params(cls, params: Any, *, where: str, key: str) -> dict:
        """Check ``params`` (as written in config.yaml); ConfigError naming ``where`` and ``key``."""
        return dict(validate(cls.params_spec, params, where=where, key=key,
                             owner=f" for featurizer {cls.type_name!r}", fill=False))

    def transform(self, values: pd.Series) -> np.ndarray:
        """Return an ``(len(values), d)`` float32 matrix for the column."""
        blocks = [self.transform_batch(batch) for batch in self._batches(values)]
        if not blocks:
            raise DataError(f"featurizer {self.type_name!r}: empty column")
        return np.concatenate(blocks).astype(np.float32, copy=False)

    def transform_batch(self, values: pd.Series) -> np.ndarray:
        """Features of one chunk of rows (for featurizers that work in chunks)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither transform nor transform_batch")

    def cache_key(self) -> str:
        """Hex digest identifying this featurizer's output for a given input."""
        payload = json.dumps(
            {"type": self.type_name, "version": self.version, "params": self.params},
            sort_keys=True,
            default=repr,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def _batches(self, values: pd.Series) -> Iterator[pd.Series]:
        """Chunks of ``values`` with a progress bar when the run is long."""
        from tqdm.auto import tqdm

        n = len(values)
        starts = range(0, n, self.batch_size)
        # disable=None: tqdm draws only on a terminal, so logs and tests stay clean.
        quiet = True if len(starts) <= 4 else None
        for start in tqdm(starts, desc=f"featurizing ({self.type_name})", unit="batch", disable=quiet):
            yield values.iloc[start : start + self.batch_size]


# --------------------------------------------------------------------------- built-ins
class PassthroughFeaturizer(Featurizer):
    """A column whose cells are equal-length 1-D arrays, stacked into a matrix."""

    type_name = "passthrough"

    def transform(self, values: pd.Series) -> np.ndarray:
        return stack_arrays(values, column=str(values.name))


class TfidfFeaturizer(Featurizer):
    """Text → TF-IDF word n-grams → truncated SVD (LSA), L2-normalised.

    A CPU-only text featurizer that needs no model download: a good default
    when ``minilm`` (sentence embeddings) is not installed. Fitted on the whole
    column, which is the pool itself (no labels are used).
    """

    fitted_on_column = True

    type_name = "tfidf"
    params_spec = {
        "n_components": integer(128, "dimensions kept by the truncated SVD", low=1, label="Dimensions"),
        "max_features": integer(50000, "largest vocabulary (most frequent n-grams)", low=1,
                                label="Vocabulary size"),
        "ngram_max": integer(2, "longest word n-gram", low=1, label="Longest n-gram"),
        "min_df": integer(2, "n-grams in fewer documents are dropped", low=1, label="Minimum documents"),
        "random_state": integer(0, "seed of the SVD", label="Seed"),
    }

    def transform(self, values: pd.Series) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        p = self.params
        text = values.fillna("").astype(str).tolist()
        tfidf = TfidfVectorizer(
            ngram_range=(1, p["ngram_max"]),
            min_df=min(p["min_df"], len(text)),
            max_features=p["max_features"],
            sublinear_tf=True,
            dtype=np.float32,
        ).fit_transform(text)
        k = min(p["n_components"], tfidf.shape[1] - 1, len(text) - 1)
        if k < 1:
            raise DataError(f"featurizer 'tfidf': column {values.name!r} has too little text to embed")
        svd = TruncatedSVD(n_components=k, random_state=p["random_state"])
        return normalize(svd.fit_transform(tfidf)).astype(np.float32)


def stack_arrays(values: pd.Series, *, column: str, where: str = "") -> np.ndarray:
    """Stack a column of equal-length 1-D arrays/lists into ``(N, d)`` float32.

    A missing cell (None/NaN) becomes a row of NaN: missing stays missing.

    Raises
    ------
    DataError
        When cells have different lengths, are not 1-D, or are not numeric.
    """
    prefix = f"{where}: " if where else ""
    cells = values.to_numpy(dtype=object)
    fast = _stack_uniform(cells)
    if fast is not None:
        return fast
    # Slow path: find missing cells, ragged rows or non-numbers and say where.
    present = np.fromiter((_is_array(c) for c in cells), dtype=bool, count=len(cells))
    if not present.any():
        raise DataError(f"{prefix}column {column!r}: no row holds an array (expected a list/array per row)")
    bad_scalar = ~present & ~pd.isna(pd.Series(cells, dtype=object)).to_numpy()
    if bad_scalar.any():
        row = int(np.flatnonzero(bad_scalar)[0])
        raise DataError(f"{prefix}column {column!r}: row {row} holds {cells[row]!r}, not a 1-D array or list")
    lengths = np.fromiter(
        (len(c) if p else -1 for c, p in zip(cells, present)), dtype=np.int64, count=len(cells)
    )
    d = int(lengths[present][0])
    ragged = present & (lengths != d)
    if ragged.any():
        row = int(np.flatnonzero(ragged)[0])
        raise DataError(
            f"{prefix}column {column!r}: arrays of different lengths ({d} in the first row, {lengths[row]} in row {row})"
        )
    out = np.full((len(cells), d), np.nan, dtype=np.float32)
    try:
        out[present] = np.stack([np.asarray(c, dtype=np.float32) for c in cells[present]])
    except (TypeError, ValueError) as exc:
        raise DataError(f"{prefix}column {column!r}: arrays must hold numbers ({exc})") from None
    return out


def _stack_uniform(cells: np.ndarray) -> np.ndarray | None:
    """Vectorised stacking when every cell is a numeric 1-D array of one length; else None."""
    if len(cells) == 0 or not _is_array(cells[0]):
        return None
    try:
        lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    except TypeError:  # a missing (None/NaN) cell
        return None
    d = int(lengths[0])
    if d == 0 or (lengths != d).any():
        return None
    try:
        flat = np.concatenate(list(cells))
    except ValueError:  # a cell with more than one dimension
        return None
    if flat.ndim != 1 or flat.dtype.kind not in "biuf":
        return None
    return flat.astype(np.float32, copy=False).reshape(len(cells), d)


def _is_array(cell: Any) -> bool:
    return isinstance(cell, (list, tuple, np.ndarray)) and np.ndim(cell) == 1


# --------------------------------------------------------------------------- lookup
def featurizer_class(name: str, *, key: str = "featurizer", where: str = "config.yaml") -> type[Featurizer]:
    """The featurizer class registered as ``name`` (or a dotted path).

    Optional plugin modules are imported on the first lookup; if one could not
    be imported (a missing optional dependency), an unknown name says so.
    """
    _load_plugins()
    try:
        return resolve(Featurizer, name, key=key, where=where)
    except ConfigError as exc:
        if not _plugin_failures:
            raise
        notes = "; ".join(f"optional module {m} is unavailable: {why}" for m, why in _plugin_failures.items())
        raise ConfigError(f"{exc} ({notes}; install it with: pip install 'alabel[text]')") from None


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in _PLUGIN_MODULES:
        qualified = f"{__package__}.{module}"
        try:
            importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                continue  # the plugin module itself is not part of this install
            _plugin_failures[module] = str(exc)
        except ImportError as exc:
            _plugin_failures[module] = str(exc)


# --------------------------------------------------------------------------- caching
def column_digest(values: pd.Series) -> str:
    """Content hash of a column (values and order, not its name or index)."""
    h = hashlib.sha256()
    cells = values.to_numpy(dtype=object)
    if any(_is_array(c) for c in cells[:1000]) or any(_is_array(c) for c in cells[-1000:]):
        for cell in cells:
            if _is_array(cell):
                arr = np.ascontiguousarray(cell, dtype=np.float64)
                h.update(b"A%d:" % arr.size)
                h.update(arr.tobytes())
            else:
                h.update(b"N" if pd.isna(cell) else b"S" + repr(cell).encode())
    else:
        # Vectorised 64-bit hash per row (fixed key, so stable across runs),
        # plus the length so a prefix never collides with the whole.
        h.update(str(len(values)).encode())
        h.update(pd.util.hash_pandas_object(values.reset_index(drop=True), index=False).to_numpy().tobytes())
    return h.hexdigest()


def featurize(featurizer: Featurizer, values: pd.Series, *, cache_dir: Path | None = None) -> np.ndarray:
    """Run ``featurizer`` on a column, reusing an on-disk result when there is one.

    Parameters
    ----------
    featurizer
        The featurizer instance.
    values
        The column (its name is used in error messages).
    cache_dir
        Folder of cached ``.npy`` results; None disables caching.

    Returns
    -------
    numpy.ndarray
        ``(len(values), d)`` float32 matrix.
    """
    column = str(values.name)
    path = None
    if cache_dir is not None:
        name = f"{featurizer.type_name}-{featurizer.cache_key()}-{column_digest(values)[:32]}.npy"
        path = Path(cache_dir) / name
        if path.is_file():
            try:
                cached = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                cached = None  # a damaged cache file is recomputed and overwritten
            if cached is not None and cached.ndim == 2 and len(cached) == len(values):
                return cached.astype(np.float32, copy=False)
    out = np.asarray(featurizer.transform(values))
    if out.ndim != 2 or len(out) != len(values):
        raise DataError(
            f"featurizer {featurizer.type_name!r} on column {column!r} returned shape {out.shape}, "
            f"expected ({len(values)}, d)"
        )
    out = out.astype(np.float32, copy=False)
    if path is not None:
        _save_atomic(path, out)
    return out


def _save_atomic(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
