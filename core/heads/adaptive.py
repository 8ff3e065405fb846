"""The ``auto`` head: picks its model from the labels it has, by out-of-fold evidence.

No single classifier wins at every label count: a regularised linear model is
best from a handful of labels, boosted trees overtake it once there are a few
hundred (STACK.md, "Active-learning baselines"). :class:`AdaptiveHead` keeps a
*ladder* of candidate heads, each eligible from a number of labels on, and at
each fit

1. estimates every eligible candidate's accuracy out of fold on the labels
   (stratified k-fold, the same folds for every candidate);
2. keeps the best one; a later (stronger) rung must beat the earlier ones by
   more than ``tolerance`` to be chosen, so ties go to the simpler model;
3. fits the chosen candidate on all labels.

Candidates that depend on the label count adapt themselves: the
``hist_gradient_boosting`` head scales ``min_samples_leaf`` with the labels
(see :class:`~.sklearn_heads.HistGradientBoostingHead`).

The choice and its evidence stay on the fitted head (``chosen_``,
``candidates_scores_``, :meth:`AdaptiveHead.choice_summary`) so that the CLI and
the dashboard can show why a model was picked. Retrains in a session are
frequent and most add a handful of labels, so with a warm start
(:meth:`AdaptiveHead.warm_start_from`, used by the trainer) the previous
choice is kept until the labels have grown by ``reselect_growth``.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError
from ..registry import resolve
from .base import Head, build_head

#: The default ladder: from a handful of labels to a few hundred and beyond.
#: ``min_labels`` is the label count from which a rung may be chosen; below
#: it a rung is not even evaluated (boosted trees on 20 labels only waste time).
DEFAULT_CANDIDATES: tuple[dict, ...] = (
    {"type": "logistic_regression", "params": {"max_iter": 2000}},
    {"type": "hist_gradient_boosting", "min_labels": 100},
)

#: Keys of a candidate entry that belong to the ladder, not to the head spec.
LADDER_KEYS = ("min_labels",)


class AdaptiveHead(Head):
    """Chooses among candidate heads by out-of-fold accuracy on the labels.

    Parameters
    ----------
    candidates : list of dict, optional
        Head specs, simplest first (as in config.yaml: ``{"type": ..., <param>:
        ...}``), each optionally with ``min_labels`` (the label count from
        which it is eligible; default 0). None means
        :data:`DEFAULT_CANDIDATES`: logistic regression, then a random forest
        from 40 labels and histogram gradient boosting from 60.
    folds : int, default 5
        Folds of the out-of-fold estimate (fewer when a class has fewer labels).
    tolerance : float, default 0.0
        Out-of-fold accuracy a later candidate must gain over the best earlier
        one to be chosen (ties go to the simpler model).
    reselect_growth : float, default 0.2
        With a warm start, keep the previous choice until the labels have
        grown by this fraction (0 = re-select at every fit).
    classes : list of str, optional
        Explicit classes, passed on to the candidates.
    random_state : int, optional
        Seed of the folds and of every candidate.

    Attributes
    ----------
    estimator_ : Head
        The chosen candidate, fitted on all labels.
    chosen_ : str
        Its name (the head type; ``type#2`` for a second entry of one type).
    candidates_scores_ : dict
        Name -> out-of-fold accuracy of every evaluated candidate (None for a
        candidate not eligible at this label count).
    oof_predictions_ : ndarray or None
        Out-of-fold predictions of the chosen candidate for the training rows
        (None when no selection ran in this fit).
    n_selected_ : int
        Label count at which the current choice was made.
    """

    type_name: ClassVar[str] = "auto"

    def __init__(self, *, candidates=None, folds=5, tolerance=0.0, reselect_growth=0.2,
                 classes=None, random_state=None):
        self.candidates = candidates
        self.folds = folds
        self.tolerance = tolerance
        self.reselect_growth = reselect_growth
        self.classes = classes
        self.random_state = random_state

    # ------------------------------------------------------------ properties
    @property
    def supports_sample_weight(self) -> bool:  # type: ignore[override]
        return all(cls.supports_sample_weight for cls in self._candidate_classes())

    @property
    def deterministic(self) -> bool:  # type: ignore[override]
        return all(cls.deterministic for cls in self._candidate_classes())

    #: The trainer hands the previous version to :meth:`warm_start_from`.
    supports_warm_start: ClassVar[bool] = True

    def _ladder(self) -> list[tuple[str, dict, int]]:
        """``(name, head spec, min_labels)`` per candidate, in order."""
        entries = DEFAULT_CANDIDATES if self.candidates is None else self.candidates
        ladder, seen = [], {}
        for entry in entries:
            spec = {k: copy.deepcopy(v) for k, v in entry.items() if k not in LADDER_KEYS}
            kind = str(spec["type"])
            seen[kind] = seen.get(kind, 0) + 1
            name = kind if seen[kind] == 1 else f"{kind}#{seen[kind]}"
            ladder.append((name, spec, int(entry.get("min_labels", 0))))
        return ladder

    def _candidate_classes(self) -> list[type[Head]]:
        return [resolve(Head, spec["type"], key="candidates.type", where="AdaptiveHead")
                for _, spec, _ in self._ladder()]

    # ------------------------------------------------------------------ fit
    def warm_start_from(self, previous: Head) -> "AdaptiveHead":
        """Let the next :meth:`fit` keep ``previous``'s choice while the labels grow little.

        Returns
        -------
        self
        """
        self._warm_source = previous
        return self

    def _build(self, spec: dict, i: int) -> Head:
        return build_head(spec, classes=self.classes_.tolist(), random_state=self.random_state,
                          where="AdaptiveHead", key=f"candidates[{i}]")

    def _fit(self, X, y, sample_weight):
        labels = self.classes_[y]
        n = len(y)
        ladder = self._ladder()
        eligible = [i for i, (_, _, min_labels) in enumerate(ladder) if n >= min_labels] or [0]
        kept = self._kept_choice(n, ladder, eligible)
        self.oof_predictions_ = None
        if kept is not None:
            chosen, self.candidates_scores_, self.n_selected_ = kept
            self.selection_note_ = (f"kept {ladder[chosen][0]} (chosen at {self.n_selected_} labels; "
                                    f"re-selects from {self._reselect_at(self.n_selected_)})")
        elif len(eligible) == 1:
            chosen = eligible[0]
            self.candidates_scores_ = {name: None for name, _, _ in ladder}
            self.n_selected_ = n
            self.selection_note_ = f"{ladder[chosen][0]}: the only candidate eligible at {n} labels"
        else:
            chosen = self._select(X, labels, sample_weight, ladder, eligible)
            self.n_selected_ = n
        self.chosen_index_ = chosen
        self.chosen_ = ladder[chosen][0]
        self.estimator_ = self._build(ladder[chosen][1], chosen)
        self.estimator_.fit(X, labels, **({} if sample_weight is None else {"sample_weight": sample_weight}))
        self.fit_notes_.append(self.selection_note_)
        self.fit_notes_.extend(f"{self.chosen_}: {note}" for note in self.estimator_.fit_notes_)
        self._warm_source = None

    def _reselect_at(self, n_selected: int) -> int:
        return int(np.floor(n_selected * (1.0 + self.reselect_growth))) + 1

    def _kept_choice(self, n, ladder, eligible):
        """The previous choice when warm-started and the labels grew by less than ``reselect_growth``."""
        previous = getattr(self, "_warm_source", None)
        if not isinstance(previous, AdaptiveHead) or self.reselect_growth <= 0:
            return None
        try:
            check_is_fitted(previous, "chosen_index_")
        except Exception:
            return None
        same = (previous._ladder() == ladder and previous.folds == self.folds
                and previous.tolerance == self.tolerance
                and np.array_equal(previous.classes_, self.classes_))
        if not same or previous.chosen_index_ not in eligible or n >= self._reselect_at(previous.n_selected_):
            return None
        # A rung that became eligible since the last choice deserves an evaluation now.
        newly = [i for i in eligible if previous.candidates_scores_.get(ladder[i][0]) is None]
        if newly and len(eligible) > 1:
            return None
        return previous.chosen_index_, dict(previous.candidates_scores_), previous.n_selected_

    def _select(self, X, labels, sample_weight, ladder, eligible) -> int:
        folds = list(self._folds(labels))
        scores: dict[str, Any] = {name: None for name, _, _ in ladder}
        predictions = {}
        for i in eligible:
            pred = np.empty(len(labels), dtype=object)
            for train_idx, test_idx in folds:
                model = self._build(ladder[i][1], i)
                weight = {} if sample_weight is None else {"sample_weight": sample_weight[train_idx]}
                model.fit(X[train_idx], labels[train_idx], **weight)
                pred[test_idx] = model.predict(X[test_idx])
            predictions[i] = pred
            scores[ladder[i][0]] = float(np.mean(pred == labels))
        best = eligible[0]
        for i in eligible[1:]:
            if scores[ladder[i][0]] > scores[ladder[best][0]] + self.tolerance:
                best = i
        self.candidates_scores_ = scores
        self.oof_predictions_ = predictions[best].astype(str)
        evidence = ", ".join(f"{ladder[i][0]} {scores[ladder[i][0]]:.3f}" for i in eligible)
        self.selection_note_ = (f"chose {ladder[best][0]} by {len(folds)}-fold out-of-fold accuracy "
                                f"on {len(labels)} labels ({evidence})")
        return best

    def _folds(self, labels):
        _, counts = np.unique(labels, return_counts=True)
        n_splits = int(min(self.folds, len(labels) // 2, counts.max()))
        n_splits = max(n_splits, 2)
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        with warnings.catch_warnings():
            # Rare classes with fewer labels than folds are expected early in a session.
            warnings.filterwarnings("ignore", message="The least populated class")
            yield from splitter.split(np.zeros((len(labels), 1)), labels)

    def _predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    # ---------------------------------------------------------- reporting
    def choice_summary(self) -> dict:
        """JSON-ready record of the choice: what was chosen, at how many labels, and why.

        Returns
        -------
        dict
            ``chosen``, ``n_selected`` (label count of the choice),
            ``scores`` (name -> out-of-fold accuracy or None), ``note``.
        """
        check_is_fitted(self, "classes_")
        if self.single_class_ is not None:
            return {"chosen": None, "n_selected": 0, "scores": {},
                    "note": f"one class only ({self.single_class_!r}): no model needed yet"}
        return {"chosen": self.chosen_, "n_selected": int(self.n_selected_),
                "scores": {k: (None if v is None else round(float(v), 4))
                           for k, v in self.candidates_scores_.items()},
                "note": self.selection_note_}

    # ----------------------------------------------------- config checks
    @classmethod
    def _check_spec_value(cls, name, value, *, where, key):
        super()._check_spec_value(name, value, where=where, key=key)
        if name == "folds" and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
            raise ConfigError(f"{where}: {key}: must be an integer >= 2, got {value!r}")
        if name in ("tolerance", "reselect_growth") and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 10):
            raise ConfigError(f"{where}: {key}: must be a number between 0 and 10, got {value!r}")
        if name == "candidates" and value is not None:
            if not isinstance(value, list) or not value:
                raise ConfigError(f"{where}: {key}: must be a non-empty list of head specs")
            for i, entry in enumerate(value):
                if not isinstance(entry, dict) or "type" not in entry:
                    raise ConfigError(f"{where}: {key}[{i}]: must be a head spec with a 'type' key")
                if entry.get("type") == cls.type_name:
                    raise ConfigError(f"{where}: {key}[{i}].type: an auto head cannot hold another")
                min_labels = entry.get("min_labels", 0)
                if isinstance(min_labels, bool) or not isinstance(min_labels, int) or min_labels < 0:
                    raise ConfigError(f"{where}: {key}[{i}].min_labels: must be an integer >= 0, "
                                      f"got {min_labels!r}")
                spec = {k: v for k, v in entry.items() if k not in LADDER_KEYS}
                # Validate (and discard) each candidate now so errors surface before any fit.
                build_head(spec, classes=None, random_state=None, where=where, key=f"{key}[{i}]")
