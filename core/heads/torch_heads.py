"""Torch heads: linear probe, MLP with MC-dropout, and prototypes.

They train on a GPU when there is one and on the CPU otherwise, behind the
same :class:`~.base.Head` contract as the scikit-learn heads (``fit``,
``partial_fit``, ``predict_proba``, ``classes_``, ``clone``, seeded). On top
of it they offer what a labelling session needs from a model that retrains in
the background and scores millions of rows:

* ``progress_callback(epoch, max_epochs, loss)`` after each epoch and a
  ``cancel_event`` checked before each one (raising
  :class:`~alabel.core.training.retrain.TrainingCancelled`); both are settable
  attributes or ``fit`` keyword arguments;
* **warm start**: with ``warm_start=True`` a refit (or a fresh head given the
  previous one through :meth:`TorchHead.warm_start_from`) continues from the
  previous weights for ``warm_epochs`` epochs, and every
  ``full_retrain_every``-th fit retrains from scratch;
* :meth:`TorchHead.score_pool`: per-row log-sum-exp, top-1/top-2 probability,
  argmax and entropy through the fused kernels, never holding N × C logits;
* safe persistence: tensors via ``torch.save``/``torch.load(weights_only=True)``
  plus a JSON file, no pickle.

Inputs may hold NaN: each head imputes medians, appends missing indicators and
standardises inside itself. Classes without a training label get probability
0 (their logits are masked), so the output layer stays the size of
``classes`` from the first round on.

Maximum number of classes: the output layer holds C × d weights and scoring
chunks hold ``score_chunk_rows`` × C probabilities for ``predict_proba`` (not
for ``score_pool``); the Triton kernels index with 32-bit offsets, so C × d and
chunk rows × d must stay below 2**31 (e.g. C ≤ 5 million at d = 384).

This module imports torch only inside methods, so that registering the heads
(importing :mod:`alabel.core.heads`) stays cheap.

Why one module of this size: the three torch heads share one training loop
(mini-batches, class weights, warm start, cancellation, progress), one
imputation/indicator step and one safe persistence format (JSON + tensors
loaded with ``weights_only``); the nets themselves live in ``nets/``. Split by
head, each file would repeat or import most of the rest.
"""
from __future__ import annotations

import json
import pickle  # only for its exception type: loading never unpickles objects
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ConfigError, DataError
from ..params import Param, boolean, custom, integer, number
from .base import Head

ProgressCallback = Callable[[int, int, float], None]

#: Files of a saved torch head (inside the directory ``save_head`` creates).
STATE_FILE = "torch_head.pt"
META_FILE = "torch_head.json"
#: Logit given to classes that have no training label (exp underflows to 0).
MASKED_LOGIT = -1.0e30


# --------------------------------------------------------------------------- parameters
def _positive_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


def _hidden(v):
    return _positive_int(v) or isinstance(v, (list, tuple)) and all(_positive_int(h) for h in v)


def _class_weight(v):
    return v == "balanced" or isinstance(v, dict) and all(
        isinstance(w, (int, float, np.number)) and not isinstance(w, bool) and np.isfinite(w) and w >= 0
        for w in v.values())


def _check_device(value: str, where: str, key: str) -> None:
    if value == "auto":
        return
    import torch

    try:
        torch.device(value)
    except (RuntimeError, TypeError):
        raise ConfigError(f"{where}: {key}: {value!r} is not a torch device") from None


#: Every torch head parameter; each head declares the ones its ``__init__`` takes.
TORCH_PARAMS: dict[str, Param] = {
    "device": Param("auto", "where to train: 'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or "
                    "'cuda:N'", "text", nested=_check_device, label="Device",
                    expected="'auto', 'cpu', 'cuda' or 'cuda:N'"),
    "max_epochs": integer(100, "epochs of a full (re)train", low=1, label="Epochs"),
    "warm_epochs": integer(None, "epochs of a warm fit; null: max(1, max_epochs // 10)", low=1, nullable=True,
                           label="Warm-start epochs"),
    "full_retrain_every": integer(10, "every this-many fits retrain from scratch even when warm "
                                  "starting; null: never", low=1, nullable=True, label="Full retrain every"),
    "lr": number(0.01, "AdamW learning rate", low=0, low_open=True, label="Learning rate"),
    "weight_decay": number(0.01, "AdamW decoupled weight decay (weights only)", low=0, label="Weight decay"),
    "batch_size": integer(256, "rows per optimisation step", low=1, label="Batch size"),
    "hidden": custom(128, "widths of the hidden layers", accepts=_hidden,
                     expected="an integer >= 1 or a list of them", label="Hidden layers"),
    "dropout": number(0.2, "dropout probability after each hidden layer (training and MC-dropout)", low=0,
                      high=1, high_open=True, label="Dropout"),
    "class_weight": custom(None, "loss weight per class: 'balanced' inversely to the label counts, or a "
                           "mapping class -> weight; null: equal", accepts=_class_weight,
                           expected="null, 'balanced' or a mapping class -> weight >= 0", nullable=True,
                           label="Class weights"),
    "num_threads": integer(None, "CPU threads torch may use; null: all cores but one", low=1, nullable=True,
                           label="CPU threads"),
    "warm_start": boolean(False, "continue from the previous weights at the next fit (short fine-tune)",
                          label="Warm start"),
    "temperature": number(None, "fixed temperature of the prototype softmax; null: learned", low=0,
                          low_open=True, nullable=True, label="Temperature"),
}


def _torch_params(*names: str) -> dict[str, Param]:
    return {name: TORCH_PARAMS[name] for name in names}


_NET_PARAMS = ("device", "max_epochs", "lr", "weight_decay", "batch_size", "class_weight", "num_threads",
               "warm_start", "warm_epochs", "full_retrain_every")


# --------------------------------------------------------------------------- base
class TorchHead(Head):
    """Shared machinery of the torch heads (not registered itself).

    Subclasses implement ``_fit``/``_partial_fit`` plus ``_features`` (network
    input → input of the output layer) and ``_output_layer`` (its weights and
    bias, absent classes masked); prediction, pool scoring, hooks, threads and
    persistence live here.
    """

    #: Rows per chunk when predicting or scoring (bounds memory on huge pools).
    score_chunk_rows: ClassVar[int] = 65_536
    #: Whether :meth:`warm_start_from` is meaningful (the trainer checks it).
    supports_warm_start: ClassVar[bool] = False

    #: Called after each epoch as ``progress_callback(epoch, max_epochs, loss)``.
    progress_callback: ProgressCallback | None = None
    #: Checked before each epoch; when set, fitting raises ``TrainingCancelled``.
    cancel_event: threading.Event | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None, *, progress_callback=None, cancel_event=None):
        """Fit the head (see :meth:`Head.fit`).

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`Head.fit`; X may hold NaN.
        progress_callback : callable, optional
            Sets :attr:`progress_callback` before fitting.
        cancel_event : threading.Event, optional
            Sets :attr:`cancel_event` before fitting.

        Returns
        -------
        self
        """
        if progress_callback is not None:
            self.progress_callback = progress_callback
        if cancel_event is not None:
            self.cancel_event = cancel_event
        try:
            return super().fit(X, y, sample_weight)
        finally:
            # Never keep the previous head alive through a chain of retrains.
            self.__dict__.pop("_warm_source", None)

    def _check_params(self) -> None:
        """The same declarations as config validation, for heads built in Python (``set_params``)."""
        for name, value in self.get_params(deep=False).items():
            param = self.params_spec.get(name)
            problem = param.problem(value) if param is not None else None
            if problem:
                raise ValueError(f"{type(self).__name__}: {name} {problem}")

    def _seeds(self, stream: int = 0) -> tuple[int, int, int]:
        """Seeds for initial weights, batch order and dropout masks."""
        rng = check_random_state(self.random_state)
        base = rng.randint(0, 2**31 - 1, size=3)
        return tuple(int((s + 7919 * stream) % (2**31 - 1)) for s in base)

    # -------------------------------------------------------------- predict
    def _features(self, Z):  # pragma: no cover - abstract
        """Input of the output layer for standardised inputs ``Z`` (torch, on device)."""
        raise NotImplementedError

    def _output_layer(self):  # pragma: no cover - abstract
        """``(W, b)`` of the output layer on the device, absent classes' bias masked."""
        raise NotImplementedError

    def _chunks(self, X):
        """Yield ``(slice, features)`` for chunks of raw rows ``X`` (streams memmaps)."""
        import torch

        for start in range(0, X.shape[0], self.score_chunk_rows):
            sl = slice(start, min(X.shape[0], start + self.score_chunk_rows))
            Z = torch.from_numpy(self.standardiser_.transform(np.asarray(X[sl]))).to(self.device_)
            with torch.no_grad():
                yield sl, self._features(Z)

    def _predict_proba(self, X):
        import torch

        from .nets.train import torch_threads

        out = np.empty((X.shape[0], len(self.classes_)), dtype=np.float64)
        with torch_threads(self.num_threads):
            W, b = self._output_layer()
            for sl, H in self._chunks(X):
                logits = torch.nn.functional.linear(H, W, b)
                out[sl] = torch.softmax(logits.double(), dim=1).cpu().numpy()
        return out

    def score_pool(self, X, *, backend: str = "auto") -> dict[str, np.ndarray]:
        """Uncertainty statistics of every row without materialising N × C logits.

        Uses the fused pool-scoring kernel (Triton on CUDA, chunked torch on
        CPU), one chunk of ``score_chunk_rows`` rows at a time, so ``X`` may be
        a memory-mapped array larger than memory.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Raw features (NaN allowed), e.g. ``np.load(path, mmap_mode="r")``.
        backend : {'auto', 'triton', 'torch'}
            Kernel choice (see :func:`alabel.core.heads.kernels.pool_scores`).

        Returns
        -------
        dict of ndarray, shape (n_samples,)
            ``lse`` (log-sum-exp of the output logits; for ``prototype`` it omits
            the row's own ``-β‖x‖²/d`` term, which no probability depends on),
            ``top1``, ``top2`` (largest probabilities), ``entropy`` (nats), all
            float32, and ``argmax`` (int64 index into ``classes_``).
        """
        check_is_fitted(self, "classes_")
        if not hasattr(X, "dtype") or X.ndim != 2:
            X = np.asarray(X, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{type(self).__name__}.score_pool: X has {X.shape[1]} features, the head was fitted on "
                f"{self.n_features_in_}"
            )
        n = X.shape[0]
        out = {k: np.empty(n, dtype=np.float32) for k in ("lse", "top1", "top2", "entropy")}
        out["argmax"] = np.empty(n, dtype=np.int64)
        if self.single_class_ is not None:
            out["lse"][:] = 0.0
            out["top1"][:] = 1.0
            out["top2"][:] = 0.0
            out["entropy"][:] = 0.0
            out["argmax"][:] = self._encode(np.asarray([self.single_class_]))[0]
            return out
        from .kernels import pool_scores
        from .nets.train import torch_threads

        with torch_threads(self.num_threads):
            W, b = self._output_layer()
            for sl, H in self._chunks(X):
                stats = pool_scores(H, W, b, backend=backend)
                for key, value in stats.items():
                    out[key][sl] = value.cpu().numpy()
        return out

    # ---------------------------------------------------------- persistence
    def _save(self, path: Path) -> None:
        """Write ``torch_head.json`` (parameters, classes) and ``torch_head.pt`` (tensors)."""
        import torch

        tensors = {k: v.detach().cpu().contiguous() for k, v in self._state_tensors().items()}
        meta = {
            "type": type(self).type_name,
            "params": _jsonable_params(self.get_params(deep=False)),
            "classes": np.asarray(self.classes_).tolist(),
            "classes_dtype": np.asarray(self.classes_).dtype.str,
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": (
                np.asarray(self.feature_names_in_).tolist() if hasattr(self, "feature_names_in_") else None
            ),
            "single_class": None if self.single_class_ is None else np.asarray(self.single_class_).tolist(),
            "fit_notes": list(getattr(self, "fit_notes_", [])),
            "scalars": self._state_scalars(),
        }
        torch.save(tensors, Path(path) / STATE_FILE)
        (Path(path) / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def _load(cls, path: Path) -> "TorchHead":
        """Read a head written by :meth:`_save` (``weights_only`` load: no pickle)."""
        import torch

        path = Path(path)
        meta_file, state_file = path / META_FILE, path / STATE_FILE
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            tensors = torch.load(state_file, map_location="cpu", weights_only=True)
        except FileNotFoundError as exc:
            raise DataError(f"{exc.filename}: not found (incomplete torch head)") from None
        except (OSError, ValueError, RuntimeError, pickle.UnpicklingError) as exc:
            # weights_only=True refuses anything but tensors and plain containers.
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise DataError(f"{path}: unreadable torch head ({type(exc).__name__}: {first_line})") from None
        if meta.get("type") != cls.type_name:
            raise DataError(f"{meta_file}: type: {meta.get('type')!r}, expected {cls.type_name!r}")
        params = _restore_params(meta["params"])
        head = cls(**params)
        head.classes_ = np.asarray(meta["classes"], dtype=np.dtype(meta["classes_dtype"]))
        head.n_features_in_ = int(meta["n_features_in"])
        if meta.get("feature_names_in") is not None:
            head.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        head.single_class_ = meta["single_class"]
        head.fit_notes_ = list(meta.get("fit_notes", []))
        if head.single_class_ is None:
            head._restore_state(tensors, meta.get("scalars", {}))
        return head

    def _state_tensors(self) -> dict:
        if self.single_class_ is not None:
            return {}
        import torch

        arrays = {f"standardiser.{k}": torch.from_numpy(np.ascontiguousarray(v))
                  for k, v in self.standardiser_.to_arrays().items()}
        arrays["trained_mask"] = torch.from_numpy(self.trained_mask_.astype(np.uint8))
        return arrays

    def _state_scalars(self) -> dict:
        return {}

    def _restore_state(self, tensors: dict, scalars: dict) -> None:
        from .nets.preprocess import Standardiser
        from .nets.train import resolve_device

        self.standardiser_ = Standardiser.from_arrays(
            {k.split(".", 1)[1]: v.numpy() for k, v in tensors.items() if k.startswith("standardiser.")})
        self.trained_mask_ = tensors["trained_mask"].numpy().astype(bool)
        self.device_ = resolve_device(self.device)


def _jsonable_params(params: dict) -> dict:
    out = {}
    for name, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        if name == "class_weight" and isinstance(value, dict):
            value = {"__pairs__": [[np.asarray(k).tolist(), float(w)] for k, w in value.items()]}
        if name == "classes" and value is not None:
            value = np.asarray(value).tolist()
        if name == "hidden" and isinstance(value, tuple):
            value = list(value)
        if name == "random_state" and not (value is None or isinstance(value, int)):
            value = None  # a RandomState object cannot be saved; the fitted weights are
        out[name] = value
    return out


def _restore_params(params: dict) -> dict:
    out = dict(params)
    cw = out.get("class_weight")
    if isinstance(cw, dict) and "__pairs__" in cw:
        out["class_weight"] = {k: w for k, w in cw["__pairs__"]}
    return out


# --------------------------------------------------------------------------- trained networks
class _NetHead(TorchHead):
    """Linear probe and MLP: a :class:`~.nets.modules.HeadNet` trained with AdamW."""

    supports_warm_start: ClassVar[bool] = True
    #: scikit-learn estimator checks these heads fail by design, with the reason
    #: (for ``parametrize_with_checks(..., expected_failed_checks=...)``).
    expected_failed_checks: ClassVar[dict[str, str]] = {
        "check_sample_weight_equivalence_on_dense_data":
            "mini-batch SGD: a row weight scales a gradient step, it does not repeat the row",
    }

    def _hidden_sizes(self) -> tuple[int, ...]:
        return ()

    def _dropout(self) -> float:
        return 0.0

    def warm_start_from(self, previous: Head) -> "_NetHead":
        """Let the next :meth:`fit` continue from ``previous``'s weights.

        Used by the trainer, which builds a fresh head for each retrain. Only
        takes effect with ``warm_start=True`` and when ``previous`` is a fitted
        head of the same type, classes, features and layer sizes; otherwise
        the fit starts from scratch (and says why in ``fit_notes_``).

        Returns
        -------
        self
        """
        self._warm_source = previous
        return self

    # ------------------------------------------------------------------ fit
    def _warm_origin(self, X) -> tuple[Any, str]:
        """The head to continue from (or None) and, when None, why not."""
        if not self.warm_start:
            return None, ""
        source = self.__dict__.get("_warm_source", self)
        if not hasattr(source, "net_"):
            return None, "" if source is self else "warm start: the previous head has no trained network"
        if type(source) is not type(self):
            return None, f"warm start: previous head is a {type(source).__name__}"
        if source.n_features_in_ != X.shape[1]:
            return None, "warm start: the number of features changed"
        if [str(c) for c in source.classes_.tolist()] != [str(c) for c in self.classes_.tolist()]:
            return None, "warm start: the classes changed"
        if source.net_.hidden_sizes != self._hidden_sizes():
            return None, "warm start: the layer sizes changed"
        every = self.full_retrain_every
        if every is not None and source.fits_since_full_ + 1 >= every:
            return None, f"scheduled full retrain (every {every} fits)"
        return source, ""

    def _fit(self, X, y, sample_weight):
        import torch

        from .nets.modules import HeadNet
        from .nets.preprocess import Standardiser
        from .nets.train import resolve_device, torch_threads

        self._check_params()
        device = resolve_device(self.device)
        origin, why = self._warm_origin(X)
        if why:
            self.fit_notes_.append(why)
        with torch_threads(self.num_threads):
            if origin is None:
                standardiser = Standardiser.fit(X, sample_weight)
                init, _, _ = self._seeds()
                net = HeadNet(standardiser.n_outputs, len(self.classes_), self._hidden_sizes(), self._dropout(),
                              torch.Generator().manual_seed(init))
                epochs, fits_since_full, stream = self.max_epochs, 0, 0
            else:
                standardiser = origin.standardiser_  # the weights only mean something on these inputs
                net = HeadNet(standardiser.n_outputs, len(self.classes_), self._hidden_sizes(), self._dropout(),
                              torch.Generator().manual_seed(0))
                net.load_state_dict({k: v.detach().clone() for k, v in origin.net_.state_dict().items()})
                epochs = self.warm_epochs or max(1, self.max_epochs // 10)
                fits_since_full = origin.fits_since_full_ + 1
                stream = fits_since_full
            net = net.to(device)
            log = self._train(net, standardiser, X, y, sample_weight, epochs, device, stream)
        self.standardiser_ = standardiser
        self.net_ = net
        self.device_ = device
        self.trained_mask_ = np.bincount(y, minlength=len(self.classes_)) > 0
        self.fit_kind_ = "full" if origin is None else "warm"
        self.fits_since_full_ = fits_since_full
        self.n_epochs_ = log.epochs
        self.n_steps_ = log.steps
        self.loss_ = log.last_loss

    def _partial_fit(self, X, y, sample_weight):
        """One epoch over the batch, from the current weights (initialised on the first call)."""
        import torch

        from .nets.modules import HeadNet
        from .nets.preprocess import Standardiser
        from .nets.train import resolve_device, torch_threads

        self._check_params()
        first = not hasattr(self, "net_")
        with torch_threads(self.num_threads):
            if first:
                self.device_ = resolve_device(self.device)
                self.standardiser_ = Standardiser.fit(X, sample_weight)
                init, _, _ = self._seeds()
                self.net_ = HeadNet(self.standardiser_.n_outputs, len(self.classes_), self._hidden_sizes(),
                                    self._dropout(), torch.Generator().manual_seed(init)).to(self.device_)
                self.trained_mask_ = np.zeros(len(self.classes_), dtype=bool)
                self.fits_since_full_ = 0
            self.n_partial_ = getattr(self, "n_partial_", 0) + 1
            log = self._train(self.net_, self.standardiser_, X, y, sample_weight, 1, self.device_, self.n_partial_)
        self.trained_mask_ |= np.bincount(y, minlength=len(self.classes_)) > 0
        self.fit_kind_ = "partial"
        self.n_epochs_ = log.epochs
        self.n_steps_ = log.steps
        self.loss_ = log.last_loss

    def _train(self, net, standardiser, X, y, sample_weight, epochs, device, stream):
        import torch

        from .nets.train import train

        _, shuffle, dropout = self._seeds(stream)
        Z = torch.from_numpy(standardiser.transform(X)).to(device)
        yt = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device)
        row_weight = self._row_weights(y, sample_weight)
        return train(
            net, Z, yt,
            epochs=epochs, lr=float(self.lr), weight_decay=float(self.weight_decay),
            batch_size=int(self.batch_size),
            shuffle_generator=torch.Generator().manual_seed(shuffle),
            dropout_generator=torch.Generator(device=device).manual_seed(dropout),
            row_weight=None if row_weight is None else torch.from_numpy(row_weight).to(device),
            progress=self.progress_callback, cancel=self.cancel_event, who=type(self).__name__,
        )

    def _row_weights(self, y: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray | None:
        """Class weight × sample weight per row (None when both are absent)."""
        cw = self.class_weight
        if cw is None and sample_weight is None:
            return None
        w = np.ones(len(y), dtype=np.float32)
        if cw == "balanced":
            counts = np.bincount(y, minlength=len(self.classes_)).astype(np.float64)
            present = counts > 0
            per_class = np.zeros_like(counts)
            per_class[present] = len(y) / (present.sum() * counts[present])
            w *= per_class[y].astype(np.float32)
        elif isinstance(cw, dict):
            lookup = {str(k): float(v) for k, v in cw.items()}
            unknown = sorted(set(lookup) - {str(c) for c in self.classes_.tolist()})
            if unknown:
                raise ValueError(f"{type(self).__name__}: class_weight names unknown classes {unknown[:5]}")
            per_class = np.array([lookup.get(str(c), 1.0) for c in self.classes_.tolist()], dtype=np.float32)
            w *= per_class[y]
        if sample_weight is not None:
            w *= np.asarray(sample_weight, dtype=np.float32)
        return w

    # -------------------------------------------------------------- predict
    def _features(self, Z):
        return self.net_.features(Z)

    def _output_layer(self):
        import torch

        mask = torch.from_numpy(self.trained_mask_).to(self.net_.out_b.device)
        b = torch.where(mask, self.net_.out_b.detach(), torch.full_like(self.net_.out_b, MASKED_LOGIT))
        return self.net_.out_w.detach(), b

    # ---------------------------------------------------------- persistence
    def _state_tensors(self) -> dict:
        tensors = super()._state_tensors()
        if self.single_class_ is None:
            tensors.update({f"net.{k}": v for k, v in self.net_.state_dict().items()})
        return tensors

    def _state_scalars(self) -> dict:
        if self.single_class_ is not None:
            return {}
        return {
            "hidden_sizes": list(self.net_.hidden_sizes),
            "fit_kind": self.fit_kind_,
            "fits_since_full": int(self.fits_since_full_),
            "n_epochs": int(self.n_epochs_),
            "n_steps": int(self.n_steps_),
            "loss": float(self.loss_),
        }

    def _restore_state(self, tensors: dict, scalars: dict) -> None:
        import torch

        from .nets.modules import HeadNet

        super()._restore_state(tensors, scalars)
        state = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("net.")}
        net = HeadNet(self.standardiser_.n_outputs, len(self.classes_), tuple(scalars["hidden_sizes"]),
                      self._dropout(), torch.Generator().manual_seed(0))
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise DataError(f"torch head state does not match its parameters ({exc})") from None
        net.eval()
        self.net_ = net.to(self.device_)
        self.fit_kind_ = scalars["fit_kind"]
        self.fits_since_full_ = int(scalars["fits_since_full"])
        self.n_epochs_ = int(scalars["n_epochs"])
        self.n_steps_ = int(scalars["n_steps"])
        self.loss_ = float(scalars["loss"])


class LinearProbeHead(_NetHead):
    """Multinomial logistic regression trained with AdamW on (standardised) features.

    The main head for frozen embeddings ("linear probing"): fast, convex and
    well calibrated. Trains on CUDA when available.

    Parameters
    ----------
    classes : list, optional
        Explicit classes (fixes ``classes_`` and the output layer).
    device : str
        'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N'.
    max_epochs : int
        Epochs of a full (re)train.
    lr, weight_decay : float
        AdamW learning rate and decoupled weight decay (weights only).
    batch_size : int
        Rows per optimisation step.
    class_weight : None, 'balanced' or dict
        Loss weight per class; 'balanced' weights classes inversely to their
        label counts.
    num_threads : int, optional
        CPU threads torch may use while fitting/predicting (default: all
        cores but one, so the UI stays responsive during background training).
    warm_start : bool
        Continue from the previous weights at the next fit (short fine-tune).
    warm_epochs : int, optional
        Epochs of a warm fit (default ``max(1, max_epochs // 10)``).
    full_retrain_every : int, optional
        Every this-many fits, retrain from scratch even when warm starting
        (None: never).
    random_state : int, optional
        Seed of the initial weights, batch order and dropout masks.
    """

    type_name: ClassVar[str] = "linear_probe"
    params_spec = _torch_params(*_NET_PARAMS)

    def __init__(self, *, classes=None, device="auto", max_epochs=100, lr=0.01, weight_decay=0.01,
                 batch_size=256, class_weight=None, num_threads=None, warm_start=False, warm_epochs=None,
                 full_retrain_every=10, random_state=None):
        self.classes = classes
        self.device = device
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.num_threads = num_threads
        self.warm_start = warm_start
        self.warm_epochs = warm_epochs
        self.full_retrain_every = full_retrain_every
        self.random_state = random_state


class TorchMLPHead(_NetHead):
    """ReLU MLP with dropout; :meth:`mc_predict_proba` samples it with MC-dropout.

    Parameters
    ----------
    hidden : int or list of int
        Widths of the hidden layers.
    dropout : float
        Dropout probability after each hidden layer (training and MC-dropout).
    classes, device, max_epochs, lr, weight_decay, batch_size, class_weight, num_threads,
    warm_start, warm_epochs, full_retrain_every, random_state
        As in :class:`LinearProbeHead`.
    """

    type_name: ClassVar[str] = "mlp_torch"
    params_spec = _torch_params("hidden", "dropout", *_NET_PARAMS)

    def __init__(self, *, classes=None, hidden=128, dropout=0.2, device="auto", max_epochs=100, lr=0.01,
                 weight_decay=0.01, batch_size=256, class_weight=None, num_threads=None, warm_start=False,
                 warm_epochs=None, full_retrain_every=10, random_state=None):
        self.classes = classes
        self.hidden = hidden
        self.dropout = dropout
        self.device = device
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.num_threads = num_threads
        self.warm_start = warm_start
        self.warm_epochs = warm_epochs
        self.full_retrain_every = full_retrain_every
        self.random_state = random_state

    def _hidden_sizes(self) -> tuple[int, ...]:
        return (int(self.hidden),) if _positive_int(self.hidden) else tuple(int(h) for h in self.hidden)

    def _dropout(self) -> float:
        return float(self.dropout)

    def mc_predict_proba(self, X, n_samples: int = 20) -> np.ndarray:
        """Class probabilities under ``n_samples`` dropout masks (MC-dropout).

        The spread between samples is the model's epistemic uncertainty, which
        BALD measures. Masks come from a generator seeded by ``random_state``,
        so the samples are reproducible.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Features; NaN allowed.
        n_samples : int
            Number of dropout samples S.

        Returns
        -------
        ndarray of shape (S, n_rows, n_classes)
            float64, columns in ``classes_`` order, each row summing to 1.
        """
        check_is_fitted(self, "classes_")
        if not _positive_int(n_samples):
            raise ValueError(f"{type(self).__name__}.mc_predict_proba: n_samples must be an integer >= 1")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32])
        C = len(self.classes_)
        out = np.empty((n_samples, X.shape[0], C), dtype=np.float64)
        if self.single_class_ is not None:
            out[:] = 0.0
            out[:, :, self._encode(np.asarray([self.single_class_]))[0]] = 1.0
            return out
        import torch
        import torch.nn.functional as F

        from .nets.train import torch_threads

        _, _, dropout_seed = self._seeds(stream=10_007)
        gen = torch.Generator(device=self.device_).manual_seed(dropout_seed)
        with torch_threads(self.num_threads):
            W, b = self._output_layer()
            for start in range(0, X.shape[0], self.score_chunk_rows):
                sl = slice(start, min(X.shape[0], start + self.score_chunk_rows))
                Z = torch.from_numpy(self.standardiser_.transform(X[sl])).to(self.device_)
                with torch.no_grad():
                    for s in range(n_samples):
                        logits = F.linear(self.net_.features(Z, gen), W, b)
                        out[s, sl] = torch.softmax(logits.double(), dim=1).cpu().numpy()
        return out


class PrototypeHead(TorchHead):
    """Nearest class mean with a learned temperature: no training loop.

    ``p(c | x) ∝ exp(−β ‖z − μ_c‖² / d)`` on the standardised features ``z``.
    Fitting averages each class (weighted by ``sample_weight``) and picks the
    inverse temperature β that minimises the leave-one-out log loss (a convex
    1-D problem solved by bisection), so it works from 1–5 labels per class —
    the few-shot regime where a trained head overfits ("prototype
    calibration"). With a single label in every class there is nothing to
    calibrate on and β = 1/temperature (default 1).

    Parameters
    ----------
    classes : list, optional
        Explicit classes.
    temperature : float, optional
        Fix the temperature instead of learning it.
    device, num_threads, random_state
        As in :class:`LinearProbeHead` (nothing here is random; kept for the
        head contract).
    """

    type_name: ClassVar[str] = "prototype"
    params_spec = _torch_params("temperature", "device", "num_threads")

    def __init__(self, *, classes=None, temperature=None, device="auto", num_threads=None, random_state=None):
        self.classes = classes
        self.temperature = temperature
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state

    def _fit(self, X, y, sample_weight):
        from .nets.preprocess import Standardiser
        from .nets.train import resolve_device

        self._check_params()
        self.device_ = resolve_device(self.device)
        self.standardiser_ = Standardiser.fit(X, sample_weight)
        Z = self.standardiser_.transform(X).astype(np.float64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self._accumulate(Z, y, w, reset=True)
        self._calibrate(Z, y, w)

    def _partial_fit(self, X, y, sample_weight):
        """Add the batch to the class sums; the temperature stays as calibrated."""
        from .nets.preprocess import Standardiser
        from .nets.train import resolve_device

        self._check_params()
        first = not hasattr(self, "standardiser_")
        if first:
            self.device_ = resolve_device(self.device)
            self.standardiser_ = Standardiser.fit(X, sample_weight)
            self.beta_ = 1.0 / float(self.temperature or 1.0)
        Z = self.standardiser_.transform(X).astype(np.float64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self._accumulate(Z, y, w, reset=first)

    def _accumulate(self, Z, y, w, *, reset: bool) -> None:
        C, d = len(self.classes_), Z.shape[1]
        if reset:
            self.class_sums_ = np.zeros((C, d))
            self.class_weights_ = np.zeros(C)
        np.add.at(self.class_sums_, y, Z * w[:, None])
        np.add.at(self.class_weights_, y, w)
        self.trained_mask_ = self.class_weights_ > 0
        self.means_ = np.zeros((C, d))
        self.means_[self.trained_mask_] = (
            self.class_sums_[self.trained_mask_] / self.class_weights_[self.trained_mask_, None])

    def _calibrate(self, Z, y, w) -> None:
        from .nets.prototype import fit_inverse_temperature

        if self.temperature is not None:
            self.beta_ = 1.0 / float(self.temperature)
            return
        beta, note = fit_inverse_temperature(Z, y, w, self.means_, self.class_weights_)
        self.beta_ = beta
        if note:
            self.fit_notes_.append(note)

    def _features(self, Z):
        return Z

    def _output_layer(self):
        import torch

        d = self.means_.shape[1]
        scale = self.beta_ / d
        W = 2.0 * scale * self.means_
        b = -scale * (self.means_**2).sum(axis=1)
        b[~self.trained_mask_] = MASKED_LOGIT
        return (torch.from_numpy(W.astype(np.float32)).to(self.device_),
                torch.from_numpy(b.astype(np.float32)).to(self.device_))

    def _state_tensors(self) -> dict:
        import torch

        tensors = super()._state_tensors()
        if self.single_class_ is None:
            tensors["class_sums"] = torch.from_numpy(self.class_sums_)
            tensors["class_weights"] = torch.from_numpy(self.class_weights_)
        return tensors

    def _state_scalars(self) -> dict:
        return {} if self.single_class_ is not None else {"beta": float(self.beta_)}

    def _restore_state(self, tensors: dict, scalars: dict) -> None:
        super()._restore_state(tensors, scalars)
        self.class_sums_ = tensors["class_sums"].numpy().astype(np.float64)
        self.class_weights_ = tensors["class_weights"].numpy().astype(np.float64)
        self.means_ = np.zeros_like(self.class_sums_)
        self.means_[self.trained_mask_] = (
            self.class_sums_[self.trained_mask_] / self.class_weights_[self.trained_mask_, None])
        self.beta_ = float(scalars["beta"])
