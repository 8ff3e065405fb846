"""The skops payload of scikit-learn heads: written by skops, read only after an exact check.

A skops file is untrusted input: loading it calls constructors named in the
file. Before skops constructs anything, :func:`check_payload` walks the file's
schema and accepts only an exact allow-list of (type, loader) pairs: the
types alabel's own heads write (:func:`allowed_nodes`), each only through the
loader that writes it. No module prefix is trusted: ``numpy.`` and ``sklearn.``
hold functions that execute strings or write files. Constructor-style loaders
(a reduce: ``TreeNode``, ``LossNode``) take plain data as arguments only.

This module knows nothing of the head classes: :class:`core.heads.base.Head`
passes itself and the registered heads that use this format, so the head
base and the model-folder code (:mod:`core.heads.persist`) both depend on it
and not on each other.
"""
from __future__ import annotations

import functools
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataError

SKOPS_FILE = "head.skops"
#: Largest ``schema.json`` read from a skops file (a forest of 1,000 trees needs a few MB).
MAX_SCHEMA_BYTES = 64 * 1024**2
#: Loaders that call the named type with arguments from the file (a pickle-style reduce):
#: their arguments may only be plain data (numbers, strings, arrays, tuples/lists of them).
REDUCE_LOADERS = ("TreeNode", "LossNode", "ReduceNode", "ConstructorFromReduceNode")
#: Loaders of plain data, allowed inside a reduce's arguments.
PLAIN_DATA_LOADERS = ("JsonNode", "NdArrayNode", "TupleNode", "ListNode", "DTypeNode")


def preload() -> None:
    """Import skops now: its import loads every scikit-learn module (2–6 s, holding the GIL).

    A server calls this before it listens, so that the first model it saves
    does not stall the label clicks of a session in progress (issue 12).
    """
    import skops.io  # noqa: F401


def skops_dump(head, path: Path) -> None:
    """Write ``head`` as ``path/head.skops``."""
    import skops.io as sio  # imported here: skops loads every scikit-learn module (~2 s)

    sio.dump(head, path / SKOPS_FILE)


def skops_load(cls: type, path: Path, *, heads: Iterable[type]):
    """Load ``path/head.skops`` after :func:`check_payload` accepted every node in it.

    ``heads``: alabel's registered heads that save with skops (their classes
    are allowed). The head's own class ``cls`` is allowed too, so a registered
    plugin head defined outside alabel loads as well.
    """
    import skops.io as sio

    file = path / SKOPS_FILE
    if not file.is_file():
        raise DataError(f"{file}: not found")
    check_payload(file, heads=heads, extra={(_type_name(cls), "ObjectNode")})
    try:
        untrusted = sio.get_untrusted_types(file=file)
    except Exception as exc:  # skops raises several kinds on a damaged zip/schema
        raise DataError(f"{file}: unreadable skops file ({type(exc).__name__}: {exc})") from None
    # Every name skops itself would question has passed the exact check above.
    try:
        return sio.load(file, trusted=list(untrusted))
    except Exception as exc:  # a schema that passed the check but does not construct
        raise DataError(f"{file}: unreadable skops file ({type(exc).__name__}: {exc})") from None


def check_payload(file: Path, *, heads: Iterable[type] = (), extra: set[tuple[str, str]] = frozenset()) -> None:
    """Refuse a skops file holding any node outside the allow-list; constructs nothing.

    Parameters
    ----------
    file
        A ``.skops`` file.
    heads
        alabel's head classes that save with skops.
    extra
        More ``(type, loader)`` pairs to accept (the head's own class).

    Raises
    ------
    DataError
        One line naming the file and the first refused type and loader.
    """
    try:
        with zipfile.ZipFile(file) as archive:
            size = archive.getinfo("schema.json").file_size
            if size > MAX_SCHEMA_BYTES:  # a zip bomb would exhaust memory before any check
                raise DataError(f"{file}: schema.json unpacks to {size} bytes (more than {MAX_SCHEMA_BYTES}); "
                                "not a head alabel saved")
            schema = json.loads(archive.read("schema.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{file}: unreadable skops file ({type(exc).__name__}: {exc})") from None
    allowed = allowed_nodes(frozenset(heads)) | set(extra)
    for node, in_reduce in _nodes(schema):
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        loader = node.get("__loader__")
        if not isinstance(loader, str):
            raise DataError(f"{file}: refusing to load {name!r}: its loader is not a name ({loader!r})")
        if in_reduce and loader not in PLAIN_DATA_LOADERS:
            raise DataError(f"{file}: refusing to load {name!r} ({loader}) as an argument of a reduce "
                            "(only plain data may be)")
        if (name, loader) not in allowed:
            raise DataError(f"{file}: refusing to load untrusted type {name!r} ({loader}); "
                            "alabel loads only the types its own heads save")


def _nodes(tree, in_reduce: bool = False):
    """Every skops node (a mapping with ``__loader__``) in ``tree``, and whether it is a reduce argument."""
    stack = [(tree, in_reduce)]
    while stack:
        item, inside = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item, inside
                if item.get("__loader__") in REDUCE_LOADERS:
                    args = item.get("__reduce__", {})
                    stack.append((args, True))
                    stack.extend((v, inside) for k, v in item.items() if k != "__reduce__")
                    continue
            stack.extend((v, inside) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, inside) for v in item)


def _type_name(cls: type) -> str:
    """The name skops writes for ``cls`` (``module.Class``)."""
    from skops.io._utils import get_module

    return f"{get_module(cls)}.{cls.__name__}"


@functools.cache
def allowed_nodes(heads: frozenset[type] = frozenset()) -> frozenset[tuple[str, str]]:
    """The exact ``(type, loader)`` pairs a saved head may hold.

    Built from the classes themselves (not from their module paths written
    out by hand), so the list follows the installed scikit-learn; what is in
    it is what alabel's scikit-learn heads write, measured over every head,
    binary and multi-class, with the estimator options a config can set.
    Extend it only with types whose loading runs no code from the file.
    """
    import numpy as np
    from sklearn._loss import link, loss
    from sklearn._loss._loss import CyHalfBinomialLoss, CyHalfMultinomialLoss
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import DistanceMetric
    from sklearn.neighbors import BallTree, KDTree, KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import LabelBinarizer, LabelEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.tree._tree import Tree

    metrics = {type(DistanceMetric.get_metric(name, dtype=np.float64))
               for name in ("euclidean", "manhattan", "chebyshev", "minkowski")}
    objects = [*heads, RandomForestClassifier, DecisionTreeClassifier, HistGradientBoostingClassifier, _BinMapper,
               TreePredictor, loss.HalfBinomialLoss, loss.HalfMultinomialLoss, link.Interval, link.LogitLink,
               link.MultinomialLogit, MissingIndicator, SimpleImputer, LogisticRegression, KNeighborsClassifier,
               KDTree, BallTree, *metrics, MLPClassifier, AdamOptimizer, SGDOptimizer, Pipeline, StandardScaler,
               LabelBinarizer, LabelEncoder]
    scalars = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
               np.float16, np.float32, np.float64]
    builtins_ = {"dict": "DictNode", "list": "ListNode", "tuple": "TupleNode", "set": "SetNode",
                 "slice": "SliceNode"}
    pairs = {(_type_name(cls), "ObjectNode") for cls in objects}
    pairs |= {(_type_name(cls), "NdArrayNode") for cls in [np.ndarray, *scalars]}
    pairs |= {(_type_name(cls), "TypeNode") for cls in [str, int, float, bool, *scalars]}
    pairs |= {(f"builtins.{name}", loader) for name, loader in builtins_.items()}
    pairs |= {(f"builtins.{name}", "JsonNode") for name in ("str", "int", "float", "bool", "NoneType", "list",
                                                              "dict")}
    pairs |= {(_type_name(np.dtype), "DTypeNode"), (_type_name(np.random.Generator), "RandomGeneratorNode"),
              (_type_name(np.random.RandomState), "RandomStateNode"), (_type_name(Tree), "TreeNode"),
              (_type_name(CyHalfBinomialLoss), "LossNode"), (_type_name(CyHalfMultinomialLoss), "LossNode")}
    return frozenset(pairs)
