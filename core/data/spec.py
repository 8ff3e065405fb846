"""The ``data:`` section of config.yaml, validated into immutable objects.

``DataSpec.from_dict`` checks the whole section (keys, types, names of formats
and featurizers) before any file is opened, so a typo is reported in one line
that names the file and the key, not as a traceback halfway through loading.
``DataSpec.to_dict`` writes it back with paths relative to a folder, which is
what ``alabel export`` needs to ship a config next to its data.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..params import choice, validate

#: How rows with missing feature values are treated.
MISSING_POLICIES = ("impute", "drop")
#: Renderers the dashboard's detail view knows.
DETAIL_KINDS = ("image", "spectrum", "text", "table", "light_curve")

#: ``data.backend``: how the pool is held (declared once; validated with core/params).
BACKEND_PARAM = choice(
    "memory", ("memory", "dask"),
    "how the pool is held: memory (one table in this process, the default up to ~5M rows x 16 features) or "
    "dask (a folder of Parquet files read lazily per partition, for pools beyond memory)",
    label="Pool backend")

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class SourceSpec:
    """One table of the pool.

    Attributes
    ----------
    path
        Absolute path of the file (resolved against the config file's folder).
    format
        Declared format name (``csv``, ``parquet``, ``fits`` or a plugin), or
        None to infer it from the file's extension.
    sha256
        Expected content hash, checked on load; None skips the check.
    """

    path: Path
    format: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class EmbeddingSpec:
    """A column turned into numeric features by a registered featurizer."""

    column: str
    featurizer: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DetailSpec:
    """A column shown in the dashboard's detail view, and how to render it.

    ``columns`` names the other columns a renderer reads, by role (a light
    curve rebuilt from a star's period also needs its amplitude and Fourier
    terms: ``{amplitude: amplitude_I, R21: R21, ...}``); the renderer says
    which roles it knows.
    """

    column: str
    kind: str
    columns: Mapping[str, str] = field(default_factory=dict)

    @property
    def all_columns(self) -> tuple[str, ...]:
        """The column and the role columns (every column the renderer reads)."""
        return (self.column, *self.columns.values())


@dataclass(frozen=True)
class FeatureSpec:
    """The columns that become the model's features, by kind."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    arrays: tuple[str, ...] = ()
    embeddings: tuple[EmbeddingSpec, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every declared feature column, in declaration order."""
        return (
            self.numeric
            + self.categorical
            + self.arrays
            + tuple(e.column for e in self.embeddings)
        )


@dataclass(frozen=True)
class DataSpec:
    """Validated ``data:`` section of a config file.

    Attributes
    ----------
    sources
        One or more tables; later ones are left-joined onto the first on
        ``id_column``.
    id_column
        Column holding a unique id per object (present in every source).
    features
        Feature columns by kind.
    ground_truth
        Optional column holding known classes (the oracle of ``simulate``).
    missing
        ``"impute"`` keeps rows with missing features (NaN stays in ``X``);
        ``"drop"`` removes them.
    detail
        Columns shown in the detail view, with their renderer.
    hidden
        Columns never shown to the person labelling (ids or finer labels
        that give the class away); they cannot be features either. The
        ground-truth column is always hidden.
    root
        Folder that confines paths found in data columns; None means the
        first source's folder (see ``root_dir``).
    """

    sources: tuple[SourceSpec, ...]
    id_column: str
    features: FeatureSpec
    ground_truth: str | None = None
    missing: str = "impute"
    detail: tuple[DetailSpec, ...] = ()
    hidden: tuple[str, ...] = ()
    root: Path | None = None
    backend: str = "memory"

    @property
    def private_columns(self) -> set[str]:
        """Columns the dashboard never shows: ``hidden`` and the ground truth."""
        return set(self.hidden) | ({self.ground_truth} if self.ground_truth is not None else set())

    @property
    def root_dir(self) -> Path:
        """The folder confining data paths: ``root`` or the first source's folder."""
        return self.root if self.root is not None else self.sources[0].path.parent

    # ------------------------------------------------------------------ parse
    @classmethod
    def from_dict(cls, d: Any, *, where: str = "config.yaml", base_dir: Path) -> "DataSpec":
        """Validate a ``data:`` mapping and build the spec.

        Parameters
        ----------
        d
            The mapping under ``data:`` (as parsed from YAML).
        where
            Name of the file ``d`` came from, used in error messages.
        base_dir
            Folder relative paths are resolved against (the config's folder).

        Raises
        ------
        ConfigError
            On the first unknown key, wrong type, bad value or missing key.
        """
        return _Parser(where, Path(base_dir)).spec(d)

    # ------------------------------------------------------------------ write
    def to_dict(self, relative_to: Path) -> dict[str, Any]:
        """Return the spec as a plain mapping, paths relative to ``relative_to``.

        ``DataSpec.from_dict(spec.to_dict(folder), base_dir=folder)`` gives back
        an equal spec.
        """

        def rel(path: Path) -> str:
            return Path(os.path.relpath(path, Path(relative_to).absolute())).as_posix()

        sources = []
        for s in self.sources:
            item: dict[str, Any] = {"path": rel(s.path)}
            if s.format is not None:
                item["format"] = s.format
            if s.sha256 is not None:
                item["sha256"] = s.sha256
            sources.append(item)
        embeddings = []
        for e in self.features.embeddings:
            item = {"column": e.column, "featurizer": e.featurizer}
            if e.params:
                item["params"] = dict(e.params)
            embeddings.append(item)
        out: dict[str, Any] = {
            "sources": sources,
            "id_column": self.id_column,
            "features": {
                "numeric": list(self.features.numeric),
                "categorical": list(self.features.categorical),
                "arrays": list(self.features.arrays),
                "embeddings": embeddings,
            },
        }
        if self.ground_truth is not None:
            out["ground_truth"] = self.ground_truth
        out["missing"] = self.missing
        if self.detail:
            out["detail"] = [{"column": x.column, "kind": x.kind, **({"columns": dict(x.columns)} if x.columns else {})}
                             for x in self.detail]
        if self.hidden:
            out["hidden"] = list(self.hidden)
        if self.root is not None:
            out["root"] = rel(self.root)
        if self.backend != BACKEND_PARAM.default:
            out["backend"] = self.backend
        return out


class _Parser:
    """Walks the ``data:`` mapping, raising ConfigError at the first problem."""

    def __init__(self, where: str, base_dir: Path):
        self.where = where
        self.base_dir = base_dir.absolute()

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: {key}: {message}")

    # -- generic checks -----------------------------------------------------
    def mapping(self, value: Any, key: str, *, allowed: tuple[str, ...], required: tuple[str, ...] = ()):
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {_describe(value)}")
        for k in value:
            if k not in allowed:
                raise self.fail(
                    f"{key}.{k}",
                    f"unknown key{did_you_mean(k, allowed)}; known: {', '.join(allowed)}",
                )
        for k in required:
            if k not in value:
                raise self.fail(f"{key}.{k}", "required key missing")
        return value

    def string(self, value: Any, key: str, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected {what} (string), got {_describe(value)}")
        return value

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(
                key,
                f"expected one of {', '.join(choices)}, got {_describe(value)}"
                f"{did_you_mean(value, choices) if isinstance(value, str) else ''}",
            )
        return value

    def column_list(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of column names, got {_describe(value)}")
        return tuple(self.string(v, f"{key}[{i}]", "a column name") for i, v in enumerate(value))

    def path(self, value: Any, key: str) -> Path:
        text = self.string(value, key, "a path")
        # normpath, not resolve(): symlinks are kept as written so that
        # to_dict can write the same relative path back.
        return Path(os.path.normpath(self.base_dir / Path(text).expanduser()))

    # -- sections -------------------------------------------------------------
    def spec(self, d: Any) -> DataSpec:
        top = self.mapping(
            d,
            "data",
            allowed=("sources", "id_column", "features", "ground_truth", "missing", "detail", "hidden", "root",
                     "backend"),
            required=("sources", "id_column", "features"),
        )
        sources = self.sources(top["sources"])
        id_column = self.string(top["id_column"], "data.id_column", "a column name")
        features = self.features(top["features"])
        ground_truth = top.get("ground_truth")
        if ground_truth is not None:
            ground_truth = self.string(ground_truth, "data.ground_truth", "a column name")
        missing = self.choice(top.get("missing", "impute"), "data.missing", MISSING_POLICIES)
        detail = self.detail(top.get("detail"))
        hidden = self.column_list(top.get("hidden"), "data.hidden")
        root = top.get("root")
        root = self.path(root, "data.root") if root is not None else None
        self.cross_check(id_column, features, ground_truth)
        self.check_hidden(hidden, id_column, features, detail)
        backend = validate({"backend": BACKEND_PARAM}, {"backend": top.get("backend", BACKEND_PARAM.default)},
                           where=self.where, key="data", noun="key")["backend"]
        return DataSpec(
            backend=backend,
            sources=sources,
            id_column=id_column,
            features=features,
            ground_truth=ground_truth,
            missing=missing,
            detail=detail,
            hidden=hidden,
            root=root,
        )

    def sources(self, value: Any) -> tuple[SourceSpec, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("data.sources", f"expected a non-empty list of sources, got {_describe(value)}")
        out = []
        for i, item in enumerate(value):
            key = f"data.sources[{i}]"
            if isinstance(item, str):  # shorthand: just the path
                item = {"path": item}
            item = self.mapping(item, key, allowed=("path", "format", "sha256"), required=("path",))
            fmt = item.get("format")
            if fmt is not None:
                from .formats import format_class

                format_class(self.string(fmt, f"{key}.format", "a format name"), key=f"{key}.format", where=self.where)
            sha = item.get("sha256")
            if sha is not None and not (isinstance(sha, str) and _SHA256.match(sha)):
                raise self.fail(f"{key}.sha256", f"expected 64 hexadecimal digits, got {_describe(sha)}")
            out.append(SourceSpec(self.path(item["path"], f"{key}.path"), fmt, sha.lower() if sha else None))
        return tuple(out)

    def features(self, value: Any) -> FeatureSpec:
        key = "data.features"
        f = self.mapping(value, key, allowed=("numeric", "categorical", "arrays", "embeddings"))
        spec = FeatureSpec(
            numeric=self.column_list(f.get("numeric"), f"{key}.numeric"),
            categorical=self.column_list(f.get("categorical"), f"{key}.categorical"),
            arrays=self.column_list(f.get("arrays"), f"{key}.arrays"),
            embeddings=self.embeddings(f.get("embeddings")),
        )
        if not spec.columns:
            raise self.fail(key, "no feature columns declared (numeric, categorical, arrays or embeddings)")
        return spec

    def embeddings(self, value: Any) -> tuple[EmbeddingSpec, ...]:
        from .featurizers import featurizer_class

        key = "data.features.embeddings"
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of {{column, featurizer}} mappings, got {_describe(value)}")
        out = []
        for i, item in enumerate(value):
            k = f"{key}[{i}]"
            item = self.mapping(item, k, allowed=("column", "featurizer", "params"), required=("column", "featurizer"))
            column = self.string(item["column"], f"{k}.column", "a column name")
            name = self.string(item["featurizer"], f"{k}.featurizer", "a featurizer name")
            params = item.get("params") or {}
            if not isinstance(params, Mapping):
                raise self.fail(f"{k}.params", f"expected a mapping, got {_describe(params)}")
            cls = featurizer_class(name, key=f"{k}.featurizer", where=self.where)
            cls.validate_params(params, where=self.where, key=f"{k}.params")
            out.append(EmbeddingSpec(column, name, dict(params)))
        return tuple(out)

    def detail(self, value: Any) -> tuple[DetailSpec, ...]:
        key = "data.detail"
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of {{column, kind}} mappings, got {_describe(value)}")
        out = []
        for i, item in enumerate(value):
            k = f"{key}[{i}]"
            item = self.mapping(item, k, allowed=("column", "kind", "columns"), required=("column", "kind"))
            roles = item.get("columns") or {}
            if not isinstance(roles, Mapping):
                raise self.fail(f"{k}.columns", f"expected a mapping of role to column, got {_describe(roles)}")
            out.append(
                DetailSpec(
                    self.string(item["column"], f"{k}.column", "a column name"),
                    self.choice(item["kind"], f"{k}.kind", DETAIL_KINDS),
                    {str(role): self.string(c, f"{k}.columns.{role}", "a column name") for role, c in roles.items()},
                )
            )
        return tuple(out)

    def check_hidden(self, hidden: tuple[str, ...], id_column: str, features: FeatureSpec,
                     detail: tuple[DetailSpec, ...]) -> None:
        """A hidden column is neither the id, nor a feature, nor rendered in the detail view."""
        shown = {c: i for i, d in enumerate(detail) for c in d.all_columns}
        for i, column in enumerate(hidden):
            key = f"data.hidden[{i}]"
            if column == id_column:
                raise self.fail(key, f"{column!r} is the id_column, which the dashboard always shows")
            if column in features.columns:
                raise self.fail(key, f"{column!r} is a feature; a column that gives the class away must not be one")
            if column in shown:
                raise self.fail(key, f"{column!r} is also shown by data.detail[{shown[column]}]")

    def cross_check(self, id_column: str, features: FeatureSpec, ground_truth: str | None) -> None:
        """Reject columns declared twice, and the label or the id used as a feature."""
        seen: dict[str, str] = {}
        groups = {
            "numeric": features.numeric,
            "categorical": features.categorical,
            "arrays": features.arrays,
            "embeddings": tuple(e.column for e in features.embeddings),
        }
        for group, columns in groups.items():
            for i, column in enumerate(columns):
                key = f"data.features.{group}[{i}]"
                if group == "embeddings":
                    key += ".column"
                if column == ground_truth:
                    raise self.fail(key, f"{column!r} is the ground_truth column; the label must not be a feature")
                if column == id_column:
                    raise self.fail(key, f"{column!r} is the id_column; an id is not a feature")
                # Two featurizers on one text column are fine; a column listed
                # twice in the plain kinds would silently double its weight.
                if column in seen and group != "embeddings":
                    raise self.fail(key, f"column {column!r} is already declared in data.features.{seen[column]}")
                seen.setdefault(column, group)


def _describe(value: Any) -> str:
    """Short description of a bad value for an error message."""
    if isinstance(value, (Mapping, list)):
        return f"{'an empty' if not value else 'a'} {type(value).__name__}"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
