"""The label store: an append-only journal of label events, behind a backend interface.

Modules, one job each:

``events``    the event record, its vocabularies and the validation of a row into an event
``backend``   the storage interface (journal, leases, metadata, transactions) a backend implements
``sql``       the journal operations in plain SQL, shared by SQL backends
``sqlite``    the SQLite backend (WAL, synchronous=FULL, append-only triggers, schema, migrations)
``postgres``  the PostgreSQL backend (``postgresql://`` URLs, psycopg 3; a store shared by a team)
``store``     :class:`LabelStore`, the API the engine uses (record, retract, undo, confirm, views)
``views``     the precedence rules (which label of an object is in force)
``leases``    objects reserved for an annotator, freed when their owning server is gone
``identity``  which session a store belongs to (id column, ids fingerprint, classes)
``files``     import from CSV/Parquet, export, backup

Import from here (``from alabel.core.labels import LabelStore``); the
submodules are the seams, not the API.
"""
from .events import (
    CURRENT_COLUMNS, EVENT_COLUMNS, KINDS, ROW_FIELDS, SOURCE_RANK, SOURCES, SPLITS, LabelEvent,
    PseudoUpdate,
)
from .identity import FOREIGN_STORE_POLICIES, StoreIdentity
from .leases import anonymous_annotator
from .sqlite import SCHEMA_VERSION
from .store import LabelStore

__all__ = [
    "KINDS",
    "SOURCES",
    "SPLITS",
    "SOURCE_RANK",
    "SCHEMA_VERSION",
    "CURRENT_COLUMNS",
    "EVENT_COLUMNS",
    "ROW_FIELDS",
    "FOREIGN_STORE_POLICIES",
    "LabelEvent",
    "PseudoUpdate",
    "LabelStore",
    "StoreIdentity",
    "anonymous_annotator",
]
