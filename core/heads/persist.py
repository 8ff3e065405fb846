"""Save and load fitted heads without pickle.

A saved head is a directory::

    head.json      manifest: format, version, head type, classes
    head.skops     payload of scikit-learn heads (skops format)

``save_head`` asks the head to write its payload (``head._save(dir)``) and
the manifest into a staging folder, then renames it into place: a model
folder is complete or absent.
``load_head`` reads the manifest, finds the head class among the *registered*
heads (never importing a module named by the file) and calls its
``_load(dir)``. Torch heads override ``_save``/``_load`` with their own safe
format (tensors + JSON); scikit-learn heads use skops.

A skops payload is untrusted input, checked before anything is built
(:mod:`core.heads.skops_payload`).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .. import files
from ..errors import DataError
from ..registry import concrete_descendants
from .base import Head
from .skops_payload import SKOPS_FILE  # noqa: F401  (re-exported: the payload file beside the manifest)

MANIFEST = "head.json"
FORMAT = "alabel-head"
VERSION = 1


def save_head(head: Head, path: str | Path) -> Path:
    """Write a fitted head into the directory ``path`` (created if needed).

    The head is written into a staging folder beside ``path`` and moved into
    place only when complete, so a crash or a full disk never leaves a
    half-written model under ``path``.

    Parameters
    ----------
    head : Head
        A fitted head.
    path : str or Path
        Target directory; an existing head in it is replaced.

    Returns
    -------
    Path
        The directory.

    Raises
    ------
    StorageError
        When the files cannot be written (one line naming the folder).
    """
    check_is_fitted(head, "classes_")
    path = Path(path)
    staged = files.staging_dir(path)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "type": type(head).type_name,
        "classes": [str(c) for c in head.classes_.tolist()],
    }
    try:
        head._save(staged)
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise files.storage_error(path, exc) from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    files.replace_dir(staged, path)
    return path


def load_head(path: str | Path) -> Head:
    """Read a head written by :func:`save_head`.

    Raises
    ------
    DataError
        When the directory is no saved head, names an unregistered head type,
        or its payload holds a type outside the trusted packages.
    """
    path = Path(path)
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{manifest_path}: not found (not a saved alabel head)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{manifest_path}: unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{manifest_path}: format: expected {FORMAT!r}")
    if manifest.get("version") != VERSION:
        raise DataError(f"{manifest_path}: version: {manifest.get('version')!r} is not supported (expected {VERSION})")
    registry = concrete_descendants(Head)
    head_type = manifest.get("type")
    if head_type not in registry:
        raise DataError(
            f"{manifest_path}: type: {head_type!r} is not a registered head "
            "(import the module that defines it before loading)"
        )
    cls = registry[head_type]
    head = cls._load(path)
    if not isinstance(head, cls):
        raise DataError(f"{path}: payload holds a {type(head).__name__}, manifest says {head_type!r}")
    try:
        check_is_fitted(head, "classes_")
    except NotFittedError:
        raise DataError(f"{path}: the saved head is not fitted") from None
    return head
