"""The models folder (``labels.models``): one folder per saved model version and a history.

Written by the session (each published model, when models are kept) and read
by the session (the newest model after a restart) and by bundles
(``alabel export --with-model``). Versions are claimed across processes: two
``alabel train`` runs on one folder never write the same version.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import files
from .errors import DataError
from .heads.persist import load_head, save_head

#: One JSON record per saved model version (its summary), appended in version order.
HISTORY_FILE = "history.jsonl"


def model_folder_name(version) -> str:
    """The folder a saved model version lives in, inside ``labels.models``."""
    return f"model-v{int(version):05d}.skops"


class ModelsFolder:
    """Saved model versions of one session (``keep=False``: versions are numbered, nothing is written).

    Parameters
    ----------
    folder
        ``labels.models`` resolved against the config's folder.
    keep
        Whether published models are saved (the CLI and the dashboard keep
        them; simulations do not).
    """

    def __init__(self, folder: Path, *, keep: bool):
        self.folder = Path(folder)
        self.keep = keep
        # A record torn by a crash is skipped with a warning (core/files.py), not fatal.
        self.history: list[dict] = ([r for r in files.read_jsonl(self.folder / HISTORY_FILE)
                                     if isinstance(r.get("version"), int)] if keep else [])
        self._next = max((r["version"] for r in self.history), default=0) + 1

    def path(self, version: int) -> Path:
        return self.folder / model_folder_name(version)

    def allocate(self) -> int:
        """The next model version; with saved models, claimed across processes.

        Two ``alabel train`` runs on one models folder would otherwise both
        take ``last + 1``: the claim is the model folder itself, created with
        ``mkdir`` (atomic, fails if it exists), so each version has one owner.
        """
        version = self._next
        if self.keep:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                while True:
                    try:
                        self.path(version).mkdir()
                        break
                    except FileExistsError:
                        version += 1
            except OSError as exc:
                raise files.storage_error(self.path(version), exc) from None
        self._next = version + 1
        return version

    def save(self, head, summary: dict) -> None:
        """Write a published model's head and append its summary to the history."""
        path = self.path(summary["version"])
        try:
            save_head(head, path)
        except BaseException:
            _remove_if_empty(path)  # the version's claim: no empty model folder left behind
            raise
        files.append_line(self.folder / HISTORY_FILE, json.dumps(summary))

    def newest_record(self) -> dict | None:
        """The history record of the newest saved version (its model is not read)."""
        return self.history[-1] if self.history else None

    def latest(self):
        """``(record, head)`` of the newest saved version, or None when there is none on disk."""
        if not self.history:
            return None
        record = self.history[-1]
        path = self.path(record["version"])
        if not path.exists():
            return None
        return record, load_head(path)

    def damaged(self, record: dict, exc: Exception) -> DataError:
        """The one-line error for a history record that does not describe a model."""
        return DataError(f"{self.folder / HISTORY_FILE}: record of version {record.get('version')} is damaged "
                         f"({type(exc).__name__}: {exc}); retrain with alabel train")


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty (an older complete save) or already gone
