"""The ``auto`` head: picks its model from the labels it has, by out-of-fold evidence.

No single classifier wins at every label count: a regularised linear model is
best from a handful of labels, tree ensembles overtake it once there are a few
hundred (STACK.md, "Active-learning baselines"). :class:`AdaptiveHead` keeps a
*ladder* of candidate heads, each eligible from a number of labels on, and at
each fit

1. predicts every eligible candidate's class probabilities out of fold on the
   labels (stratified k-fold, the same folds for every candidate), and the
   *ensemble* of them (mean probability) from the same predictions;
2. scores each option by its out-of-fold log-loss after temperature scaling
   (one temperature per option, so that confidence does not count, only how
   well the true class is ranked);
3. keeps the simplest option unless a later one beats it by one paired
   standard error over the labels (``evidence``): with few labels the
   differences are noise and the linear model stays; below
   ``min_per_class`` labels per class there is no choice at all;
4. fits the chosen option on all labels.

Why log-loss and not accuracy: under active learning the labels are the rows
the current model was least sure about, so out-of-fold *accuracy* punishes
exactly the model that chose them and favours switching away from it, often
to a model that is worse on the data. The current model is unsure on those
rows but rarely confidently wrong, and log-loss charges confident errors most,
so it ranks the candidates much like their accuracy on a random test set does
(measured on OGLE-III, Portal and digits while designing this head: out-of-fold
accuracy picked the model that was worse on the test split at most budgets).

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

from ..errors import ConfigError
from ..params import boolean, choice, integer, listing, number
from ..registry import resolve
from .base import Head, build_head

#: The default ladder: a linear model from the first labels; boosted trees, a random
#: forest and the mean of all three from 20. ``min_labels`` is the label count from
#: which a rung is evaluated and may be chosen. The forest earns its place twice: on
#: its own it is the strongest of the three at 20-50 labels of imbalanced tabular data
#: (Portal rodents: 0.71 against 0.68 for boosted trees on the same 20 labels), and
#: in the mean it steadies the ensemble (fitted on random labels, 3 seeds, the mean of
#: the three was above or within 0.001 of the mean of two at 50, 200 and 500 labels on
#: OGLE-III, Portal and digits; the session benchmark is in bench/RESULTS.md, "Defaults").
#: Its raw out-of-fold probabilities are coarse; the temperature scaling of the
#: criterion is what lets it compete on log-loss.
DEFAULT_CANDIDATES: tuple[dict, ...] = (
    {"type": "logistic_regression", "params": {"max_iter": 2000}},
    {"type": "hist_gradient_boosting", "min_labels": 20},
    {"type": "random_forest", "min_labels": 20},
)

#: Keys of a candidate entry that belong to the ladder, not to the head spec.
LADDER_KEYS = ("min_labels",)
#: Name of the ensemble option (mean probability of the eligible candidates).
ENSEMBLE = "ensemble"
#: Below these the choice rests on few labels and the summary says so (issue 15): out-of-fold
#: scores of a handful of labels, or of a class seen once or twice, are mostly noise.
FEW_LABELS = 20
FEW_PER_CLASS = 3
#: Probabilities are clipped here in the log-loss: one confidently wrong fold
#: prediction costs at most -log(0.001) ~ 6.9 and cannot decide the choice alone.
LOG_LOSS_FLOOR = 1e-3
CRITERIA = ("log_loss", "accuracy")
#: Temperatures tried when calibrating out-of-fold probabilities (log-spaced, 1 included).
TEMPERATURES = np.logspace(-1.0, 1.5, 26)


def label_log_loss(proba: np.ndarray, truth: np.ndarray, *, calibrate: bool = True
                   ) -> tuple[np.ndarray, float]:
    """Per-label log-loss of ``proba`` (columns indexed by ``truth``), optionally temperature-scaled.

    With ``calibrate`` the probabilities become ``softmax(log p / T)`` for the
    temperature ``T`` (from :data:`TEMPERATURES`) with the lowest mean loss:
    one parameter fitted on the same predictions, so every option gets the
    same small advantage. Probabilities are floored at :data:`LOG_LOSS_FLOOR`.

    Returns
    -------
    losses : ndarray of shape (n,)
    temperature : float
        The temperature used (1.0 without calibration).
    """
    logp = np.log(np.clip(proba, LOG_LOSS_FLOOR, 1.0))
    rows = np.arange(len(truth))
    if not calibrate:
        return -logp[rows, truth], 1.0
    best, best_t = None, 1.0
    for t in TEMPERATURES:
        z = logp / t
        z = z - z.max(axis=1, keepdims=True)
        loss = np.log(np.exp(z).sum(axis=1)) - z[rows, truth]
        if best is None or loss.mean() < best.mean():
            best, best_t = loss, float(t)
    return best, best_t


def _check_candidates(value: list, where: str, key: str) -> None:
    if not value:
        raise ConfigError(f"{where}: {key}: must be a non-empty list of head specs")
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or "type" not in entry:
            raise ConfigError(f"{where}: {key}[{i}]: must be a head spec with a 'type' key")
        if entry.get("type") == AdaptiveHead.type_name:
            raise ConfigError(f"{where}: {key}[{i}].type: an auto head cannot hold another")
        _CANDIDATE_MIN_LABELS.validate(entry.get("min_labels", 0), where=where, key=f"{key}[{i}].min_labels")
        spec = {k: v for k, v in entry.items() if k not in LADDER_KEYS}
        # Validate (and discard) each candidate now so errors surface before any fit.
        build_head(spec, classes=None, random_state=None, where=where, key=f"{key}[{i}]")


_CANDIDATE_MIN_LABELS = integer(0, "label count from which a candidate is eligible", low=0)


class AdaptiveHead(Head):
    """Chooses among candidate heads (and their ensemble) by out-of-fold evidence.

    Parameters
    ----------
    candidates : list of dict, optional
        Head specs, simplest first (as in config.yaml: ``{"type": ..., <param>:
        ...}``), each optionally with ``min_labels`` (the label count from
        which it is eligible; default 0). None means
        :data:`DEFAULT_CANDIDATES`: logistic regression, then histogram
        gradient boosting, a random forest and the ensemble of the three from
        20 labels.
    ensemble : bool, default True
        Also consider the mean probability of the eligible candidates (when
        two or more are eligible).
    criterion : {"log_loss", "accuracy"}, default "log_loss"
        Out-of-fold score the choice minimises (log-loss) or maximises.
    calibrate : bool, default True
        Temperature-scale each option's out-of-fold probabilities before its
        log-loss is taken, so that the options are compared on how well they
        rank the classes, not on how confident they are: a linear model on 20
        labels is overconfident, and averaging it with a near-uniform model
        lowers the raw log-loss while predicting worse.
    folds : int, default 5
        Folds of the out-of-fold estimate (fewer when a class has fewer labels).
    evidence : float, default 1.0
        Standard errors by which a later option must improve the criterion
        over the best earlier one (paired over the labels) to be chosen: with
        few labels the differences are noise and the simpler model stays.
    tolerance : float, default 0.0
        A further absolute improvement a later option must show.
    min_per_class : int, default 3
        No choice (the first candidate) while the labels average fewer than
        this many per class present: out-of-fold scores of 20 labels over 10
        classes say nothing.
    reselect_growth : float, default 0.2
        With a warm start, keep the previous choice until the labels have
        grown by this fraction (0 = choose again at every fit).
    classes : list of str, optional
        Explicit classes, passed on to the candidates.
    random_state : int, optional
        Seed of the folds and of every candidate.

    Attributes
    ----------
    estimator_ : Head
        The chosen option, fitted on all labels (a ``committee`` head without
        bootstrap for the ensemble).
    chosen_ : str
        Its name: the head type (``type#2`` for a second entry of one type) or
        ``"ensemble"``.
    chosen_spec_ : dict
        The head spec of the chosen option.
    candidates_scores_ : dict
        Name -> ``{"log_loss": ..., "accuracy": ..., "temperature": ...}`` out
        of fold for every evaluated option (None for one not evaluated at
        this label count).
    oof_predictions_ : ndarray or None
        Out-of-fold predictions of the chosen option for the training rows
        (None when no choice was made in this fit).
    n_selected_ : int
        Label count at which the current choice was made.
    """

    type_name: ClassVar[str] = "auto"
    #: The trainer hands the previous version to :meth:`warm_start_from`.
    supports_warm_start: ClassVar[bool] = True

    params_spec = {
        "candidates": listing(None, "head specs to choose from, simplest first, each with an optional "
                              "min_labels; null: logistic regression, then boosting and a forest from 20 labels",
                              nullable=True, nested=_check_candidates, label="Candidates"),
        "ensemble": boolean(True, "also consider the mean probability of the eligible candidates",
                            label="Consider the ensemble"),
        "criterion": choice("log_loss", CRITERIA, "out-of-fold score the choice optimises",
                            label="Choice criterion"),
        "calibrate": boolean(True, "temperature-scale each option's out-of-fold probabilities before "
                             "scoring", label="Calibrate before comparing"),
        "folds": integer(5, "folds of the out-of-fold estimate", low=2, label="Folds"),
        "evidence": number(1.0, "standard errors by which a later option must improve to be chosen", low=0,
                           high=10, label="Evidence (standard errors)"),
        "tolerance": number(0.0, "further absolute improvement a later option must show", low=0, high=10,
                            label="Tolerance"),
        "min_per_class": integer(3, "no choice while the labels average fewer per class present", low=0,
                                 label="Labels per class before choosing"),
        "reselect_growth": number(0.2, "with a warm start, keep the choice until the labels grow by this "
                                  "fraction", low=0, high=10, label="Re-choose after growth"),
    }

    def __init__(self, *, candidates=None, ensemble=True, criterion="log_loss", calibrate=True, folds=5,
                 evidence=1.0, tolerance=0.0, min_per_class=3, reselect_growth=0.2, classes=None,
                 random_state=None):
        self.candidates = candidates
        self.ensemble = ensemble
        self.criterion = criterion
        self.calibrate = calibrate
        self.folds = folds
        self.evidence = evidence
        self.tolerance = tolerance
        self.min_per_class = min_per_class
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

    def _options(self, n: int, n_classes: int = 1) -> list[tuple[str, dict, list[int]]]:
        """Eligible options at ``n`` labels of ``n_classes`` classes: ``(name, spec, ladder indices)``."""
        ladder = self._ladder()
        if n < self.min_per_class * n_classes:
            return [(ladder[0][0], ladder[0][1], [0])]
        eligible = [i for i, (_, _, min_labels) in enumerate(ladder) if n >= min_labels] or [0]
        options = [(ladder[i][0], ladder[i][1], [i]) for i in eligible]
        if self.ensemble and len(eligible) > 1:
            members = [copy.deepcopy(ladder[i][1]) for i in eligible]
            options.append((ENSEMBLE, {"type": "committee", "members": members, "bootstrap": False},
                            list(eligible)))
        return options

    # ------------------------------------------------------------------ fit
    def warm_start_from(self, previous: Head) -> "AdaptiveHead":
        """Let the next :meth:`fit` keep ``previous``'s choice while the labels grow little.

        Returns
        -------
        self
        """
        self._warm_source = previous
        return self

    def _build(self, spec: dict) -> Head:
        return build_head(spec, classes=self.classes_.tolist(), random_state=self.random_state,
                          where="AdaptiveHead", key="candidates")

    def _fit(self, X, y, sample_weight):
        labels = self.classes_[y]
        n = len(y)
        n_classes = int(len(np.unique(y)))
        options = self._options(n, n_classes)
        kept = self._kept_choice(n, options)
        previous = self.__dict__.pop("_warm_source", None)
        self.oof_predictions_ = None
        self.n_classes_selected_ = n_classes
        counts = np.bincount(y)
        self.fewest_per_class_ = int(counts[counts > 0].min())  # of the classes with labels
        if kept is not None:
            chosen, self.candidates_scores_, self.n_selected_, self.n_classes_selected_ = kept
            self.fewest_per_class_ = getattr(previous, "fewest_per_class_", self.fewest_per_class_)
            self.selection_note_ = (f"kept {options[chosen][0]} (chosen at {self.n_selected_} labels; "
                                    f"chooses again from {self._reselect_at(self.n_selected_)})")
        elif len(options) == 1:
            chosen = 0
            self.candidates_scores_ = {name: None for name, _, _ in self._ladder()}
            self.n_selected_ = n
            self.selection_note_ = (f"{options[0][0]}: the only candidate eligible at {n} labels "
                                    f"of {n_classes} classes")
        else:
            chosen = self._select(X, labels, sample_weight, options)
            self.n_selected_ = n
        self.chosen_, self.chosen_spec_ = options[chosen][0], copy.deepcopy(options[chosen][1])
        self.estimator_ = self._build(self.chosen_spec_)
        self.estimator_.fit(X, labels, **({} if sample_weight is None else {"sample_weight": sample_weight}))
        self.fit_notes_.append(self.selection_note_)
        self.fit_notes_.extend(f"{self.chosen_}: {note}" for note in self.estimator_.fit_notes_)

    def _reselect_at(self, n_selected: int) -> int:
        return int(np.floor(n_selected * (1.0 + self.reselect_growth))) + 1

    def _kept_choice(self, n, options):
        """The previous choice when warm-started and the labels grew by less than ``reselect_growth``."""
        previous = getattr(self, "_warm_source", None)
        if not isinstance(previous, AdaptiveHead) or self.reselect_growth <= 0:
            return None
        if not hasattr(previous, "n_classes_selected_"):
            return None
        same = previous.get_params() == self.get_params() and np.array_equal(previous.classes_, self.classes_)
        names = [name for name, _, _ in options]
        previous_options = [name for name, _, _ in previous._options(previous.n_selected_,
                                                                      previous.n_classes_selected_)]
        # A rung that became eligible since the last choice deserves an evaluation now.
        if not same or names != previous_options or n >= self._reselect_at(previous.n_selected_):
            return None
        chosen = names.index(previous.chosen_)
        if options[chosen][1] != previous.chosen_spec_:
            return None
        return (chosen, copy.deepcopy(previous.candidates_scores_), previous.n_selected_,
                previous.n_classes_selected_)

    def _select(self, X, labels, sample_weight, options) -> int:
        folds = list(self._folds(labels))
        n_classes = len(self.classes_)
        lookup = {c: i for i, c in enumerate(self.classes_.tolist())}
        truth = np.array([lookup[c] for c in labels.tolist()])
        proba: dict[int, np.ndarray] = {}
        for _, spec, members in options:
            if len(members) > 1:  # the ensemble: mean of its members' out-of-fold probabilities
                continue
            out = np.zeros((len(labels), n_classes))
            for train_idx, test_idx in folds:
                model = self._build(spec)
                weight = {} if sample_weight is None else {"sample_weight": sample_weight[train_idx]}
                model.fit(X[train_idx], labels[train_idx], **weight)
                out[test_idx] = model.predict_proba(X[test_idx])
            proba[members[0]] = out
        scores: dict[str, Any] = {name: None for name, _, _ in self._ladder()}
        losses = []  # per label, lower is better, for the paired comparison
        for name, _, members in options:
            p = np.mean([proba[i] for i in members], axis=0)
            hit = p.argmax(axis=1) == truth
            loss, temperature = label_log_loss(p, truth, calibrate=self.calibrate)
            scores[name] = {"log_loss": round(float(loss.mean()), 4), "accuracy": round(float(hit.mean()), 4)}
            if self.calibrate:
                scores[name]["temperature"] = round(float(temperature), 3)
            losses.append(loss if self.criterion == "log_loss" else 1.0 - hit)
        best = 0
        for i in range(1, len(options)):
            if self._better(losses[i], losses[best]):
                best = i
        self.candidates_scores_ = scores
        best_proba = np.mean([proba[i] for i in options[best][2]], axis=0)
        self.oof_predictions_ = self.classes_[best_proba.argmax(axis=1)].astype(str)
        evidence = ", ".join(f"{name} {scores[name][self.criterion]:.3f}" for name, _, _ in options)
        self.selection_note_ = (f"chose {options[best][0]} by {len(folds)}-fold out-of-fold "
                                f"{self.criterion.replace('_', '-')} on {len(labels)} labels ({evidence})")
        return best

    def _better(self, challenger: np.ndarray, incumbent: np.ndarray) -> bool:
        """Whether ``challenger`` beats ``incumbent`` by ``evidence`` paired standard errors (+ ``tolerance``)."""
        gain = incumbent - challenger
        se = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
        return bool(gain.mean() > self.tolerance + self.evidence * se)

    def _folds(self, labels):
        _, counts = np.unique(labels, return_counts=True)
        n_splits = max(2, int(min(self.folds, len(labels) // 2, counts.max())))
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        with warnings.catch_warnings():
            # Rare classes with fewer labels than folds are expected early in a session.
            warnings.filterwarnings("ignore", message="The least populated class")
            yield from splitter.split(np.zeros((len(labels), 1)), labels)

    def _predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def pool_scorer(self):
        """The chosen model's fast pool scorer (the mean of its members' for the ensemble), or None.

        See :meth:`.sklearn_heads.SklearnHead.pool_scorer`.
        """
        chosen = getattr(self, "estimator_", None)
        if chosen is None or self.single_class_ is not None:
            return None
        members = getattr(chosen, "members_", None)
        if members is None:
            own = getattr(chosen, "pool_scorer", None)
            return own() if own is not None else None
        if getattr(chosen, "single_class_", None) is not None:
            return None
        scorers = [m.pool_scorer() if hasattr(m, "pool_scorer") and m.single_class_ is None else None
                   for m in members]
        if any(s is None for s in scorers):
            return None
        return lambda X: np.mean([score(X) for score in scorers], axis=0, dtype=np.float32)

    def evaluation_template(self) -> Head:
        """The chosen candidate (see :meth:`Head.evaluation_template`).

        Re-running the choice inside every fold of an out-of-fold evaluation
        would cost folds x candidates x folds fits per retrain (about 80 at the
        defaults) for a number the user sees only when there are no audit or
        test labels, and which is marked biased then anyway.
        """
        chosen = getattr(self, "estimator_", None)
        return self if chosen is None or self.single_class_ is not None else chosen

    # ---------------------------------------------------------- reporting
    def choice_summary(self) -> dict:
        """JSON-ready record of the choice: what was chosen, at how many labels, and why.

        Returns
        -------
        dict
            ``chosen``, ``n_selected`` (label count of the choice), ``criterion``,
            ``scores`` (name -> out-of-fold log-loss and accuracy, or None), ``note``,
            ``few_labels`` (the choice was made on fewer than ``FEW_LABELS`` labels or with a
            class of fewer than ``FEW_PER_CLASS``) and ``caution`` (a sentence saying so, or None).
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "classes_")
        if self.single_class_ is not None:
            return {"chosen": None, "n_selected": 0, "criterion": self.criterion, "scores": {},
                    "note": f"one class only ({self.single_class_!r}): no model needed yet"}
        fewest = int(getattr(self, "fewest_per_class_", 0))
        few = int(self.n_selected_) < FEW_LABELS or fewest < FEW_PER_CLASS
        caution = (f"rests on few labels ({int(self.n_selected_)} labels, the rarest labelled class has "
                   f"{fewest}): treat the choice as provisional" if few else None)
        return {"chosen": self.chosen_, "n_selected": int(self.n_selected_), "criterion": self.criterion,
                "scores": copy.deepcopy(self.candidates_scores_), "note": self.selection_note_,
                "fewest_per_class": fewest, "few_labels": few, "caution": caution}
