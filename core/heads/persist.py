"""Save and load fitted heads without pickle.

A saved head is a directory::

    head.json      manifest: format, version, head type, classes
    head.skops     payload of scikit-learn heads (skops format)

``save_head`` asks the head to write its payload (``head._save(dir)``) and
then writes the manifest, last, so a directory with a manifest is complete.
``load_head`` reads the manifest, finds the head class among the *registered*
heads (never importing a module named by the file) and calls its
``_load(dir)``. Torch heads override ``_save``/``_load`` with their own safe
format (tensors + JSON); scikit-learn heads use skops, whose loader is given
only the types that belong to alabel's heads, scikit-learn, numpy and scipy.
"""
from __future__ import annotations

import json
from pathlib import Path

from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ..errors import DataError
from ..registry import concrete_descendants
from .base import Head

MANIFEST = "head.json"
SKOPS_FILE = "head.skops"
FORMAT = "alabel-head"
VERSION = 1

#: Module prefixes whose types a skops payload may contain.
TRUSTED_PREFIXES = ("alabel.core.heads.", "sklearn.", "numpy.", "scipy.")


def save_head(head: Head, path: str | Path) -> Path:
    """Write a fitted head into the directory ``path`` (created if needed).

    Parameters
    ----------
    head : Head
        A fitted head.
    path : str or Path
        Target directory; existing head files in it are replaced.

    Returns
    -------
    Path
        The directory.
    """
    check_is_fitted(head, "classes_")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    manifest_path = path / MANIFEST
    manifest_path.unlink(missing_ok=True)  # the manifest marks a complete save
    head._save(path)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "type": type(head).type_name,
        "classes": [str(c) for c in head.classes_.tolist()],
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
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


def skops_dump(head: Head, path: Path) -> None:
    """Write ``head`` as ``path/head.skops``."""
    import skops.io as sio  # imported here: skops loads every scikit-learn module (~2 s)

    sio.dump(head, path / SKOPS_FILE)


def skops_load(cls: type[Head], path: Path) -> Head:
    """Load ``path/head.skops``, trusting only types from the trusted packages.

    The head's own class is trusted too, so a registered plugin head defined
    outside alabel loads as well.
    """
    import skops.io as sio

    file = path / SKOPS_FILE
    if not file.is_file():
        raise DataError(f"{file}: not found")
    own = f"{cls.__module__}.{cls.__qualname__}"
    try:
        untrusted = sio.get_untrusted_types(file=file)
    except Exception as exc:  # skops raises several kinds on a damaged zip/schema
        raise DataError(f"{file}: unreadable skops file ({type(exc).__name__}: {exc})") from None
    refused = [t for t in untrusted if t != own and not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise DataError(f"{file}: refusing to load untrusted type {refused[0]!r}" + (
            f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""))
    return sio.load(file, trusted=list(untrusted))
