"""Session bundles through the browser: zip a bundle for download, open an uploaded one.

Downloads wrap :func:`alabel.core.bundle.export_bundle` (the same bundle
``alabel export`` writes) in a zip. Uploads are untrusted: members are
extracted only when their names stay inside the target folder (no absolute
paths, no ``..``, no links), within size limits, and the bundle's config is
validated before a session is opened on it. Nothing in a bundle is unpickled.
"""
from __future__ import annotations

import io
import shutil
import stat
import tempfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from alabel.core.errors import ConfigError

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
    from alabel.core.config import SessionConfig

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
        target = Path(uploads_dir) / f"{Path(name).stem}-{uuid.uuid4().hex[:8]}"
        target.mkdir(parents=True)
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
            SessionConfig.load(config_path)  # validate before any session opens it
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return config_path


def _check_member(member: zipfile.ZipInfo, name: str) -> None:
    path = PurePosixPath(member.filename.replace("\\", "/"))
    if member.filename.startswith(("/", "\\")) or path.is_absolute() or ".." in path.parts \
            or (path.parts and ":" in path.parts[0]):
        raise ConfigError(f"{name}: member {member.filename!r} points outside the bundle")
    mode = member.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise ConfigError(f"{name}: member {member.filename!r} is a link (not allowed in uploads)")
