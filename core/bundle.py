"""Session bundles: a folder a colleague can open to get the same session.

A bundle holds ``config.yaml`` (every path relative to the bundle), the label
store (an online SQLite backup, so the journal with its event ids, annotators
and splits comes along), ``labels.csv`` for people, and either a copy of the
data files (``data="copy"``) or relative pointers to them (``data="link"``).
Files referenced from data columns (images, spectra) are copied with the data
when they lie under the data root.
"""
from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path

from .config import SessionConfig
from .errors import ConfigError


def export_bundle(config: SessionConfig, out_dir: str | Path, *, data: str = "copy",
                  with_model: bool = False, store=None, classes: list[str] | None = None) -> Path:
    """Write the session described by ``config`` to ``out_dir``.

    Parameters
    ----------
    config
        The session's config.
    out_dir
        Bundle folder; created, and must be empty if it exists.
    data
        ``"copy"`` the data into ``out_dir/data`` or ``"link"`` to it.
    with_model
        Also copy the newest saved model and the model history.
    store
        An open label store (default: the one at ``config.store_path``).
    classes
        The session's current classes (classes added while labelling).
    """

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: bundle folder is not empty; choose a new folder")
    if data not in ("copy", "link"):
        raise ConfigError(f"--data: {data!r} is not one of copy, link")
    out.mkdir(parents=True, exist_ok=True)
    exported = copy.deepcopy(config)
    if classes:
        exported = exported.with_classes(classes)
    if data == "copy":
        exported.data = _copy_data(config, out / "data")
    store = store or config.open_store()
    store.backup(out / "labels.sqlite")
    store.export(out / "labels.csv")
    exported.labels = dataclasses.replace(exported.labels, store="labels.sqlite", models="models")
    exported.base_dir = out.resolve()
    if with_model:
        _copy_models(config.models_dir, out / "models")
    exported.save(out / "config.yaml")
    return out / "config.yaml"


def _copy_data(config: SessionConfig, data_dir: Path):
    """Copy the source files (and files referenced under the data root) into ``data_dir``."""
    spec = config.data
    root = spec.root_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    sources = []
    for source in spec.sources:
        src = Path(source.path).resolve()
        try:
            rel = src.relative_to(root)
        except ValueError:  # a source outside the root: keep it flat beside the others
            rel = Path(src.name)
        dest = data_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        sources.append(dataclasses.replace(source, path=dest.resolve()))
    _copy_referenced_files(config, root, data_dir)
    return dataclasses.replace(spec, sources=tuple(sources), root=data_dir.resolve())


def _copy_referenced_files(config: SessionConfig, root: Path, data_dir: Path) -> None:
    """Copy files named in path-like detail columns (image, spectrum files) under the root."""
    from .data import load_pool

    path_columns = [d.column for d in config.data.detail if d.kind in ("image", "spectrum")]
    if not path_columns:
        return
    pool = load_pool(config.data, cache_dir=config.cache_dir)
    for column in path_columns:
        values = pool.frame[column]
        for value in values[values.map(lambda v: isinstance(v, str))].unique():
            src = pool.resolve_path(value)  # refuses paths escaping the root
            if not src.is_file():
                continue
            dest = data_dir / src.resolve().relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)


def _copy_models(models_dir: Path, dest: Path) -> None:
    history = models_dir / "history.jsonl"
    if not history.exists():
        raise ConfigError(f"{models_dir}: no saved model to include (run alabel train first)")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(history, dest / "history.jsonl")
    models = sorted(models_dir.glob("model-v*"))
    if models:
        shutil.copy2(models[-1], dest / models[-1].name)


__all__ = ["export_bundle"]
