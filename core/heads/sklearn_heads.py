"""Heads backed by scikit-learn estimators inside a Pipeline.

Each head builds ``[imputer] -> [scaler] -> estimator`` at fit time:

* the imputer (``SimpleImputer(strategy="median", add_indicator=True,
  keep_empty_features=True)``) is added for estimators that cannot take NaN;
  its indicator columns keep "this value was missing" as a feature, because
  missingness carries class information in our data;
* the scaler (``StandardScaler``) when ``scale=True``;
* the estimator gets ``params`` plus the head's ``random_state`` and
  ``class_weight``.

The estimator is trained on class *indices* so that columns can be placed
under the explicit ``classes`` even when some are absent from the labels.

Why one module of this size: the scikit-learn heads share one pipeline
(imputation, missing indicators, scaling, class weights, index-trained
estimator) and one fast pool-scoring path; each head adds a few lines on top.
"""
from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import has_fit_parameter

from ..errors import ConfigError, DataError, did_you_mean
from ..params import Param, boolean, custom, mapping
from .base import Head

#: Estimator parameters the head sets itself; ``params`` may not override them.
_MANAGED = {
    "random_state": "random_state (set from the config seed)",
    "class_weight": "class_weight (use head.class_weight)",
}

_WEIGHT_EQUIVALENCE = (
    "weighting a row is not the same as repeating it: scikit-learn lists this check as an "
    "expected failure for {model} itself (meta-issue #16298)"
)


def _positive_weights(value) -> bool:
    return value == "balanced" or isinstance(value, dict) and all(
        isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0 for w in value.values())


#: ``class_weight`` of the scikit-learn heads.
CLASS_WEIGHT = custom(None, "reweight classes: 'balanced' inversely to their frequency, or a mapping class "
                      "name -> weight; null: every class weighs the same", accepts=_positive_weights,
                      expected="null, 'balanced' or a mapping of class name to a positive weight",
                      nullable=True, label="Class weights")


def sklearn_params(estimator_class: type, type_name: str, *, scale: bool, missing_indicators: bool = False,
                   class_weight: bool = True) -> dict[str, Param]:
    """The declarations of a scikit-learn head's spec keys (``params`` checked by scikit-learn itself)."""
    declared = {"scale": boolean(scale, "standardise the features before the model", label="Standardise")}
    if missing_indicators:
        declared["missing_indicators"] = boolean(
            True, "add a \"was missing\" column per feature with NaN (false: impute the median only)",
            label="Missing-value indicators")
    if class_weight:
        declared["class_weight"] = CLASS_WEIGHT
    declared["params"] = mapping(
        None, f"extra {estimator_class.__name__} parameters; null: its defaults", nullable=True,
        label="Estimator parameters",
        nested=lambda value, where, key: _check_estimator_params(estimator_class, type_name, value,
                                                                 where=where, key=key))
    return declared


def _check_estimator_params(estimator_class: type, type_name: str, params: dict, *, where: str, key: str):
    accepted = sorted(set(estimator_class().get_params()) - set(_MANAGED))
    for pname, pvalue in params.items():
        if pname in _MANAGED and pname in estimator_class().get_params():
            raise ConfigError(f"{where}: {key}.{pname}: not allowed here; {_MANAGED[pname]}")
        if pname not in accepted:
            raise ConfigError(
                f"{where}: {key}.{pname}: unknown parameter for {type_name}"
                f"{did_you_mean(str(pname), accepted)}"
            )
        # scikit-learn's own constraint check, one parameter at a time so the
        # message names the key at fault.
        try:
            estimator_class(**{pname: pvalue})._validate_params()
        except ValueError as exc:
            raise ConfigError(f"{where}: {key}.{pname}: {exc}") from None


class SklearnHead(Head):
    """Shared machinery of the scikit-learn heads (not registered itself).

    Subclasses set ``estimator_class`` and ``handles_nan`` and define an
    ``__init__`` listing ``classes, scale, class_weight, params, random_state``
    (``class_weight`` may be left out where the estimator cannot weight rows).
    """

    #: The scikit-learn classifier this head wraps.
    estimator_class: ClassVar[type]
    #: Whether the estimator accepts NaN itself (else an imputer is prepended).
    handles_nan: ClassVar[bool] = False
    #: :meth:`warm_start_from` is meaningful (with ``params: {warm_start: true}``).
    supports_warm_start: ClassVar[bool] = True

    def warm_start_from(self, previous: Head) -> "SklearnHead":
        """Let the next :meth:`fit` continue from ``previous``'s fitted model.

        For a trainer that builds a fresh head per retrain. Takes effect only
        with ``params: {warm_start: true}`` and when ``previous`` is a fitted
        head of the same type; the next fit then also needs the same classes
        in the labels and the same features (else it starts afresh). The model
        is copied, so ``previous`` keeps serving predictions unchanged.
        scikit-learn's meaning of ``warm_start`` applies: forests and boosting
        only add trees when ``n_estimators``/``max_iter`` grow (with fixed sizes
        a warm refit learns nothing new), while logistic regression and the MLP
        continue optimising from the previous weights.

        Returns
        -------
        self
        """
        if (self.params or {}).get("warm_start") and type(previous) is type(self) and hasattr(previous, "pipeline_"):
            self.pipeline_ = copy.deepcopy(previous.pipeline_)
            self.estimator_classes_ = previous.estimator_classes_.copy()
        return self

    # ------------------------------------------------------------ training
    def _fit(self, X, y, sample_weight):
        labels = self.classes_[np.unique(y)]
        if self._can_warm_start(X, labels):
            # warm_start: keep the fitted preprocessing (the estimator's inputs must not
            # shift under it) and let the estimator continue from its current state.
            self.pipeline_[-1].set_params(**self._estimator_params(n_samples=len(y)))
            self._fit_pipeline(X, y, sample_weight, refit_preprocessing=False)
            self.fit_notes_.append("warm start: continued from the previous model")
        else:
            self.pipeline_ = self._make_pipeline(n_samples=len(y))
            self._fit_pipeline(X, y, sample_weight, refit_preprocessing=True)
        self.estimator_classes_ = labels

    def _can_warm_start(self, X, labels) -> bool:
        """True when ``params.warm_start`` is set and the last fit saw the same classes."""
        if not (self.params or {}).get("warm_start") or not hasattr(self, "pipeline_"):
            return False
        same_classes = np.array_equal(getattr(self, "estimator_classes_", None), labels)
        return same_classes and getattr(self.pipeline_[0], "n_features_in_", None) == X.shape[1]

    def _supports_partial_fit(self) -> bool:
        # Ask an instance: MLPClassifier offers partial_fit only for its stochastic solvers.
        return hasattr(self.estimator_class(**(self.params or {})), "partial_fit")

    def _partial_fit(self, X, y, sample_weight):
        # An estimator from fit() that did not see every class cannot continue with
        # partial_fit(classes=all): start a fresh one then.
        first = not hasattr(self, "pipeline_") or not np.array_equal(
            getattr(self, "estimator_classes_", None), self.classes_
        )
        if first:
            if hasattr(self, "pipeline_"):
                self.fit_notes_.append("partial_fit restarted: the previous fit did not see every class")
            self.pipeline_ = self._make_pipeline(n_samples=len(y))
        self._fit_pipeline(X, y, sample_weight, refit_preprocessing=first, partial=True)
        self.estimator_classes_ = self.classes_

    def _fit_pipeline(self, X, y, sample_weight, *, refit_preprocessing: bool, partial: bool = False):
        # The steps are fitted one after the other (what Pipeline.fit does) so that
        # sample_weight reaches the estimator whether or not the user switched on
        # scikit-learn's metadata routing.
        if len(self.pipeline_) > 1:
            if refit_preprocessing:
                # Preprocessing sees the row weights only: class weights shape the loss,
                # not the feature statistics.
                X = self._fit_preprocessing(X, sample_weight)
            else:
                X = self.pipeline_[:-1].transform(X)
        weights = self._weights(y, sample_weight)
        kwargs = {} if weights is None else {"sample_weight": weights}
        if partial:
            self.pipeline_[-1].partial_fit(X, y, classes=np.arange(len(self.classes_)), **kwargs)
        else:
            self.pipeline_[-1].fit(X, y, **kwargs)

    def _fit_preprocessing(self, X, weights):
        # Steps that can weight rows (StandardScaler) get the weights so that weighting a
        # row matches repeating it; the median imputer has no weighted mode.
        for _, step in self.pipeline_.steps[:-1]:
            weighted = weights is not None and has_fit_parameter(step, "sample_weight")
            X = step.fit(X, sample_weight=weights).transform(X) if weighted else step.fit_transform(X)
        return X

    def _weights(self, y, sample_weight):
        """Combine ``sample_weight`` with class_weight for estimators that lack the parameter."""
        class_weight = self._encoded_class_weight()
        if class_weight is None or self._native_class_weight():
            return sample_weight
        weights = compute_sample_weight(class_weight, y)
        return weights if sample_weight is None else weights * sample_weight

    def _encoded_class_weight(self):
        """``class_weight`` with class names replaced by the indices the estimator is trained on."""
        class_weight = getattr(self, "class_weight", None)
        if not isinstance(class_weight, dict):
            return class_weight
        lookup = {str(c): i for i, c in enumerate(self.classes_.tolist())}
        unknown = [k for k in class_weight if str(k) not in lookup]
        if unknown:
            raise DataError(
                f"{type(self).__name__}: class_weight names {unknown[:5]} that are not among the classes "
                f"{self.classes_.tolist()}"
            )
        return {lookup[str(k)]: float(w) for k, w in class_weight.items()}

    @classmethod
    def _native_class_weight(cls) -> bool:
        return "class_weight" in cls.estimator_class().get_params()

    def _make_pipeline(self, n_samples: int) -> Pipeline:
        steps = []
        if not self.handles_nan:
            steps.append(
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True,
                                         add_indicator=getattr(self, "missing_indicators", True)))
            )
        if self.scale:
            steps.append(("scale", StandardScaler()))
        steps.append(("model", self.estimator_class(**self._estimator_params(n_samples))))
        return Pipeline(steps)

    def _estimator_params(self, n_samples: int) -> dict[str, Any]:
        """Parameters for a fresh estimator: ``params`` + seed + class weight."""
        params = dict(self.params or {})
        accepted = self.estimator_class().get_params()
        if "random_state" in accepted:
            params["random_state"] = self.random_state
        class_weight = self._encoded_class_weight()
        if class_weight is not None and "class_weight" in accepted:
            params["class_weight"] = class_weight
        return params

    def pool_scorer(self):
        """A fast ``predict_proba`` for pool scoring, or None where there is none.

        Returns a callable taking a float32 chunk of the pool (NaN allowed,
        the features the head was fitted on) and returning its float32
        probabilities under ``classes_``; it skips the per-call input checks,
        so the caller must hand it well-formed chunks (the trainer does).
        Linear heads return a :class:`LinearPoolScorer`; other heads None.
        """
        return None

    def _predict_proba(self, X):
        raw = self.pipeline_.predict_proba(X)
        # The estimator only knows the class indices it saw; place its columns under
        # classes_ and leave unseen classes at 0.
        proba = np.zeros((X.shape[0], len(self.classes_)), dtype=np.float64)
        proba[:, self.pipeline_[-1].classes_] = raw
        return proba


class LogisticRegressionHead(SklearnHead):
    """Multinomial logistic regression (median impute + missing indicators + scaling).

    Parameters
    ----------
    classes : list of str, optional
        Explicit classes (fixes ``classes_`` and the probability columns).
    scale : bool, default True
        Standardise features before the model.
    missing_indicators : bool, default True
        Add a "was missing" column per feature with NaN (missingness often
        carries class information); False imputes the median only.
    class_weight : None, "balanced" or dict, default None
        Reweight classes: "balanced" inversely to their frequency, a dict
        maps class names to weights.
    params : dict, optional
        Extra ``LogisticRegression`` parameters (``C``, ``max_iter``, ...).
    random_state : int, optional
        Seed.
    """

    type_name: ClassVar[str] = "logistic_regression"
    estimator_class = LogisticRegression
    params_spec = sklearn_params(LogisticRegression, type_name, scale=True, missing_indicators=True)

    def __init__(self, *, classes=None, scale=True, missing_indicators=True, class_weight=None, params=None,
                 random_state=None):
        self.classes = classes
        self.scale = scale
        self.missing_indicators = missing_indicators
        self.class_weight = class_weight
        self.params = params
        self.random_state = random_state


    def pool_scorer(self):
        """A :class:`LinearPoolScorer` of this fitted head (see :meth:`SklearnHead.pool_scorer`)."""
        if getattr(self, "single_class_", None) is not None or not hasattr(self, "pipeline_"):
            return None
        return LinearPoolScorer.from_pipeline(self.pipeline_, len(self.classes_))


class LinearPoolScorer:
    """Probabilities of a fitted ``[impute] -> [scale] -> LogisticRegression`` pipeline in one float32 pass.

    The scaler and the imputation fold into the model's weights: for a row
    ``x`` with NaN set to 0 and its missing-value mask ``m``, the logits are
    ``x @ A + m @ M + b``, where ``A`` is the coefficient matrix divided by
    the scale, ``M`` holds what a missing value contributes (its median times
    ``A``, plus the weight of its indicator column) and ``b`` absorbs the
    centring. One matrix product per chunk replaces the imputer's copy, the
    indicator columns, the scaler's copy, the float64 upcast and
    scikit-learn's checks at every chunk; probabilities match the pipeline's
    to ~1e-6.
    """

    def __init__(self, A: np.ndarray, M: np.ndarray, b: np.ndarray, columns: np.ndarray, n_classes: int):
        self.A, self.M, self.b = A.astype(np.float32), M.astype(np.float32), b.astype(np.float32)
        self.columns, self.n_classes = np.asarray(columns, dtype=np.int64), int(n_classes)

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline, n_classes: int) -> "LinearPoolScorer | None":
        """Fold ``pipeline`` (None when it holds steps other than impute/scale before the model)."""
        *steps, (_, model) = pipeline.steps
        if not isinstance(model, LogisticRegression):
            return None
        coef = model.coef_.astype(np.float64)  # (k, inputs of the model)
        intercept = model.intercept_.astype(np.float64)
        n_features = pipeline.n_features_in_
        statistics, indicated = np.zeros(n_features), np.zeros(0, dtype=np.int64)
        mean = np.zeros(coef.shape[1])
        scale = np.ones(coef.shape[1])
        for name, step in steps:
            if isinstance(step, SimpleImputer) and step.strategy in ("median", "mean"):
                statistics = np.nan_to_num(step.statistics_.astype(np.float64))
                if step.indicator_ is not None:
                    indicated = np.asarray(step.indicator_.features_, dtype=np.int64)
            elif isinstance(step, StandardScaler):
                if step.mean_ is not None:
                    mean = step.mean_.astype(np.float64)
                if step.scale_ is not None:
                    scale = step.scale_.astype(np.float64)
            else:
                return None
        W = coef / scale  # (k, n_features + indicators)
        b = intercept - W @ mean
        A = W[:, :n_features].T  # (n_features, k)
        M = statistics[:, None] * A
        M[indicated] += W[:, n_features:].T
        return cls(A, M, b, model.classes_, n_classes)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float32)  # a copy: NaN are zeroed in place
        missing = np.isnan(X)
        X[missing] = 0.0
        logits = X @ self.A
        logits += self.b
        rows = np.flatnonzero(missing.any(axis=1))
        if len(rows):
            logits[rows] += missing[rows].astype(np.float32) @ self.M
        if logits.shape[1] == 1:  # binary LogisticRegression: one logit for the second class
            p = expit(logits[:, 0])
            raw = np.stack([1.0 - p, p], axis=1)
        else:
            logits -= logits.max(axis=1, keepdims=True)
            np.exp(logits, out=logits)
            raw = logits / logits.sum(axis=1, keepdims=True)
        proba = np.zeros((len(X), self.n_classes), dtype=np.float32)
        proba[:, self.columns] = raw
        return proba


class RandomForestHead(SklearnHead):
    """Random forest; takes NaN natively (scikit-learn ≥ 1.4).

    Parameters are those of :class:`LogisticRegressionHead` (``scale`` defaults
    to False: trees do not need it); ``params`` go to ``RandomForestClassifier``.
    """

    type_name: ClassVar[str] = "random_forest"
    estimator_class = RandomForestClassifier
    params_spec = sklearn_params(RandomForestClassifier, type_name, scale=False)
    handles_nan = True
    expected_failed_checks = {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE.format(
            model="RandomForestClassifier (bootstrap)"),
    }

    def __init__(self, *, classes=None, scale=False, class_weight=None, params=None, random_state=None):
        self.classes = classes
        self.scale = scale
        self.class_weight = class_weight
        self.params = params
        self.random_state = random_state


class HistGradientBoostingHead(SklearnHead):
    """Histogram gradient boosting; takes NaN natively.

    With its default ``min_samples_leaf=20`` a boosted tree cannot split fewer
    than 40 rows and predicts the majority class for the first labels of a
    session. Unless ``params`` sets ``min_samples_leaf``, the head therefore
    uses ``min(20, max(1, n_labels // 4))`` (20 from 80 labels on) and records
    the change in ``fit_notes_``. On OGLE-III with 20 random labels this lifts
    test accuracy from 0.27 (majority class) to 0.81 and leaves 50+ labels
    unchanged (mean of 5 seeds).

    Parameters are those of :class:`LogisticRegressionHead` (``scale``
    defaults to False); ``params`` go to ``HistGradientBoostingClassifier``.
    """

    type_name: ClassVar[str] = "hist_gradient_boosting"
    estimator_class = HistGradientBoostingClassifier
    params_spec = sklearn_params(HistGradientBoostingClassifier, type_name, scale=False)
    handles_nan = True
    expected_failed_checks = {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE.format(
            model="HistGradientBoostingClassifier (binning)"),
    }
    DEFAULT_MIN_SAMPLES_LEAF: ClassVar[int] = 20

    def __init__(self, *, classes=None, scale=False, class_weight=None, params=None, random_state=None):
        self.classes = classes
        self.scale = scale
        self.class_weight = class_weight
        self.params = params
        self.random_state = random_state

    def _estimator_params(self, n_samples):
        params = super()._estimator_params(n_samples)
        if "min_samples_leaf" not in params:
            leaf = min(self.DEFAULT_MIN_SAMPLES_LEAF, max(1, n_samples // 4))
            if leaf != self.DEFAULT_MIN_SAMPLES_LEAF:
                params["min_samples_leaf"] = leaf
                self.fit_notes_.append(
                    f"min_samples_leaf {self.DEFAULT_MIN_SAMPLES_LEAF} -> {leaf} for {n_samples} labels "
                    "(set head.params.min_samples_leaf to fix it)"
                )
        return params


class KNNHead(SklearnHead):
    """k nearest neighbours (median impute + missing indicators + scaling).

    With fewer labels than ``n_neighbors`` the head uses all labels as
    neighbours and records the change in ``fit_notes_``. There is no
    ``class_weight`` and ``fit`` takes no ``sample_weight``:
    ``KNeighborsClassifier`` has neither (``params: {weights: distance}`` is
    the usual remedy for imbalance).

    Parameters
    ----------
    classes, scale, params, random_state
        As in :class:`LogisticRegressionHead` (``random_state`` is unused:
        nearest neighbours are deterministic; it is accepted so every head
        takes the config seed).
    """

    type_name: ClassVar[str] = "knn"
    estimator_class = KNeighborsClassifier
    params_spec = sklearn_params(KNeighborsClassifier, type_name, scale=True, class_weight=False)
    supports_sample_weight = False
    unsupported_spec_keys = {
        "class_weight": "KNeighborsClassifier takes neither class nor sample weights; "
        "use params: {weights: distance} or another head",
    }

    def __init__(self, *, classes=None, scale=True, params=None, random_state=None):
        self.classes = classes
        self.scale = scale
        self.params = params
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on labelled rows (no ``sample_weight``: see the class docstring).

        Returns
        -------
        self
        """
        return super().fit(X, y)

    def _estimator_params(self, n_samples):
        params = super()._estimator_params(n_samples)
        wanted = params.get("n_neighbors", KNeighborsClassifier().n_neighbors)
        if wanted > n_samples:
            params["n_neighbors"] = n_samples
            self.fit_notes_.append(f"n_neighbors {wanted} -> {n_samples}: only {n_samples} labels")
        return params


class MLPHead(SklearnHead):
    """Multi-layer perceptron (``MLPClassifier``; impute + scale), with ``partial_fit``.

    ``class_weight="balanced"`` is applied as sample weights. ``partial_fit``
    fits the imputer and scaler on the first batch and keeps them afterwards.
    """

    type_name: ClassVar[str] = "mlp"
    estimator_class = MLPClassifier
    params_spec = sklearn_params(MLPClassifier, type_name, scale=True)

    def __init__(self, *, classes=None, scale=True, class_weight=None, params=None, random_state=None):
        self.classes = classes
        self.scale = scale
        self.class_weight = class_weight
        self.params = params
        self.random_state = random_state
