"""Session bundles through the browser: zip a bundle for download, open an uploaded one.

Downloads wrap :func:`alabel.core.bundle.export_bundle` (the same bundle
``alabel export`` writes) in a zip. Uploads are untrusted: members are
extracted only when their names stay inside the target folder (no absolute
paths, no ``..``, no links), within size limits, and the bundle's config is
validated before a session is opened on it. An upload is always confined
(:data:`BUNDLE_MARKER` is written into it): every path in its config stays in
its folder and only registered types load unless the operator allows plugins
(``alabel serve --allow-plugins``). Nothing in a bundle is unpickled, and an
upload's folder is deleted on failure, when its session closes, or at exit.
"""
from __future__ import annotations

import atexit
import io
import os
import socket
import shutil
import threading
import stat
import tempfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from alabel.core.errors import ConfigError

#: Written into each upload folder: ``PID HOST`` of the server that owns it.
OWNER_FILE = ".alabel-upload-owner"
#: Refuse uploads that would extract to more than this many bytes.
MAX_UNPACKED_BYTES = 4 * 1024**3
#: Refuse uploads with more members than this.
MAX_MEMBERS = 200_000


def bundle_zip(session, *, data: str = "copy") -> bytes:
    """The session's bundle (config, labels, data) as zip bytes."""
    with tempfile.TemporaryDirectory(prefix="alabel-bundle-") as tmp:
        folder = Path(tmp) / "bundle"
        session.export_bundle(folder, data=data)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
        return buffer.getvalue()


def labels_file(session, suffix: str) -> bytes:
    """The current labels as CSV or Parquet bytes (``suffix`` ``.csv`` or ``.parquet``)."""
    with tempfile.TemporaryDirectory(prefix="alabel-labels-") as tmp:
        path = session.export_labels(Path(tmp) / f"labels{suffix}")
        return path.read_bytes()


def unpack_bundle(data: bytes, uploads_dir: Path, *, name: str = "bundle.zip") -> Path:
    """Extract an uploaded bundle zip safely; returns the path of its ``config.yaml``.

    Raises
    ------
    ConfigError
        When the upload is not a zip, holds an unsafe member, is too large, or
        has no ``config.yaml`` (or its config does not validate).
    """
    from alabel.core.config import BUNDLE_MARKER, SessionConfig

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ConfigError(f"{name}: not a zip file (download a bundle with the session panel)") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ConfigError(f"{name}: too many files ({len(members)})")
        if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise ConfigError(f"{name}: unpacks to more than {MAX_UNPACKED_BYTES // 1024**3} GB")
        for member in members:
            _check_member(member, name)
        configs = [m.filename for m in members if PurePosixPath(m.filename).name == "config.yaml"]
        if not configs:
            raise ConfigError(f"{name}: no config.yaml in the bundle")
        top = min(configs, key=lambda f: len(PurePosixPath(f).parts))
        remove_orphaned_uploads(uploads_dir)
        target = Path(uploads_dir) / f"{Path(name).stem}-{uuid.uuid4().hex[:8]}"
        target.mkdir(parents=True)
        (target / OWNER_FILE).write_text(f"{os.getpid()} {socket.gethostname()}\n")
        try:
            for member in members:
                destination = target.joinpath(*PurePosixPath(member.filename).parts)
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(destination, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            config_path = target.joinpath(*PurePosixPath(top).parts)
            # Every later load of this config (the hub's, a reload) is confined too.
            (config_path.parent / BUNDLE_MARKER).write_text('{"format": "alabel-bundle", "uploaded": true}\n')
            SessionConfig.load(config_path, confine=True)  # validate before any session opens it
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    _track_upload(target)
    return config_path


_UPLOADS: set[Path] = set()
_UPLOADS_LOCK = threading.Lock()


def _track_upload(folder: Path) -> None:
    with _UPLOADS_LOCK:
        if not _UPLOADS:
            atexit.register(remove_uploads)
        _UPLOADS.add(Path(folder))


def remove_upload(config_path: str | Path) -> None:
    """Delete the folder of an uploaded bundle (its session is done)."""
    folder = _upload_folder(Path(config_path))
    if folder is None:
        return
    with _UPLOADS_LOCK:
        _UPLOADS.discard(folder)
    shutil.rmtree(folder, ignore_errors=True)


def remove_uploads() -> None:
    """Delete every upload of this process (server exit)."""
    with _UPLOADS_LOCK:
        folders = list(_UPLOADS)
        _UPLOADS.clear()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def remove_orphaned_uploads(uploads_dir: str | Path) -> None:
    """Delete uploads left by a server of this host that is no longer running (killed, crashed)."""
    folder = Path(uploads_dir)
    if not folder.is_dir():
        return
    for upload in folder.iterdir():
        try:
            pid, host = (upload / OWNER_FILE).read_text().split()
            pid = int(pid)
        except (OSError, ValueError):
            continue  # not one of ours, or being written right now
        if host != socket.gethostname() or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(upload, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


def _upload_folder(config_path: Path) -> Path | None:
    with _UPLOADS_LOCK:
        for folder in _UPLOADS:
            if config_path.resolve().is_relative_to(folder.resolve()):
                return folder
    return None


def open_upload(data: bytes, uploads_dir: Path, *, name: str = "bundle.zip"):
    """Unpack an uploaded bundle and open its hub; the upload is deleted when the hub closes.

    Returns
    -------
    (config path, ServerHub)
    """
    from .hub import open_hub

    config_path = unpack_bundle(data, uploads_dir, name=name)
    try:
        hub = open_hub(config_path)
    except BaseException:
        remove_upload(config_path)
        raise
    hub.on_close(lambda: remove_upload(config_path))
    return config_path, hub


def _check_member(member: zipfile.ZipInfo, name: str) -> None:
    path = PurePosixPath(member.filename.replace("\\", "/"))
    if member.filename.startswith(("/", "\\")) or path.is_absolute() or ".." in path.parts \
            or (path.parts and ":" in path.parts[0]):
        raise ConfigError(f"{name}: member {member.filename!r} points outside the bundle")
    mode = member.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise ConfigError(f"{name}: member {member.filename!r} is a link (not allowed in uploads)")
