"""Session bundles: a folder a colleague can open to get the same session.

A bundle holds ``config.yaml`` (every path relative to the bundle), the label
store (an online SQLite backup, so the journal with its event ids, annotators
and splits comes along), ``labels.csv`` for people, and either a copy of the
data files (``data="copy"``) or relative pointers to them (``data="link"``).
Files referenced from data columns (images, spectra) are copied with the data
when they lie under the data root.

A copied bundle also holds ``alabel-bundle.json``: a config beside it is
loaded confined (:meth:`SessionConfig.load`), so a bundle someone else edited
cannot read or write outside its folder nor import a module. Everything is
written into a fresh folder that is removed again if the export fails.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

from .config import BUNDLE_MARKER, SessionConfig
from .errors import ConfigError, NotReadyError
from .files import read_jsonl, storage_error, write_text


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
    try:
        out.mkdir(parents=True, exist_ok=True)
        return _write_bundle(config, out, data=data, with_model=with_model, store=store, classes=classes)
    except BaseException as exc:
        # Nothing half-written: the folder was empty (or absent) before, so it all goes.
        shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, OSError):
            raise storage_error(getattr(exc, "filename", None) or out, exc) from None
        raise


def _write_bundle(config: SessionConfig, out: Path, *, data: str, with_model: bool, store,
                  classes: list[str] | None) -> Path:
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
    if data == "copy":
        # A self-contained bundle: whoever opens it gets a confined session (paths inside the
        # folder, registered types only). A linked one points at data outside by design and
        # is opened as a plain config (an upload of it is still confined, and refused).
        write_text(out / BUNDLE_MARKER, json.dumps({"format": "alabel-bundle", "version": 1}) + "\n")
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
    """Copy the newest complete saved model (a folder) and the history up to it."""
    from .heads.persist import MANIFEST
    from .models_folder import HISTORY_FILE, model_folder_name

    records = read_jsonl(models_dir / HISTORY_FILE)
    complete = [i for i, r in enumerate(records) if isinstance(r.get("version"), int)
                and (models_dir / model_folder_name(r.get("version")) / MANIFEST).is_file()]
    if not complete:
        raise NotReadyError(f"{models_dir}: no saved model to include (run alabel train first)")
    last = complete[-1]
    name = model_folder_name(records[last]["version"])
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(models_dir / name, dest / name)
    write_text(dest / HISTORY_FILE, "".join(json.dumps(r) + "\n" for r in records[:last + 1]))


__all__ = ["export_bundle"]
