"""A committee of heads for query-by-committee strategies.

The committee averages its members' probabilities and exposes each member's
probabilities through :meth:`CommitteeHead.member_probas` (what vote entropy,
KL max-disagreement and committee BALD score). Members must disagree to be
useful, so each one gets its own seed and, with ``bootstrap=True``, its own
stratified bootstrap sample of the labels.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ConfigError
from ..params import boolean, listing
from ..registry import resolve
from .base import Head, build_head

#: Members used when ``members`` is None: a linear model and two tree ensembles
#: (different inductive biases disagree where the data is ambiguous).
DEFAULT_MEMBERS: tuple[dict, ...] = (
    {"type": "logistic_regression"},
    {"type": "random_forest"},
    {"type": "hist_gradient_boosting"},
)


def _check_members(value: list, where: str, key: str) -> None:
    if len(value) < 2:
        raise ConfigError(f"{where}: {key}: must be a list of at least two head specs")
    for i, member in enumerate(value):
        # Validate (and discard) each member now so errors surface before any fit.
        build_head(member, classes=None, random_state=None, where=where, key=f"{key}[{i}]")


class CommitteeHead(Head):
    """Average of several heads, each trained on its own bootstrap sample.

    Parameters
    ----------
    members : list of dict, optional
        Head specs (as in config.yaml: ``{"type": ..., <param>: ...}``), at
        least two. None means logistic regression, random forest and
        histogram gradient boosting.
    bootstrap : bool, default True
        Train each member on a stratified bootstrap sample (every class keeps
        its label count, rows are drawn with replacement inside each class), so
        that members disagree and rare classes never vanish from a member.
    classes : list of str, optional
        Explicit classes, passed on to every member.
    random_state : int, optional
        Seed; member seeds and bootstrap samples derive from it.

    Attributes
    ----------
    members_ : list of Head
        The fitted members (empty when ``y`` had a single class).
    """

    type_name: ClassVar[str] = "committee"
    expected_failed_checks = {
        "check_sample_weight_equivalence_on_dense_data":
            "members train on bootstrap samples drawn by row, so a repeated row is drawn "
            "more often than a weighted one",
    }

    params_spec = {
        "members": listing(None, "head specs of the members, at least two; null: logistic regression, random "
                           "forest and histogram gradient boosting", nullable=True, nested=_check_members,
                           label="Members"),
        "bootstrap": boolean(True, "train each member on its own stratified bootstrap sample of the labels",
                             label="Bootstrap"),
    }

    def __init__(self, *, members=None, bootstrap=True, classes=None, random_state=None):
        self.members = members
        self.bootstrap = bootstrap
        self.classes = classes
        self.random_state = random_state

    @property
    def supports_sample_weight(self) -> bool:  # type: ignore[override]
        return all(cls.supports_sample_weight for cls in self._member_classes())

    @property
    def deterministic(self) -> bool:  # type: ignore[override]
        return all(cls.deterministic for cls in self._member_classes())

    def _member_classes(self) -> list[type[Head]]:
        return [resolve(Head, spec.get("type"), key="members.type", where="CommitteeHead") for spec in self._member_specs()]

    def _member_specs(self) -> list[dict]:
        return [dict(m) for m in (DEFAULT_MEMBERS if self.members is None else self.members)]

    def _build_members(self, rng: np.random.RandomState) -> list[Head]:
        classes = None if not hasattr(self, "classes_") else self.classes_.tolist()
        seeds = rng.randint(0, 2**31 - 1, size=len(self._member_specs()))
        return [
            build_head(spec, classes=classes, random_state=int(seed), where="CommitteeHead", key=f"members[{i}]")
            for i, (spec, seed) in enumerate(zip(self._member_specs(), seeds))
        ]

    def _fit(self, X, y, sample_weight):
        rng = check_random_state(self.random_state)
        self.members_ = self._build_members(rng)
        labels = self.classes_[y]
        for i, member in enumerate(self.members_):
            rows = _stratified_bootstrap(y, rng) if self.bootstrap else np.arange(len(y))
            # Only pass weights when there are some: knn's fit takes no sample_weight.
            weight = {} if sample_weight is None else {"sample_weight": sample_weight[rows]}
            member.fit(X[rows], labels[rows], **weight)
            self.fit_notes_.extend(f"members[{i}] ({type(member).type_name}): {note}" for note in member.fit_notes_)

    def member_probas(self, X) -> np.ndarray:
        """Each member's class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_members, n_samples, n_classes)
            Columns follow ``classes_``. When ``y`` had a single class every
            member predicts it with probability 1.
        """
        check_is_fitted(self, "classes_")
        if self.single_class_ is not None:
            one = self.predict_proba(X)
            return np.broadcast_to(one, (len(self._member_specs()), *one.shape)).copy()
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32])
        return np.stack([m.predict_proba(X) for m in self.members_])

    def _predict_proba(self, X):
        return self.member_probas(X).mean(axis=0)


def _stratified_bootstrap(y: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Row indices drawn with replacement inside each class (class counts unchanged)."""
    parts = []
    for cls in np.unique(y):
        rows = np.flatnonzero(y == cls)
        parts.append(rng.choice(rows, size=len(rows), replace=True))
    return np.sort(np.concatenate(parts))
