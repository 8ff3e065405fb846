"""Writes that cannot tear: every file alabel writes beside the store goes through here.

A file is written to a temporary name in its own folder, flushed to disk
(``fsync``) and renamed over the target, so a reader sees the old file or the
new one, never half of one, even after a crash or a full disk. Appends to
journals (``models/history.jsonl``) first close a line a crash left open, and
readers skip such a torn line with a warning instead of failing.

Every ``OSError`` becomes a one-line :class:`StorageError` naming the file.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from .errors import StorageError

log = logging.getLogger(__name__)


def storage_error(path: str | os.PathLike, exc: OSError, action: str = "cannot write") -> StorageError:
    """A one-line error naming ``path`` and the operating system's reason."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return StorageError(f"{path}: {action} ({reason})")


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders; the rename itself is still atomic
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    For writers that want a file name (``DataFrame.to_csv``, ``Figure.savefig``).
    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        _remove_quietly(tmp)
        raise storage_error(path, exc) from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append one line to a journal file, durably.

    A line left without its newline by a crash is closed first, so the new
    record never glues onto the torn one.
    """
    path = Path(path)
    data = line.rstrip("\n").encode("utf-8") + b"\n"
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise storage_error(path, exc) from None


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Records of a JSON-lines journal; a torn or damaged line is skipped with a warning."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise storage_error(path, exc, "cannot read") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            log.warning("%s: line %d is torn or damaged (an interrupted write?); skipped", path, number)
            continue
        records.append(record)
    return records


def replace_dir(staged: Path, target: Path) -> None:
    """Move the finished folder ``staged`` to ``target`` (replacing an empty or older one)."""
    try:
        for child in staged.rglob("*"):
            if child.is_file():
                with open(child, "rb+") as fh:
                    os.fsync(fh.fileno())
        fsync_dir(staged)
        try:
            os.replace(staged, target)  # atomic onto a missing or empty folder
        except OSError:
            if not target.is_dir():
                raise
            trash = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(target, trash)
            os.replace(staged, target)
            shutil.rmtree(trash, ignore_errors=True)
        fsync_dir(target.parent)
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise storage_error(target, exc) from None


def staging_dir(target: Path) -> Path:
    """A fresh folder beside ``target`` to write into before :func:`replace_dir`."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise storage_error(target, exc) from None


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
