"""Query planning: which objects go in front of a person next, and why.

One object answers every "what next?" of a session (``Session.query``):

* the **candidates**: rows not labelled by people, not held out, not leased to
  another annotator and not skipped by this one;
* a **training batch**: the strategy's picks from the newest model, plus the
  uniformly random audit and test picks whose labels measure accuracy without
  the strategy's bias (:mod:`core.evaluation.estimates`);
* a **test-set draw**: random candidates, optionally within rows a caller
  chose (the dashboard's filters), labelled into the held-out split;
* the **leases** that keep two annotators off the same object, and their
  release.

It reads the label store and the pool, never writes labels: recording them is
the session's job.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np

from ..errors import EmptyPoolError
from ..evaluation import estimates
from ..records import ModelVersion, QueryItem
from .base import PoolContext, QueryStrategy

#: Sources of labels that count as given by people (never queried again).
PEOPLE_SOURCES = ("human", "catalogue", "import")

_AUDIT_REASON = "random audit pick: its label also measures accuracy without the strategy's bias"
_TEST_REASON = "random pick for the test split (never trained on)"


class QueryPlanner:
    """Plans query batches and test draws over one pool and one label store.

    Parameters
    ----------
    pool
        The session's pool (``ids``, ``X``).
    store
        The label store (read: labelled objects, leases, skips; write: leases only).
    excluded
        Boolean mask of rows that are never queried (an oracle's evaluation rows).
    audit_fraction, test_fraction
        Shares of random audit and test picks in a training batch.
    lease_s
        How long a queried object stays reserved for its annotator.
    seed
        Seeds the planner's random stream (random picks, strategy ties).
    where
        The config file, for messages.
    """

    def __init__(self, pool, store, *, excluded: np.ndarray, audit_fraction: float, test_fraction: float,
                 lease_s: float, seed: int, where: str):
        self.pool = pool
        self.store = store
        self.excluded = excluded
        self.audit_fraction = audit_fraction
        self.test_fraction = test_fraction
        self.lease_s = lease_s
        self.where = where
        self.in_audit = estimates.audit_mask(pool.ids, audit_fraction)
        # numpy generators are not thread-safe and several tabs query at once.
        self._rng = np.random.default_rng(seed)
        self._rng_lock = threading.Lock()

    # -- what may be asked --------------------------------------------------------------
    def rows_of(self, object_ids: Iterable) -> np.ndarray:
        """Pool rows of ``object_ids`` (-1 for ids the pool does not have)."""
        return self.pool.rows_of(object_ids)  # the pool's own index: no copy of it per planner

    def labelled_rows(self, sources: Iterable[str] = PEOPLE_SOURCES) -> np.ndarray:
        """Pool rows labelled from ``sources`` (either split), in pool order.

        Sorted because the store answers with a set, whose order follows Python's
        per-process string hashing: strategies that cluster the labelled rows with
        the candidates (k-means initialisation depends on row order) would otherwise
        pick differently in two runs with the same seed.
        """
        rows = self.rows_of(self.store.labelled_ids(sources))
        return np.sort(rows[rows >= 0])

    def candidate_mask(self, annotator: str, *, labelled_rows: np.ndarray | None = None) -> np.ndarray:
        """Rows that may be queried for ``annotator``.

        Pseudo-labelled rows stay candidates: a person's label overrides a
        pseudo-label. ``labelled_rows`` lets a caller use one snapshot of the
        store for the mask and for what it does next.
        """
        mask = ~self.excluded.copy()
        mask[self.labelled_rows() if labelled_rows is None else labelled_rows] = False
        blocked = set(self.store.leased_by_others(annotator)) | set(self.store.skipped(annotator))
        if blocked:
            rows = self.rows_of(blocked)
            mask[rows[rows >= 0]] = False
        return mask

    # -- batches -------------------------------------------------------------------------
    def plan(self, n: int, *, annotator: str, strategy: QueryStrategy, model: ModelVersion | None,
             split: str = "train", within: np.ndarray | None = None, within_label: str = "",
             lease: bool = True) -> list[QueryItem]:
        """The next ``n`` objects for ``annotator``.

        ``split="train"``: the strategy's picks (and the random audit/test
        share). ``split="test"``: random candidates only, labelled into the
        held-out split; ``within`` (a boolean row mask) narrows the draw and
        ``within_label`` says how, in the reason shown to the person.
        """
        if split == "test":
            return self._draw_test(n, annotator=annotator, model=model, within=within,
                                   within_label=within_label, lease=lease)
        if split != "train":
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return self._plan_training(n, annotator=annotator, strategy=strategy, model=model, lease=lease)

    def _plan_training(self, n: int, *, annotator: str, strategy: QueryStrategy, model: ModelVersion | None,
                       lease: bool) -> list[QueryItem]:
        # One snapshot of the labelled rows: a label committed by another tab between two
        # reads would otherwise be both a candidate and labelled.
        labelled_rows = self.labelled_rows()
        candidates = np.flatnonzero(self.candidate_mask(annotator, labelled_rows=labelled_rows))
        if len(candidates) == 0:
            raise EmptyPoolError(f"{self.where}: every object is labelled, held out or leased")
        n_test = len(self.store.current(split="test")) if self.test_fraction else 0
        with self._rng_lock:
            picks = estimates.plan_random_picks(
                candidates, self.in_audit, min(n, len(candidates)), n_labelled=len(labelled_rows),
                n_audit_labelled=int(self.in_audit[labelled_rows].sum()), n_test_labelled=n_test,
                audit_fraction=self.audit_fraction, test_fraction=self.test_fraction,
                rng=self._rng, audit_start=strategy.audit_start())
            # (row, score, strategy, reason, split), best first; random picks go last.
            offers = []
            if picks.n_strategy:
                context = PoolContext(X=self.pool.X, candidates=picks.candidates, labelled=labelled_rows,
                                      model=model.head if model else None,
                                      proba=model.proba if model else None, rng=self._rng)
                # Ask for a few more than needed: another annotator may lease some first.
                wanted = picks.n_strategy + 8 if lease else picks.n_strategy
                selection = strategy.select(context, min(len(picks.candidates), wanted))
                offers += [(row, score, selection.strategy,
                            selection.reason if rank == 0 else f"rank {rank + 1} by {selection.strategy}",
                            "train")
                           for rank, (row, score) in enumerate(zip(selection.indices, selection.scores))]
        offers += [(row, 0.0, "audit", _AUDIT_REASON, "train") for row in picks.audit]
        offers += [(row, 0.0, "test", _TEST_REASON, "test") for row in picks.test]
        quota = {"train": picks.n_strategy, "audit": len(picks.audit), "test": len(picks.test)}
        return self._lease_offers(offers, quota, annotator=annotator, model=model, lease=lease)

    def _draw_test(self, n: int, *, annotator: str, model: ModelVersion | None, within: np.ndarray | None,
                   within_label: str, lease: bool) -> list[QueryItem]:
        mask = self.candidate_mask(annotator)
        if within is not None:
            mask &= np.asarray(within, dtype=bool)
        rows = np.flatnonzero(mask)
        if not len(rows):
            where = f" {within_label}" if within_label else (" within the chosen rows" if within is not None
                                                              else "")
            raise EmptyPoolError(f"{self.where}: no unlabelled object{where} left for the test set")
        with self._rng_lock:
            rows = self._rng.choice(rows, size=min(len(rows), n), replace=False)
        reason = "random draw for the held-out test set" + (f" {within_label}" if within_label else "")
        offers = [(row, 0.0, "test set", reason, "test") for row in rows]
        return self._lease_offers(offers, {"test set": len(offers)}, annotator=annotator, model=model,
                                  lease=lease)

    def _lease_offers(self, offers: list[tuple], quota: dict, *, annotator: str, model: ModelVersion | None,
                      lease: bool) -> list[QueryItem]:
        """Lease the offers, keeping per kind as many as its quota (one store write, surplus never held)."""
        ids = [str(self.pool.ids[offer[0]]) for offer in offers]
        kinds = [offer[2] if offer[2] in quota and offer[2] != "train" else "train" for offer in offers]

        def within_quota(granted: Iterable[str]) -> list[int]:
            granted, left, chosen = set(granted), dict(quota), []
            for i, (object_id, kind) in enumerate(zip(ids, kinds)):
                if object_id in granted and left.get(kind, 0) > 0:
                    left[kind] -= 1
                    chosen.append(i)
            return chosen

        granted = self.store.lease(ids, annotator, ttl_s=self.lease_s,
                                   keep=lambda ok: [ids[i] for i in within_quota(ok)]) if lease else ids
        items = []
        for i in within_quota(granted):
            row, score, strategy, reason, split = offers[i]
            items.append(QueryItem(
                object_id=ids[i], row=int(row), score=float(score), strategy=strategy, reason=reason,
                model_version=model.version if model else None,
                prediction=model.predict_row(int(row)) if model is not None else None, split=split,
            ))
        return items

    def release(self, object_ids: Iterable, annotator: str) -> None:
        """Give leased objects back (a tab closed, changed annotator or mode)."""
        object_ids = [str(o) for o in object_ids]
        if object_ids:
            self.store.release(object_ids, annotator)
