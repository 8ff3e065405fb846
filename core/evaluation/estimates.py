"""Honest accuracy estimates for the user, with an uncertainty interval.

Labels chosen by a query strategy are not a random sample: accuracy measured
on them (out of fold) says how the model does on the *hard* rows the strategy
asked about, usually well below its accuracy on the data. Two mechanisms give
an estimate without that bias:

* **held-out test labels** (``labels.test_fraction``): a share of the queries
  is drawn uniformly at random and labelled into the test split; they never
  train the model, and the model is evaluated on them.
* **audit labels** (``labels.audit_fraction``, the default session's choice):
  a fixed, seeded *audit set* of rows (a share of the pool picked by a hash of
  the object id) is never offered to the strategy; a matching share of the
  queries is drawn uniformly from it. Audit labels train the model like any
  other label, and the accuracy on them is measured by a model that did not
  see them (the ``auto`` head's own out-of-fold predictions, else a model
  refitted without them). Because they are a uniform sample of the pool, that
  accuracy is an unbiased estimate for a model trained on slightly fewer labels
  (so, if anything, a little pessimistic), at no cost in training labels.
  Audit picks begin once the strategy's cold-start phase is over (the
  ``auto`` strategy's ``explore_labels``): two audit labels among the first
  twenty would give an interval spanning most of [0, 1], while two more
  coverage picks measurably help the first model.

Labels imported from a uniform random sample of the data (``alabel label --from
FILE --chosen random``) count as audit labels too: their event ids carry
:data:`RANDOM_SAMPLE_PREFIX`, so the store (the one owner of labelling state)
keeps how they were chosen, in every process and through exports.

Every estimate carries a 95 % Wilson interval and the number of labels behind
it: with 20 audit labels the interval is about ±0.2, and it says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from .metrics import wilson_interval

#: Hash key of the audit set (16 bytes, as pandas' hash_array wants): changing it
#: would move objects in and out of the audit set of running sessions.
AUDIT_HASH_KEY = "alabel-audit-v01"
#: ``QueryItem.strategy`` of the uniformly random picks (they do not depend on the model).
RANDOM_PICK_STRATEGIES = ("audit", "test")
#: Event-id prefix of labels whose objects were drawn uniformly at random outside alabel.
RANDOM_SAMPLE_PREFIX = "random-sample:"
#: Groups of audit labels refitted without, when the head made no out-of-fold predictions.
AUDIT_FOLDS = 5
#: Audit share of the default session (``strategy: auto``) when the config sets none.
DEFAULT_AUDIT_FRACTION = 0.1


def audit_mask(object_ids, fraction: float) -> np.ndarray:
    """Which objects belong to the audit set: a fixed ``fraction`` of them, by id hash.

    The set depends on the ids only (not on the pool order, the seed or the
    labels), so it is the same in every process and for the whole session.

    Parameters
    ----------
    object_ids : array-like
        Object ids (converted to str).
    fraction : float
        Share of objects in the set, in [0, 1].

    Returns
    -------
    ndarray of bool
    """
    if fraction <= 0 or len(object_ids) == 0:
        return np.zeros(len(object_ids), dtype=bool)
    # Block by block: the ids' text is made for one block at a time (a pool on Dask keeps integer
    # ids as integers, and every id's text at once would be gigabytes at tens of millions of rows).
    return np.concatenate([_audit_block(object_ids[start:start + AUDIT_BLOCK], fraction)
                           for start in range(0, len(object_ids), AUDIT_BLOCK)])


#: Ids hashed at once by :func:`audit_mask`.
AUDIT_BLOCK = 1_000_000


def _audit_block(object_ids, fraction: float) -> np.ndarray:
    ids = np.asarray(object_ids).astype(str).astype(object)
    hashes = pd.util.hash_array(ids, hash_key=AUDIT_HASH_KEY, categorize=False)
    return (hashes / np.float64(2 ** 64)) < fraction


def random_sample_event_id() -> str:
    """A fresh event id that marks its label as one of a uniform random sample."""
    import uuid

    return f"{RANDOM_SAMPLE_PREFIX}{uuid.uuid4()}"


def chosen_at_random(event_ids) -> np.ndarray:
    """Which events label objects drawn uniformly at random (ids made by :func:`random_sample_event_id`)."""
    ids = pd.Series(np.asarray(event_ids, dtype=object)).astype(str)
    return ids.str.startswith(RANDOM_SAMPLE_PREFIX).to_numpy(dtype=bool)


def random_quota(fraction: float, n_labelled: int, n_random_labelled: int, n: int, *, start: int = 0) -> int:
    """How many of the next ``n`` queries are random picks, so that they make ``fraction`` of the labels.

    ``floor(fraction * (n_labelled + n - start)) - n_random_labelled``, clipped to
    ``[0, n]``: the random share of the labels after the first ``start`` stays on
    target whatever the batch sizes.
    """
    if fraction <= 0 or n <= 0:
        return 0
    counted = max(0, n_labelled + n - int(start))
    target = int(np.floor(fraction * counted + 1e-9)) - int(n_random_labelled)
    return int(min(max(target, 0), n))


def audit_fraction_for(config) -> float:
    """``labels.audit_fraction``, or its default: 0.1 with the ``auto`` strategy, else 0."""
    if config.labels.audit_fraction is not None:
        return float(config.labels.audit_fraction)
    return DEFAULT_AUDIT_FRACTION if config.strategy.get("type") == "auto" else 0.0


@dataclass(frozen=True)
class RandomPicks:
    """How the next query splits between the strategy and uniformly random picks.

    Attributes
    ----------
    candidates : ndarray of int
        Rows the strategy may choose from (the audit set left out).
    n_strategy : int
        How many rows the strategy chooses.
    audit : ndarray of int
        Random audit picks (train split).
    test : ndarray of int
        Random picks for the test split.
    """

    candidates: np.ndarray
    n_strategy: int
    audit: np.ndarray
    test: np.ndarray


def plan_random_picks(candidates: np.ndarray, in_audit: np.ndarray, n: int, *, n_labelled: int,
                      n_audit_labelled: int, n_test_labelled: int, audit_fraction: float,
                      test_fraction: float, rng: np.random.Generator, audit_start: int = 0) -> RandomPicks:
    """Split the next ``n`` queries into random test picks, random audit picks and the strategy's.

    Parameters
    ----------
    candidates : ndarray of int
        Rows that may be queried.
    in_audit : ndarray of bool
        Audit-set membership of every pool row (:func:`audit_mask`).
    n : int
        Queries wanted.
    n_labelled, n_audit_labelled, n_test_labelled : int
        Rows labelled by people so far (both splits), among them audit rows
        and test-split rows.
    audit_fraction, test_fraction : float
        Target shares of all labels.
    rng : numpy Generator
        Draws the random picks.
    audit_start : int, default 0
        Labels before the first audit pick (the strategy's cold-start phase);
        ``audit_fraction`` is the share of the labels after them.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    audit_rows = candidates[in_audit[candidates]]
    other_rows = candidates[~in_audit[candidates]]
    n_test = min(random_quota(test_fraction, n_labelled, n_test_labelled, n), len(other_rows))
    # Test picks come from outside the audit set, so the audit set stays a uniform sample
    # of the pool for the audit picks alone.
    test = rng.choice(other_rows, size=n_test, replace=False) if n_test else np.zeros(0, np.int64)
    # Shares of all labels after this query, test picks included.
    n_audit = min(random_quota(audit_fraction, n_labelled, n_audit_labelled, n, start=audit_start),
                  n - n_test, len(audit_rows))
    audit = rng.choice(audit_rows, size=n_audit, replace=False) if n_audit else np.zeros(0, np.int64)
    rest = np.setdiff1d(other_rows, test, assume_unique=True)
    if len(rest) == 0:
        # Only audit rows are left: the strategy may have them (the estimate then
        # leans on the audit labels gathered so far).
        rest = np.setdiff1d(audit_rows, audit, assume_unique=True)
    return RandomPicks(candidates=rest, n_strategy=int(min(n - n_test - n_audit, len(rest))),
                       audit=np.asarray(audit, dtype=np.int64), test=np.asarray(test, dtype=np.int64))


def estimate(correct, *, method: str, source: str = "audit", biased: bool = False) -> dict:
    """Accuracy with its 95 % Wilson interval from per-label hits.

    Parameters
    ----------
    correct : array of bool
        One entry per evaluated label: was the prediction right?
    method : str
        How the predictions were obtained (shown to the user).
    source : {"audit", "test", "oracle", "out-of-fold"}
        Which labels were evaluated.
    biased : bool
        True when the labels were chosen by the strategy (the number is not an
        estimate of accuracy on the data).

    Returns
    -------
    dict
        JSON-ready: ``accuracy`` (None without labels), ``interval`` ([low, high]),
        ``n``, ``method``, ``source``, ``biased``.
    """
    correct = np.asarray(correct, dtype=bool)
    n = int(len(correct))
    accuracy = float(correct.mean()) if n else None
    low, high = wilson_interval(accuracy or 0.0, n)
    return {"accuracy": accuracy, "interval": [round(low, 4), round(high, 4)], "n": n,
            "method": method, "source": source, "biased": bool(biased)}


def audit_estimate(head, X_train, y_train, audit, *, sample_weight=None, folds: int = AUDIT_FOLDS,
                   random_state: int = 0) -> dict:
    """Accuracy on the audit labels, predicted by models that did not train on them.

    The head's own out-of-fold predictions are used when it made some at this
    fit (the ``auto`` head does when it chooses). Otherwise the audit labels
    are split into ``folds`` groups and each group is predicted by the chosen
    model refitted on every other label. Leaving all audit labels out at once
    would be cheaper but badly pessimistic: among labels a strategy chose for
    being hard, the random audit labels are often the only typical examples
    of the common classes (on Portal rodents at 300 labels, a boosted-tree
    head trained without its 28 audit labels scored 0.78 on the held-out
    split, against 0.88 with them).

    Parameters
    ----------
    head
        The fitted head of this model version.
    X_train, y_train
        Its training rows and labels.
    audit : array of bool
        Which training rows are audit labels.
    sample_weight : array, optional
        Training weights (kept for the refits).
    folds : int
        Groups of audit labels refitted without (fewer when there are fewer labels).
    random_state : int
        Seed of the grouping.

    Returns
    -------
    dict
        See :func:`estimate`; ``method`` says which predictions were used.
    """
    audit = np.asarray(audit, dtype=bool)
    y_train = np.asarray(y_train).astype(str)
    X_train = np.asarray(X_train)
    k = int(audit.sum())
    if k == 0:
        return estimate([], method="no audit labels yet")
    oof = getattr(head, "oof_predictions_", None)
    if oof is not None and len(oof) == len(y_train):
        hits = np.asarray(oof)[audit].astype(str) == y_train[audit]
        return estimate(hits, method=f"{k} random audit labels, out-of-fold predictions of the chosen head")
    if len(np.unique(y_train)) < 2:
        return estimate([], method=f"{k} audit labels, but the labels hold one class only")
    base = head.evaluation_template()  # the auto head's chosen candidate
    groups = np.array_split(np.random.default_rng(random_state).permutation(np.flatnonzero(audit)),
                            min(int(folds), k))
    hits = []
    for held_out in groups:
        train = np.ones(len(y_train), dtype=bool)
        train[held_out] = False
        if len(np.unique(y_train[train])) < 2:
            continue  # this group holds every label of all classes but one: no model to refit
        model = clone(base)
        kwargs = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)[train]}
        model.fit(X_train[train], y_train[train], **kwargs)
        hits.append(np.asarray(model.predict(X_train[held_out])).astype(str) == y_train[held_out])
    if not hits:
        return estimate([], method=f"{k} audit labels, but no group leaves two classes to refit on")
    return estimate(np.concatenate(hits), method=f"{k} random audit labels, each predicted by the chosen model "
                    f"refitted without its group of {len(groups)}")


def from_metrics(metrics: dict) -> dict | None:
    """The estimate implied by a model's metrics (held-out or out-of-fold), or None."""
    n = metrics.get("n_evaluated") or 0
    if not n or metrics.get("accuracy") is None:
        return None
    evaluation = metrics.get("evaluation", "")
    biased = evaluation == "out-of-fold"
    method = {"test": f"{n} held-out test labels",
              "oracle": f"{n} held-out rows with known labels (simulation)",
              "out-of-fold": f"out of fold on {n} labels chosen by the strategy "
                             "(biased: the strategy asks about hard rows)"}.get(evaluation, evaluation)
    low, high = metrics.get("accuracy_interval") or wilson_interval(metrics["accuracy"], n)
    return {"accuracy": float(metrics["accuracy"]), "interval": [round(low, 4), round(high, 4)],
            "n": int(n), "method": method, "source": evaluation, "biased": biased}


def choose_estimate(metrics: dict, audit: dict | None) -> dict | None:
    """What to show the user: held-out test labels, else audit labels, else the (biased) metrics."""
    if metrics.get("evaluation") == "test":
        return from_metrics(metrics)
    if audit is not None and audit.get("n"):
        return audit
    return from_metrics(metrics)


def describe(estimate_: dict | None) -> str:
    """``"accuracy 0.91 (95 % 0.84-0.95, 40 random audit labels, ...)"`` for the CLI."""
    if not estimate_ or estimate_.get("accuracy") is None:
        return "no accuracy estimate yet" + (f" ({estimate_['method']})" if estimate_ else "")
    low, high = estimate_["interval"]
    return (f"accuracy {estimate_['accuracy']:.3f} (95 % interval {low:.3f}-{high:.3f}; "
            f"{estimate_['method']})")
