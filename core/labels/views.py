"""Reading the journal: the precedence rules and the views built on them.

:func:`resolve` turns the label events in force into the label of each
object (pure pandas over the rows a backend returns, so every backend gets
the same rules from one place); :class:`ViewsMixin` gives
:class:`~core.labels.store.LabelStore` its read API (current labels,
conflicts, the journal, counts), caching the precedence view per revision.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import LabelStoreError
from ..ids import id_text
from .events import (
    CURRENT_COLUMNS, EVENT_COLUMNS, ROW_COLUMNS, SOURCE_RANK, SOURCES, SPLITS, as_list, choice, frame,
    missing,
)


def resolve(live: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the precedence rules to the live label events (in write order).

    Rules: ``human`` beats ``catalogue`` and ``import``, which beat
    ``pseudo``; within a rank the latest event wins. An object is in conflict
    when annotators' latest human labels of it disagree (an annotator
    correcting their own label is no conflict).

    Returns
    -------
    current, conflicts
        One row per object (:data:`CURRENT_COLUMNS`), and each conflicting
        annotator's latest human label (object_id, annotator, label, event_id, time).
    """
    rank = live["source"].map(SOURCE_RANK)
    winners = (
        live.assign(_rank=rank.to_numpy())
        .sort_values(["_rank", "seq"], ascending=[True, False], kind="stable")
        .drop_duplicates("object_id", keep="first")
        .sort_values("seq", kind="stable")
    )
    # Each annotator's latest human label: a self-correction is not a conflict.
    human = live[live["source"] == "human"].drop_duplicates(["object_id", "annotator"], keep="last")
    n_labels = human.groupby("object_id")["label"].nunique()
    disputed = set(n_labels.index[n_labels > 1])
    current = winners.assign(conflict=winners["object_id"].isin(disputed).to_numpy())
    current = current.loc[:, list(CURRENT_COLUMNS)].reset_index(drop=True)
    conflicts = (
        human[human["object_id"].isin(disputed)]
        .sort_values(["object_id", "seq"], kind="stable")
        .loc[:, ["object_id", "annotator", "label", "event_id", "time"]]
        .reset_index(drop=True)
    )
    return current, conflicts


class ViewsMixin:
    """The read API of :class:`~core.labels.store.LabelStore`.

    Uses the store's ``_db``, ``_classes``, ``_cache`` and ``_cache_lock``.
    """

    @property
    def revision(self) -> int:
        """Monotonic journal position of the latest event (0 when empty).

        Changes with every event written by any process (leases do not
        count), so a trainer can poll it cheaply to detect new labels.
        """
        return self._db.read(lambda journal: journal.revision())

    def events(self) -> pd.DataFrame:
        """The full journal in write order (columns :data:`EVENT_COLUMNS`)."""
        return frame(self._db.read(lambda journal: journal.journal()), EVENT_COLUMNS)

    def history(self, object_id: Any) -> pd.DataFrame:
        """Every event about one object, in write order (columns :data:`EVENT_COLUMNS`)."""
        if missing(object_id):
            raise LabelStoreError(f"history: object id must not be missing, got {object_id!r}")
        return frame(self._db.read(lambda journal: journal.journal(id_text(object_id))), EVENT_COLUMNS)

    def _views(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(current labels, conflicts), recomputed only when the revision moved."""
        revision = self.revision
        with self._cache_lock:
            if self._cache is not None and self._cache[0] == revision:
                return self._cache[1], self._cache[2]
        # One snapshot: the rows are exactly those of the revision cached with them.
        revision, rows = self._db.read(lambda journal: (journal.revision(), journal.live(("label",))))
        current, conflicts = resolve(frame(rows, ROW_COLUMNS))
        with self._cache_lock:
            self._cache = (revision, current, conflicts)
        return current, conflicts

    def labelled_ids(self, sources: Iterable[str] = ("human", "catalogue", "import")) -> set[str]:
        """Objects with a live label from one of ``sources``, in either split.

        One indexed SQL query, without building the precedence view: the
        query path asks this at every label, on pools of millions of rows.
        With the default (every non-pseudo source) it is exactly the set of
        objects whose label in force is not a pseudo-label.
        """
        sources = [choice(s, SOURCES, "source", "labelled_ids: ") for s in as_list(sources)]
        if not sources:
            return set()
        return self._db.read(lambda journal: journal.live_object_ids(("label",), sources))

    def current(self, split: str | None = None, sources: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per labelled object: the label in force.

        Rules (``views.resolve``): retracted events are ignored; ``human`` beats
        ``catalogue`` and ``import``, which beat ``pseudo``; within a rank the
        latest event wins. ``conflict`` is True when annotators' latest human
        labels of the object disagree. ``skip``/``unsure``/``confirm`` events
        never hide a label.

        Parameters
        ----------
        split : {'train', 'test'}, optional
            Keep objects whose winning label is in this split.
        sources : iterable of str, optional
            Keep objects whose winning label comes from one of these sources
            (applied after precedence: ``sources=['pseudo']`` gives the objects
            labelled only by the model).

        Returns
        -------
        DataFrame
            Columns :data:`CURRENT_COLUMNS`, ordered by write time.
        """
        view, _ = self._views()
        mask = np.ones(len(view), dtype=bool)
        if split is not None:
            mask &= (view["split"] == choice(split, SPLITS, "split", "current: ")).to_numpy()
        if sources is not None:
            wanted = [choice(s, SOURCES, "source", "current: ") for s in as_list(sources)]
            mask &= view["source"].isin(wanted).to_numpy()
        return view[mask].reset_index(drop=True)

    def conflicts(self) -> pd.DataFrame:
        """Objects whose annotators disagree: each annotator's latest human label.

        Returns
        -------
        DataFrame
            Columns object_id, annotator, label, event_id, time; one row per
            (conflicting object, annotator).
        """
        _, conflicts = self._views()
        return conflicts.copy()

    def skipped(self, annotator: str | None = None) -> set[str]:
        """Ids of objects with a ``skip`` or ``unsure`` in force (by ``annotator``, or by anyone)."""
        return self._db.read(lambda journal: journal.live_object_ids(("skip", "unsure"), annotator=annotator))

    def counts(self, sources: Iterable[str] | None = None) -> pd.DataFrame:
        """Number of current labels per class and split.

        Returns
        -------
        DataFrame
            Index: class label (all configured classes, zero when unused);
            columns ``train`` and ``test`` (ints).
        """
        view = self.current(sources=sources)
        # A Counter, not pd.crosstab: the dashboard asks at every label revision and
        # crosstab's pivot machinery cost more than the precedence view itself (issue 12).
        pairs = Counter(zip(view["label"], view["split"]))
        labels = {label for label, _ in pairs}
        order = list(self._classes) if self._classes is not None else sorted(labels)
        extra = sorted(labels - set(order))  # labels recorded before classes were set
        index = order + extra
        table = pd.DataFrame({split: np.array([pairs.get((label, split), 0) for label in index], dtype="int64")
                              for split in SPLITS}, index=pd.Index(index, name="label"))
        return table

    def n_labels(
        self, split: str | None = "train", sources: Iterable[str] | None = ("human", "catalogue", "import")
    ) -> int:
        """Number of objects with a current label (``split=None``: both splits)."""
        return len(self.current(split=split, sources=sources))
