"""The classifier-head base class, head specs and ``build_head``.

A *head* is the classifier that sits on top of the feature matrix: it learns
from the labelled rows and scores the whole pool. Every head follows the
scikit-learn estimator contract (``__init__`` only stores arguments, ``fit``
returns ``self``, learned attributes end in ``_``, ``predict_proba`` columns
follow ``classes_``, ``NotFittedError`` before fit, randomness through
``random_state``, ``clone`` works) and adds three things alabel needs:

* **Explicit classes.** ``classes=[...]`` fixes ``classes_`` (order included)
  before any label exists, and ``predict_proba`` has a column for each of them,
  zero for classes absent from the training labels. The probability matrix
  therefore keeps its shape while early rounds still miss a class.
* **NaN in X.** Missing values carry information in our data, so every head
  accepts NaN (imputing inside its own pipeline when the model cannot).
* **A single class in y** is not an error: the head predicts that class with
  probability 1 (the first labels of a session often share one class).

Writing a head (the torch heads do exactly this)
-------------------------------------------------
Subclass :class:`Head`, declare ``type_name``, list every hyper-parameter in
``__init__`` (keyword arguments, stored unchanged, ``classes=None`` and
``random_state=None`` among them) and implement

* ``_fit(X, y, sample_weight)`` – ``y`` holds int64 indices into ``classes_``
  and has at least two distinct values; ``sample_weight`` is None or float64;
* ``_predict_proba(X)`` – an ``(n, len(classes_))`` array in ``classes_`` order;
* optionally ``_partial_fit(X, y, sample_weight)`` (then ``partial_fit``
  becomes available; ``y`` indexes ``classes_``, which holds every class) and
  ``_save`` / ``_load`` for a storage format other than skops.

Declare every hyper-parameter in ``params_spec`` too (:mod:`core.params`:
type, bounds, doc; the default equal to ``__init__``'s): config validation
and the UI read it. A key a plugin head leaves undeclared is passed on
unchecked.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..errors import ConfigError, DataError, NotReadyError, did_you_mean
from ..params import CheckedParams, Param, Spec
from ..registry import concrete_descendants, resolve
from .skops_payload import skops_dump, skops_load

#: Spec keys alabel sets itself (from the label schema and the config seed).
RESERVED_SPEC_KEYS = ("classes", "random_state")


def _has_partial_fit(head: "Head") -> bool:
    return head._supports_partial_fit()


class Head(ClassifierMixin, BaseEstimator):
    """Base class of every classifier head (scikit-learn estimator contract).

    Subclasses declare ``type_name: ClassVar[str]`` (the name ``head.type``
    uses in config.yaml) and implement ``_fit`` and ``_predict_proba``; see the
    module docstring.

    Attributes
    ----------
    classes_ : ndarray
        The explicit ``classes`` when given (same order), else the sorted
        distinct labels. This and the attributes below are set by ``fit``.
    n_features_in_ : int
        Number of feature columns seen in ``fit``.
    single_class_ : object or None
        The only class present in ``y`` when ``y`` has a single class (the
        head then predicts it with probability 1), else None.
    fit_notes_ : list of str
        Human-readable notes about adjustments made for this fit (e.g. a
        parameter capped because there were few labels); empty when none.
    """

    type_name: ClassVar[str]
    #: Whether ``fit`` honours ``sample_weight`` (loops that weight samples check it).
    supports_sample_weight: ClassVar[bool] = True
    #: Whether the same ``random_state`` gives bitwise-identical probabilities.
    deterministic: ClassVar[bool] = True
    #: Spec keys other heads take but this one cannot, with the reason (for a clear error).
    unsupported_spec_keys: ClassVar[dict[str, str]] = {}
    #: scikit-learn estimator checks this head fails by design, with the reason
    #: (for ``parametrize_with_checks(..., expected_failed_checks=...)``).
    expected_failed_checks: ClassVar[dict[str, str]] = {}
    #: Declarations of the spec keys (``classes`` and ``random_state`` excluded).
    params_spec: ClassVar[dict[str, Param]] = {}

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Fit the head on labelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; NaN allowed.
        y : array-like of shape (n_samples,)
            Class labels (strings in alabel); must belong to ``classes`` when
            that is given.
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights. Never ignored silently: a head that cannot use
            them (``supports_sample_weight`` False) raises ``ValueError``.

        Returns
        -------
        self
        """
        X, y = validate_data(
            self, X, y, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32]
        )
        check_classification_targets(y)
        self.classes_ = self._resolve_classes(y)
        y_idx = self._encode(y)
        sample_weight = self._check_weight(X, sample_weight)
        self.fit_notes_ = []
        present = np.unique(y_idx)
        if len(present) == 1:
            # Nothing to discriminate: a model cannot fit one class (LogisticRegression
            # raises), yet the session needs probabilities from the first label on.
            self.single_class_ = self.classes_.tolist()[present[0]]
            self.fit_notes_.append(
                f"only one class ({self.single_class_!r}) in {len(y)} labels: predicting it with probability 1"
            )
            return self
        self.single_class_ = None
        self._fit(X, y_idx, sample_weight)
        return self

    @available_if(_has_partial_fit)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the head with a batch of labelled rows (incremental training).

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : list, optional
            All classes, needed on the first call unless the head was built
            with ``classes``; ignored afterwards.

        Returns
        -------
        self
        """
        first = not hasattr(self, "classes_")
        X, y = validate_data(
            self, X, y, reset=first, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32]
        )
        check_classification_targets(y)
        if first:
            given = self.classes if self.classes is not None else classes
            if given is None:
                raise NotReadyError(
                    f"{type(self).__name__}.partial_fit: the first call needs the full class list "
                    "(classes=...) because later batches may bring new classes"
                )
            self.classes_ = _as_class_array(given)
            self.fit_notes_ = []
        self.single_class_ = None
        self._partial_fit(X, self._encode(y), self._check_weight(X, sample_weight))
        return self

    # -------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Class probabilities, one column per entry of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; NaN allowed.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1; classes never seen in training get 0.
        """
        check_is_fitted(self, "classes_")
        X = validate_data(
            self, X, reset=False, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32]
        )
        if self.single_class_ is not None:
            proba = np.zeros((X.shape[0], len(self.classes_)))
            proba[:, self._encode(np.asarray([self.single_class_]))[0]] = 1.0
            return proba
        return self._predict_proba(X)

    def predict(self, X):
        """Most probable class of each row (ties go to the first class in ``classes_``)."""
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ exists
        return self.classes_[np.argmax(proba, axis=1)]

    # ------------------------------------------------------ subclass hooks
    def evaluation_template(self) -> "Head":
        """What refits that measure this model clone: out-of-fold evaluation, the audit estimate.

        The head itself; a head that chooses among candidates (``auto``)
        returns its choice, so that a refit measures the chosen model without
        re-running the choice.
        """
        return self

    def _fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> None:
        raise NotImplementedError

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _partial_fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> None:
        raise NotImplementedError  # pragma: no cover - hidden by available_if

    def _supports_partial_fit(self) -> bool:
        """Whether ``partial_fit`` exists (``hasattr(head, "partial_fit")`` follows this)."""
        return type(self)._partial_fit is not Head._partial_fit

    # --------------------------------------------------------- persistence
    def _save(self, path: Path) -> None:
        """Write this fitted head's payload into the directory ``path`` (skops format)."""
        skops_dump(self, path)

    @classmethod
    def _load(cls, path: Path) -> "Head":
        """Read a head written by :meth:`_save` from the directory ``path``."""
        return skops_load(cls, path, heads=skops_heads())

    # ------------------------------------------------------------- helpers
    def _resolve_classes(self, y: np.ndarray) -> np.ndarray:
        if self.classes is None:
            return np.unique(y)
        classes = _as_class_array(self.classes)
        unknown = sorted({str(v) for v in np.unique(y)} - {str(c) for c in classes.tolist()})
        if unknown:
            raise DataError(
                f"{type(self).__name__}.fit: labels {unknown[:5]} are not among the head's classes "
                f"{classes.tolist()}"
            )
        return classes

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Map labels to int64 indices into ``classes_``."""
        lookup = {c: i for i, c in enumerate(self.classes_.tolist())}
        uniques, inverse = np.unique(y, return_inverse=True)
        try:
            codes = np.array([lookup[u] for u in uniques.tolist()], dtype=np.int64)
        except KeyError as exc:
            raise DataError(
                f"{type(self).__name__}: label {exc.args[0]!r} is not among the head's classes "
                f"{self.classes_.tolist()}"
            ) from None
        return codes[inverse.reshape(-1)]

    def _check_weight(self, X: np.ndarray, sample_weight) -> np.ndarray | None:
        if sample_weight is None:
            return None
        if not self.supports_sample_weight:
            raise ValueError(f"{type(self).__name__} cannot use sample weights")
        return _check_sample_weight(sample_weight, X, dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = not self.deterministic
        return tags

    # ---------------------------------------------------- config validation
    @classmethod
    def spec_keys(cls) -> tuple[str, ...]:
        """Keys a config spec may set for this head (``type`` excluded)."""
        return tuple(k for k in cls._get_param_names() if k not in RESERVED_SPEC_KEYS)

    @classmethod
    def validate_spec(cls, spec: dict, *, where: str = "config.yaml", key: str = "head") -> dict[str, Any]:
        """Check every key and value of ``spec``; return the ``__init__`` keyword arguments.

        Raises
        ------
        ConfigError
            Naming ``where`` and ``<key>.<name>`` for the first bad entry.
        """
        allowed = cls.spec_keys()
        kwargs: dict[str, Any] = {}
        for name, value in spec.items():
            if name == "type":
                continue
            if name in RESERVED_SPEC_KEYS:
                raise ConfigError(
                    f"{where}: {key}.{name}: set by alabel (classes come from the label schema, "
                    "random_state from the config seed), not in the head spec"
                )
            if name in cls.unsupported_spec_keys:
                raise ConfigError(
                    f"{where}: {key}.{name}: not supported by head {cls.type_name!r}: "
                    f"{cls.unsupported_spec_keys[name]}"
                )
            if name not in allowed:
                raise ConfigError(
                    f"{where}: {key}.{name}: unknown key for head {cls.type_name!r}"
                    f"{did_you_mean(name, allowed)}; known: {', '.join(allowed)}"
                )
            if name in cls.params_spec:
                cls.params_spec[name].validate(value, where=where, key=f"{key}.{name}")
            kwargs[name] = value
        return kwargs


def _as_class_array(classes) -> np.ndarray:
    values = list(classes)
    if not values:
        raise ConfigError("head: classes must list at least one class")
    if len({str(v) for v in values}) != len(values):
        raise ConfigError(f"head: classes must be distinct, got {values}")
    return np.asarray(values)


def _check_spec_mapping(spec: Any, *, where: str, key: str) -> None:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: {key}: must be a mapping with a 'type' key, got {type(spec).__name__}")
    if "type" not in spec:
        known = ", ".join(concrete_descendants(Head))
        raise ConfigError(f"{where}: {key}.type: missing; known head types: {known}")


def parse_head(spec: Any, *, where: str = "config.yaml", key: str = "head") -> Spec:
    """Validate a head spec completely; return it as a :class:`~core.params.Spec`.

    A Spec (validated already) is returned as it is.

    Raises
    ------
    ConfigError
        On an unknown type, an unknown key or an invalid value.
    """
    if isinstance(spec, Spec):
        return spec
    _check_spec_mapping(spec, where=where, key=key)
    cls = resolve(Head, spec["type"], key=f"{key}.type", where=where)
    return Spec(spec, cls, CheckedParams(cls.validate_spec(spec, where=where, key=key)))


def build_head(
    spec: dict | Spec,
    *,
    classes: list[str] | None,
    random_state: int | None,
    where: str = "config.yaml",
    key: str = "head",
) -> Head:
    """Validate a head spec (unless it is a validated Spec) and return the (unfitted) head.

    Parameters
    ----------
    spec : dict or Spec
        ``{"type": <registered name or dotted path>, <param>: <value>, ...}``.
    classes : list of str or None
        The label schema's classes (fixes ``classes_`` and the probability columns).
    random_state : int or None
        Seed (from the config seed).
    where, key
        File and key path used in error messages.

    Raises
    ------
    ConfigError
        On an unknown type, an unknown key or an invalid value.
    """
    spec = parse_head(spec, where=where, key=key)
    return spec.build(classes=None if classes is None else list(classes), random_state=random_state)


def head_spec_keys(head_type: str | type[Head]) -> tuple[str, ...]:
    """All keys a spec for ``head_type`` may hold, ``type`` first."""
    cls = resolve(Head, head_type) if isinstance(head_type, str) else head_type
    return ("type", *cls.spec_keys())


def to_spec(head: Head) -> dict[str, Any]:
    """The spec that rebuilds ``head`` with :func:`build_head` (for config export)."""
    params = head.get_params(deep=False)
    spec: dict[str, Any] = {"type": type(head).type_name}
    for name in type(head).spec_keys():
        spec[name] = copy.deepcopy(params[name])
    return spec


def skops_heads() -> frozenset[type]:
    """alabel's registered heads whose payload is skops (their classes are allowed in model files)."""
    return frozenset(cls for cls in concrete_descendants(Head).values()
                     if cls.__module__.startswith("alabel.core.heads.") and cls._save is Head._save)
