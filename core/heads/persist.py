"""Save and load fitted heads without pickle.

A saved head is a directory::

    head.json      manifest: format, version, head type, classes
    head.skops     payload of scikit-learn heads (skops format)

``save_head`` asks the head to write its payload (``head._save(dir)``) and
the manifest into a staging folder, then renames it into place: a model
folder is complete or absent.
``load_head`` reads the manifest, finds the head class among the *registered*
heads (never importing a module named by the file) and calls its
``_load(dir)``. Torch heads override ``_save``/``_load`` with their own safe
format (tensors + JSON); scikit-learn heads use skops.

A skops file is untrusted input: loading it calls constructors named in the
file. Before skops constructs anything, :func:`check_payload` walks the file's
schema and accepts only an exact allow-list of (type, loader) pairs: the
types alabel's own heads write (:func:`allowed_nodes`), each only through the
loader that writes it. No module prefix is trusted: ``numpy.`` and ``sklearn.``
hold functions that execute strings or write files. Constructor-style loaders
(a reduce: ``TreeNode``, ``LossNode``) take plain data as arguments only.
"""
from __future__ import annotations

import functools
import json
import shutil
import zipfile
from pathlib import Path

from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .. import files
from ..errors import DataError
from ..registry import concrete_descendants
from .base import Head

MANIFEST = "head.json"
SKOPS_FILE = "head.skops"
FORMAT = "alabel-head"
VERSION = 1

#: Largest ``schema.json`` read from a skops file (a forest of 1,000 trees needs a few MB).
MAX_SCHEMA_BYTES = 64 * 1024**2
#: Loaders that call the named type with arguments from the file (a pickle-style reduce):
#: their arguments may only be plain data (numbers, strings, arrays, tuples/lists of them).
REDUCE_LOADERS = ("TreeNode", "LossNode", "ReduceNode", "ConstructorFromReduceNode")
#: Loaders of plain data, allowed inside a reduce's arguments.
PLAIN_DATA_LOADERS = ("JsonNode", "NdArrayNode", "TupleNode", "ListNode", "DTypeNode")


def save_head(head: Head, path: str | Path) -> Path:
    """Write a fitted head into the directory ``path`` (created if needed).

    The head is written into a staging folder beside ``path`` and moved into
    place only when complete, so a crash or a full disk never leaves a
    half-written model under ``path``.

    Parameters
    ----------
    head : Head
        A fitted head.
    path : str or Path
        Target directory; an existing head in it is replaced.

    Returns
    -------
    Path
        The directory.

    Raises
    ------
    StorageError
        When the files cannot be written (one line naming the folder).
    """
    check_is_fitted(head, "classes_")
    path = Path(path)
    staged = files.staging_dir(path)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "type": type(head).type_name,
        "classes": [str(c) for c in head.classes_.tolist()],
    }
    try:
        head._save(staged)
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise files.storage_error(path, exc) from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    files.replace_dir(staged, path)
    return path


def load_head(path: str | Path) -> Head:
    """Read a head written by :func:`save_head`.

    Raises
    ------
    DataError
        When the directory is no saved head, names an unregistered head type,
        or its payload holds a type outside the trusted packages.
    """
    path = Path(path)
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{manifest_path}: not found (not a saved alabel head)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{manifest_path}: unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{manifest_path}: format: expected {FORMAT!r}")
    if manifest.get("version") != VERSION:
        raise DataError(f"{manifest_path}: version: {manifest.get('version')!r} is not supported (expected {VERSION})")
    registry = concrete_descendants(Head)
    head_type = manifest.get("type")
    if head_type not in registry:
        raise DataError(
            f"{manifest_path}: type: {head_type!r} is not a registered head "
            "(import the module that defines it before loading)"
        )
    cls = registry[head_type]
    head = cls._load(path)
    if not isinstance(head, cls):
        raise DataError(f"{path}: payload holds a {type(head).__name__}, manifest says {head_type!r}")
    try:
        check_is_fitted(head, "classes_")
    except NotFittedError:
        raise DataError(f"{path}: the saved head is not fitted") from None
    return head


def skops_dump(head: Head, path: Path) -> None:
    """Write ``head`` as ``path/head.skops``."""
    import skops.io as sio  # imported here: skops loads every scikit-learn module (~2 s)

    sio.dump(head, path / SKOPS_FILE)


def skops_load(cls: type[Head], path: Path) -> Head:
    """Load ``path/head.skops`` after :func:`check_payload` accepted every node in it.

    The head's own class is allowed too, so a registered plugin head defined
    outside alabel loads as well.
    """
    import skops.io as sio

    file = path / SKOPS_FILE
    if not file.is_file():
        raise DataError(f"{file}: not found")
    check_payload(file, extra={(_type_name(cls), "ObjectNode")})
    try:
        untrusted = sio.get_untrusted_types(file=file)
    except Exception as exc:  # skops raises several kinds on a damaged zip/schema
        raise DataError(f"{file}: unreadable skops file ({type(exc).__name__}: {exc})") from None
    # Every name skops itself would question has passed the exact check above.
    try:
        return sio.load(file, trusted=list(untrusted))
    except Exception as exc:  # a schema that passed the check but does not construct
        raise DataError(f"{file}: unreadable skops file ({type(exc).__name__}: {exc})") from None


def check_payload(file: Path, *, extra: set[tuple[str, str]] = frozenset()) -> None:
    """Refuse a skops file holding any node outside the allow-list; constructs nothing.

    Parameters
    ----------
    file
        A ``.skops`` file.
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
    allowed = allowed_nodes() | set(extra)
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
def allowed_nodes() -> frozenset[tuple[str, str]]:
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

    heads = [cls for cls in concrete_descendants(Head).values()
             if cls.__module__.startswith("alabel.core.heads.") and cls._save is Head._save]
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
