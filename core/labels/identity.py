"""Which session a store belongs to, so a store is never trained on by another session.

A store records, in its metadata, the identity of the session that labels
into it: the data's id column, a fingerprint of the pool's ids (order does
not matter), and the classes (with those added while labelling). When a
session opens the store (:meth:`IdentityMixin.claim`):

* a new store (or one written before identities existed) takes the
  session's identity;
* another id column or another set of ids means the store belongs to another
  session (``labels.store`` points at the wrong file): a one-line error;
* labels of classes the session does not list (``classes: ["0"]`` over a
  store of ten digits) are an error too, never silently added back; classes
  added while labelling (:meth:`IdentityMixin.note_added_class`) are the
  session's own and come back with it.

``labels.foreign_store`` overrides: ``allow`` opens such a store anyway and
leaves its record alone; ``adopt`` makes it this session's store (e.g. after
rows were added to the data on purpose), keeping its classes.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import LabelStoreError
from ..ids import id_text
from .backend import Journal

__all__ = ["FOREIGN_STORE_POLICIES", "StoreIdentity", "IdentityMixin", "fingerprint_ids"]

#: Values of ``labels.foreign_store``.
FOREIGN_STORE_POLICIES = ("refuse", "allow", "adopt")

_KEYS = {"id_column": "session.id_column", "fingerprint": "session.ids_fingerprint",
         "n_ids": "session.n_ids", "classes": "session.classes", "added": "session.classes_added"}


def fingerprint_ids(ids: Sequence) -> str:
    """sha256 of the sorted ids as text: the same for the same set of ids in any row order.

    Ids that give their sorted text block by block (``sorted_text()``: the
    integer ids of a Dask pool, :mod:`core.data.integer_ids`) are hashed so,
    to the same digest, without a Python string per id.
    """
    blocks = getattr(ids, "sorted_text", None)
    if blocks is None:
        text = sorted(map(id_text, ids))
        return hashlib.sha256("\n".join(text).encode("utf-8")).hexdigest()
    digest = hashlib.sha256()
    first = True
    for block in blocks():
        if block:
            digest.update(b"\n".join(block) if first else b"\n" + b"\n".join(block))
            first = False
    return digest.hexdigest()


@dataclass(frozen=True)
class StoreIdentity:
    """The session a store belongs to, as recorded in its metadata."""

    id_column: str
    fingerprint: str
    n_ids: int
    classes: tuple[str, ...] = ()
    #: Classes added while labelling (not from the config's ``classes:``).
    added: tuple[str, ...] = ()

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> StoreIdentity | None:
        if _KEYS["id_column"] not in meta:
            return None
        return cls(id_column=meta[_KEYS["id_column"]], fingerprint=meta[_KEYS["fingerprint"]],
                   n_ids=int(meta[_KEYS["n_ids"]]), classes=tuple(json.loads(meta[_KEYS["classes"]])),
                   added=tuple(json.loads(meta.get(_KEYS["added"], "[]"))))

    def to_metadata(self) -> dict[str, str]:
        return {_KEYS["id_column"]: self.id_column, _KEYS["fingerprint"]: self.fingerprint,
                _KEYS["n_ids"]: str(self.n_ids), _KEYS["classes"]: json.dumps(list(self.classes)),
                _KEYS["added"]: json.dumps(list(self.added))}


class IdentityMixin:
    """The identity operations of :class:`~core.labels.store.LabelStore`."""

    def identity(self) -> StoreIdentity | None:
        """The session identity the store records (None for a store no session has claimed)."""
        return self._db.read(lambda journal: StoreIdentity.from_metadata(journal.metadata()))

    def claim(self, *, id_column: str, ids: Sequence, classes: Sequence[str], foreign: str = "refuse",
              where: str = "config.yaml") -> list[str]:
        """Check that this store belongs to the session described, and record it as its store.

        Parameters
        ----------
        id_column, ids
            The data's id column and the pool's ids.
        classes
            The session's classes (from its config).
        foreign : {'refuse', 'allow', 'adopt'}
            ``labels.foreign_store``: what to do with a store of another session.
        where
            The config file, named in errors.

        Returns
        -------
        list of str
            The session's classes: ``classes`` plus those added while labelling
            (and, with ``allow``/``adopt``, the store's other classes).
        """
        classes = [id_text(c) for c in classes]
        mine = StoreIdentity(id_column=id_column, fingerprint=fingerprint_ids(ids), n_ids=len(ids))
        labelled = list(dict.fromkeys(self.current()["label"].astype(str)))

        def work(journal: Journal) -> list[str]:
            stored = StoreIdentity.from_metadata(journal.metadata())
            added = list(stored.added) if stored else []
            if stored is not None and foreign == "refuse":
                self._check_same_session(stored, mine, where)
            # No classes listed (any label accepted): nothing to compare.
            missing = [c for c in labelled if c not in classes and c not in added] if classes else []
            if missing and foreign == "refuse":
                shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
                raise LabelStoreError(
                    f"{where}: classes: the label store {self._db.name} holds labels of "
                    f"{len(missing)} class(es) the config does not list ({shown}); list them under "
                    "classes:, or point labels.store at this session's store, or set "
                    "labels.foreign_store: allow"
                )
            if foreign == "adopt":
                added += [c for c in missing if c not in added]
            final = list(dict.fromkeys(classes + [c for c in added + missing if c not in classes])) \
                if classes else []
            if foreign != "allow":
                journal.set_metadata(StoreIdentity(
                    id_column=mine.id_column, fingerprint=mine.fingerprint, n_ids=mine.n_ids,
                    classes=tuple(final), added=tuple(c for c in added if c not in classes)).to_metadata())
            return final

        return self._db.write(work)

    def _check_same_session(self, stored: StoreIdentity, mine: StoreIdentity, where: str) -> None:
        if stored.id_column != mine.id_column:
            why = f"its labels name objects by column {stored.id_column!r}, this data by {mine.id_column!r}"
        elif stored.fingerprint != mine.fingerprint:
            why = (f"it was made for data with {stored.n_ids} ids (fingerprint {stored.fingerprint[:12]}), "
                   f"this data has {mine.n_ids} other ids (fingerprint {mine.fingerprint[:12]})")
        else:
            return
        raise LabelStoreError(
            f"{where}: labels.store: {self._db.name} belongs to another session ({why}); point "
            "labels.store at this session's store, or set labels.foreign_store: adopt (the data "
            "changed on purpose) or allow (open it anyway)"
        )

    def note_added_class(self, name: str) -> None:
        """Record a class added while labelling, so the session gets it back when it reopens."""
        name = id_text(name)

        def work(journal: Journal) -> None:
            stored = StoreIdentity.from_metadata(journal.metadata())
            if stored is None or name in stored.added:
                return
            journal.set_metadata(StoreIdentity(
                id_column=stored.id_column, fingerprint=stored.fingerprint, n_ids=stored.n_ids,
                classes=tuple(dict.fromkeys([*stored.classes, name])),
                added=(*stored.added, name)).to_metadata())

        self._db.write(work)
