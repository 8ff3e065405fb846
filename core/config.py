"""config.yaml: the one file that describes a whole alabel session.

The file is validated completely before anything is built: every unknown key,
wrong type or bad value raises a one-line :class:`ConfigError` that names the
file and the dotted key (``config.yaml: loop.batch_size: must be an integer
>= 1, got 0``). Every key is declared once with :mod:`core.params` (type,
default, bounds, whether ``null`` means something, doc). Each section that
belongs to a pluggable family (data, head, strategy, loop) is validated by that
family's own parser, so adding a head never means editing this module; the
validated head, strategy and loop specs are kept (:class:`core.params.Spec`,
:class:`LoopSpec`) and the session builds from them without validating again.

``SessionConfig.to_dict(relative_to=...)`` writes the config back with paths
relative to a folder: that is how ``alabel export`` makes a bundle that
reloads to the same session somewhere else.

Why one module of this size: it is the whole ``config.yaml`` schema, one
section class per top-level key, each declaring its keys with
``core/params.py``; reading it top to bottom is the config reference.
"""
from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, LabelStoreError, did_you_mean
from .heads import parse_head
from .labels import FOREIGN_STORE_POLICIES, LabelStore
from .loops import Loop
from .params import Spec, check_names, choice, custom, integer, mapping, number, text, validate
from .registry import resolve
from .strategies import parse_strategy
from .yaml_limits import load_yaml

#: Keys a labeller presses for actions other than choosing a class.
DEFAULT_ACTION_KEYS = {
    "accept": "Enter",
    "skip": "s",
    "unsure": "?",
    "undo": "Backspace",
    "next": "ArrowRight",
    "previous": "ArrowLeft",
}

#: Class keys in the order a fast labeller expects: 1-9, 0, then letters.
_CLASS_KEYS = [str(i) for i in range(1, 10)] + ["0"] + list("abcdefghijklmnopqrtvwxyz")

#: Colour-blind-friendly palette (Okabe-Ito, then Tableau) for classes without a colour.
_PALETTE = [
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000",
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
]

#: A file ``alabel export`` writes into every bundle: its config is confined to the folder.
BUNDLE_MARKER = "alabel-bundle.json"

TOP_LEVEL_KEYS = (
    "name", "seed", "data", "classes", "head", "strategy", "loop", "training", "labels", "ui",
)

#: The scalar top-level keys (the others are sections with their own tables).
SESSION_PARAMS = {
    "name": text(None, "the session's name; null: the config file's name", nullable=True, label="Name"),
    "seed": integer(0, "seed of every random choice (splits, picks, models)", low=0, label="Seed"),
}


# ---------------------------------------------------------------------------
# small typed readers: each names the dotted key in its error
# ---------------------------------------------------------------------------
def _where(where: str, key: str) -> str:
    return f"{where}: {key}"


def check_keys(section: Mapping, allowed: tuple[str, ...] | list[str], where: str, prefix: str) -> None:
    """Raise ConfigError on the first key of ``section`` that is not in ``allowed``."""
    for key in section:
        if key not in allowed:
            dotted = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(
                f"{where}: {dotted}: unknown key{did_you_mean(key, allowed)}; "
                f"allowed: {', '.join(allowed)}"
            )


def read_mapping(value: Any, where: str, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key}: expected a mapping, got {type(value).__name__}")
    return dict(value)


def _key_name(value) -> bool:
    # YAML reads ``skip: 1`` as an integer: a digit key is still a key.
    return (isinstance(value, str) and bool(value)) or (isinstance(value, int) and not isinstance(value, bool))


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------
@dataclass
class ClassSpec:
    """A class a labeller can choose: its name, colour and keyboard key."""

    name: str
    color: str
    key: str

    def to_dict(self) -> dict:
        return {"name": self.name, "color": self.color, "key": self.key}


#: One entry of ``classes:`` (a bare name is short for ``{name: ...}``).
CLASS_PARAMS = {
    "name": custom(None, "the class name (a number is read as text)", accepts=_key_name,
                   expected="a non-empty name", label="Class"),
    "color": text(None, "colour of the class in plots; null: the next colour of the palette", nullable=True,
                  label="Colour"),
    "key": custom(None, "keyboard key that gives this class; null: the next free key", accepts=_key_name,
                  expected="a key name or null", nullable=True, label="Key"),
}


def parse_classes(value: Any, where: str, reserved_keys: set[str]) -> list[ClassSpec]:
    """Parse ``classes:`` (a list of names or of {name, color, key} mappings)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: classes: expected a list, got {type(value).__name__}")
    entries = []
    for i, item in enumerate(value):
        key = f"classes[{i}]"
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            item = {"name": str(item)}
        item = validate(CLASS_PARAMS, read_mapping(item, where, key), where=where, key=key, noun="key")
        if item["name"] is None:
            raise ConfigError(f"{where}: {key}.name: missing")
        entries.append((str(item["name"]), item["color"], None if item["key"] is None else str(item["key"])))
    names = [e[0] for e in entries]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise ConfigError(f"{where}: classes[{i}].name: duplicate class {name!r}")
    return assign_class_defaults(entries, where, reserved_keys)


def assign_class_defaults(entries: list[tuple[str, str | None, str | None]], where: str,
                          reserved_keys: set[str]) -> list[ClassSpec]:
    """Give every class a colour and a distinct key, keeping the ones already set."""
    for i, (_, _, k) in enumerate(entries):
        if k and k in reserved_keys:
            raise ConfigError(f"{where}: classes[{i}].key: {k!r} is already an action key")
    seen: set[str] = set()
    for i, (_, _, k) in enumerate(entries):
        if k and k in seen:
            raise ConfigError(f"{where}: classes[{i}].key: {k!r} is used by two classes")
        if k:
            seen.add(k)
    keys = _default_keys(entries, reserved_keys)
    return [ClassSpec(name=name, color=color or _PALETTE[i % len(_PALETTE)], key=key)
            for i, ((name, color, _), key) in enumerate(zip(entries, keys))]


def _default_keys(entries: list[tuple[str, str | None, str | None]], reserved_keys: set[str]) -> list[str]:
    """Each class's key: its own, else its name when one character (class "3" is key 3), else the next free.

    A letter counts as taken in both cases: the key map lets Caps Lock type
    either case, so "a" and "A" must not be two classes' keys.
    """
    def fold(key: str) -> str:
        return key.lower() if len(key) == 1 and key.isalpha() else key

    taken = {fold(k) for _, _, k in entries if k} | {fold(k) for k in reserved_keys}
    keys = [k or "" for _, _, k in entries]
    for i, (name, _, key) in enumerate(entries):  # first pass: one-character names claim themselves
        if not key and len(name) == 1 and not name.isspace() and fold(name) not in taken:
            keys[i] = name
            taken.add(fold(name))
    free_keys = iter(k for k in _CLASS_KEYS if fold(k) not in taken)
    return [key or next(free_keys, "") for key in keys]


#: ``loop:`` (batch_size is read here and nowhere else: its default is this one).
LOOP_PARAMS = {
    "type": text("active", "how the human and the model take turns: active, self_training, auto (self-training "
                 "gated by an out-of-fold check), self_paced, aspl or a dotted path to a Loop subclass", label="Loop"),
    "batch_size": integer(10, "objects per query batch (the dashboard's queue, `alabel query -n`, "
                          "simulate rounds)", low=1, label="Query batch size"),
    "initial_labels": integer(0, "random labels before the strategy takes over (simulate only; 0: the "
                              "strategy picks the first labels too)", low=0, label="Random start labels"),
    "params": mapping({}, "the loop's own parameters (see its params_spec); null: none", nullable=True,
                      label="Loop parameters"),
}


@dataclass
class LoopSpec:
    """How the human and the model take turns (``loop:``), validated when made.

    The loop class and its checked parameters are kept (``cls``, ``checked``),
    so :meth:`build` makes the loop without validating again. ``where`` only
    names the file in messages.
    """

    type: str = LOOP_PARAMS["type"].default
    batch_size: int = LOOP_PARAMS["batch_size"].default
    initial_labels: int = LOOP_PARAMS["initial_labels"].default
    params: dict = field(default_factory=dict)
    where: InitVar[str] = "config.yaml"

    def __post_init__(self, where: str) -> None:
        validate(LOOP_PARAMS, {"type": self.type, "batch_size": self.batch_size,
                               "initial_labels": self.initial_labels, "params": self.params},
                 where=where, key="loop")
        self.params = dict(self.params or {})
        name = self.type if "." in self.type else self.type.replace("-", "_")  # self-training = self_training
        self.cls = resolve(Loop, name, key="loop.type", where=where)
        self.checked = self.cls.validate_params(self.params, where=where, key="loop.params")

    @classmethod
    def from_dict(cls, d: Mapping, where: str) -> LoopSpec:
        check_names(LOOP_PARAMS, d, where=where, key="loop", noun="key")
        return cls(**d, where=where)  # the values are checked once, in __post_init__

    def build(self) -> Loop:
        """A new loop from the checked parameters."""
        return self.cls(_checked=self.checked)

    def to_dict(self) -> dict:
        return {"type": self.type, "batch_size": self.batch_size,
                "initial_labels": self.initial_labels, "params": copy.deepcopy(self.params)}


#: ``training:``
TRAINING_PARAMS = {
    "backend": choice("thread", ("thread", "process"), "where heads retrain: a thread of the server, or a "
                      "worker process (keeps the UI responsive with heavy heads)", label="Training backend"),
    "min_labels": integer(2, "human train labels needed before the first model", low=1,
                          label="Labels before the first model"),
    "evaluation_folds": integer(5, "folds of the out-of-fold evaluation when there are no test labels",
                                low=2, label="Evaluation folds"),
    "coalesce_s": number(0.1, "seconds a retrain waits for more labels to arrive before it starts", low=0,
                         high=60, label="Retrain delay (s)"),
    # Used by pools on Dask (data.backend: dask) and by alabel score on them.
    "scheduler": text(None, "address of a Dask distributed scheduler (tcp://host:8786) for data.backend: dask; "
                      "null: a LocalCluster on this machine", nullable=True, label="Dask scheduler"),
    "dask_workers": integer(2, "workers of the LocalCluster when no scheduler is given", low=1,
                            label="Dask workers"),
    "dask_memory_limit": text("2GB", "memory limit of each LocalCluster worker (e.g. 2GB)",
                              label="Dask worker memory"),
}


@dataclass
class TrainingSpec:
    """How and where heads retrain (``training:``)."""

    backend: str = TRAINING_PARAMS["backend"].default
    min_labels: int = TRAINING_PARAMS["min_labels"].default
    evaluation_folds: int = TRAINING_PARAMS["evaluation_folds"].default
    coalesce_s: float = TRAINING_PARAMS["coalesce_s"].default
    scheduler: str | None = TRAINING_PARAMS["scheduler"].default
    dask_workers: int = TRAINING_PARAMS["dask_workers"].default
    dask_memory_limit: str = TRAINING_PARAMS["dask_memory_limit"].default

    KEYS = tuple(TRAINING_PARAMS)
    BACKENDS = TRAINING_PARAMS["backend"].choices

    @classmethod
    def from_dict(cls, d: Mapping, where: str) -> TrainingSpec:
        return cls(**validate(TRAINING_PARAMS, d, where=where, key="training", noun="key"))

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in TRAINING_PARAMS}


#: ``labels:``
LABELS_PARAMS = {
    "store": text("labels.sqlite", "the label store: a SQLite file relative to the config's folder, or a "
                  "postgresql://user@host/dbname URL (a store shared by a team)",
                  label="Label store"),
    "models": text("models", "folder of the saved model versions, relative to the config's folder",
                   label="Models folder"),
    "annotator": text("", "default annotator name of labels recorded without one", label="Annotator"),
    "lease_s": number(120.0, "seconds an object shown to one person is kept from the others", low=1,
                      label="Lease (s)"),
    "test_fraction": number(0.0, "share of the queries that are random test picks, kept out of training",
                            low=0, high=0.9, label="Test share"),
    "audit_fraction": number(None, "share of the queries that are random audit picks (unbiased accuracy "
                             "estimate); null: 0.1 with strategy auto, else 0", low=0, high=0.5,
                             nullable=True, label="Audit share"),
    "foreign_store": choice("refuse", FOREIGN_STORE_POLICIES, "what to do with a label store that belongs to "
                            "another session (other id column or ids): refuse, allow, or adopt it as this "
                            "session's (core/labels/identity.py)", label="Foreign store"),
}


@dataclass
class LabelsSpec:
    """Where labels and models live (``labels:``)."""

    store: str = LABELS_PARAMS["store"].default
    models: str = LABELS_PARAMS["models"].default
    annotator: str = LABELS_PARAMS["annotator"].default
    lease_s: float = LABELS_PARAMS["lease_s"].default
    test_fraction: float = LABELS_PARAMS["test_fraction"].default
    audit_fraction: float | None = LABELS_PARAMS["audit_fraction"].default  # see core/evaluation/estimates.py
    foreign_store: str = LABELS_PARAMS["foreign_store"].default

    KEYS = tuple(LABELS_PARAMS)

    @classmethod
    def from_dict(cls, d: Mapping, where: str) -> LabelsSpec:
        values = validate(LABELS_PARAMS, d, where=where, key="labels", noun="key")
        values["lease_s"] = float(values["lease_s"])
        values["test_fraction"] = float(values["test_fraction"])
        if values["audit_fraction"] is not None:
            values["audit_fraction"] = float(values["audit_fraction"])
        return cls(**values)

    def to_dict(self) -> dict:
        out = {"store": self.store, "models": self.models, "lease_s": self.lease_s,
               "test_fraction": self.test_fraction}
        if self.annotator:
            out["annotator"] = self.annotator
        if self.audit_fraction is not None:
            out["audit_fraction"] = self.audit_fraction
        if self.foreign_store != "refuse":
            out["foreign_store"] = self.foreign_store
        return out


#: ``ui.keys``: one key per action.
ACTION_KEY_PARAMS = {
    action: custom(key, f"key that triggers '{action}'", accepts=_key_name, expected="a key name",
                   label=action.capitalize())
    for action, key in DEFAULT_ACTION_KEYS.items()
}

#: ``ui:``
UI_PARAMS = {
    "layout": text("default", "a shipped layout's name or a path to a layout .yaml file", label="Layout"),
    "keys": mapping({}, "keys of the actions (accept, skip, unsure, undo, next, previous); null: the defaults",
                    nullable=True,
                    nested=lambda v, where, key: validate(ACTION_KEY_PARAMS, v, where=where, key=key,
                                                          noun="key", fill=False),
                    label="Action keys"),
    "scatter": mapping({}, "the scatter's axes, colouring and rasterising threshold (checked against the "
                       "data when the dashboard opens); null: the defaults", nullable=True, label="Scatter"),
}


@dataclass
class UISpec:
    """Dashboard settings (``ui:``)."""

    layout: str = UI_PARAMS["layout"].default
    keys: dict = field(default_factory=lambda: dict(DEFAULT_ACTION_KEYS))
    scatter: dict = field(default_factory=dict)

    KEYS = tuple(UI_PARAMS)

    @classmethod
    def from_dict(cls, d: Mapping, where: str) -> UISpec:
        values = validate(UI_PARAMS, d, where=where, key="ui", noun="key")
        keys = {**DEFAULT_ACTION_KEYS, **{a: str(k) for a, k in (values["keys"] or {}).items()}}
        return cls(layout=values["layout"], keys=keys, scatter=dict(values["scatter"] or {}))

    def to_dict(self) -> dict:
        return {"layout": self.layout, "keys": dict(self.keys), "scatter": copy.deepcopy(self.scatter)}


# ---------------------------------------------------------------------------
# the whole session
# ---------------------------------------------------------------------------
@dataclass
class SessionConfig:
    """A validated config.yaml.

    Attributes mirror the file's sections; ``base_dir`` is the folder relative
    paths are resolved against (the config file's folder) and ``source`` the
    file name used in error messages.
    """

    data: Any  # core.data.spec.DataSpec
    head: Spec  # validated head spec (reads like the mapping written in the file)
    strategy: Spec  # validated strategy spec
    classes: list[ClassSpec] = field(default_factory=list)
    name: str = "alabel session"
    seed: int = 0
    loop: LoopSpec = field(default_factory=LoopSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    labels: LabelsSpec = field(default_factory=LabelsSpec)
    ui: UISpec = field(default_factory=UISpec)
    base_dir: Path = field(default_factory=Path.cwd)
    source: str = "config.yaml"
    #: A bundle: every path stays inside ``base_dir`` and only registered types load.
    confined: bool = False

    # -- loading -------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, *, confine: bool | None = None) -> SessionConfig:
        """Read and validate a config file.

        Parameters
        ----------
        path
            The config file.
        confine
            Treat it as a bundle someone else wrote: every path must stay in
            its folder and only registered types load (no dotted import paths,
            unless the operator allows plugins). Default: when the folder holds
            the :data:`BUNDLE_MARKER` that ``alabel export`` and uploads write.
        """
        path = Path(path)
        where = str(path)
        if not path.exists():
            raise ConfigError(f"{where}: file not found")
        if path.is_dir():
            raise ConfigError(f"{where}: is a folder, expected a config .yaml file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: not a UTF-8 text file") from None
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read ({exc.strerror or exc})") from None
        raw = load_yaml(text, where)
        base_dir = path.resolve().parent
        if confine is None:
            confine = (base_dir / BUNDLE_MARKER).is_file()
        if not confine:
            return cls.from_dict(raw, base_dir=base_dir, where=where)
        from .registry import bundle_plugins_allowed, registered_types_only

        check_confined(raw, base_dir, where)
        with contextlib.nullcontext() if bundle_plugins_allowed() else registered_types_only():
            config = cls.from_dict(raw, base_dir=base_dir, where=where)
        config.confined = True
        return config

    @classmethod
    def from_dict(cls, raw: Any, *, base_dir: Path, where: str = "config.yaml") -> SessionConfig:
        """Validate a parsed config mapping (see the README's config reference)."""
        from .data.spec import DataSpec

        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: expected a mapping of sections at the top level, "
                              f"got {type(raw).__name__}")
        check_keys(raw, TOP_LEVEL_KEYS, where, "")
        for required in ("data",):
            if required not in raw:
                raise ConfigError(f"{where}: {required}: missing (required section)")
        top = validate(SESSION_PARAMS, {k: raw[k] for k in SESSION_PARAMS if k in raw}, where=where, key="")
        ui = UISpec.from_dict(read_mapping(raw.get("ui"), where, "ui"), where)
        data = DataSpec.from_dict(read_mapping(raw["data"], where, "data"), where=where,
                                  base_dir=Path(base_dir))
        classes = parse_classes(raw.get("classes"), where, set(ui.keys.values()))
        # No head or strategy named: the adaptive defaults (core/heads/adaptive.py,
        # core/strategies/cold_start.py), which suit every label budget.
        # Each spec is validated here, once, and kept validated: the session builds from it.
        head = parse_head(read_mapping(raw.get("head") or {"type": "auto"}, where, "head"), where=where)
        # With the head known, a strategy that needs a committee or MC dropout fails now.
        strategy = parse_strategy(read_mapping(raw.get("strategy") or {"type": "auto"}, where, "strategy"),
                                  where=where, head=head)
        return cls(
            name=str(top["name"] or Path(where).stem),
            seed=top["seed"],
            data=data,
            classes=classes,
            head=head,
            strategy=strategy,
            loop=LoopSpec.from_dict(read_mapping(raw.get("loop"), where, "loop"), where),
            training=TrainingSpec.from_dict(read_mapping(raw.get("training"), where, "training"), where),
            labels=LabelsSpec.from_dict(read_mapping(raw.get("labels"), where, "labels"), where),
            ui=ui,
            base_dir=Path(base_dir),
            source=where,
        )

    # -- derived paths ---------------------------------------------------------
    def resolve(self, relative: str | os.PathLike) -> Path:
        """Resolve a path from the config against the config's folder."""
        p = Path(os.path.expanduser(str(relative)))
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def store_is_url(self) -> bool:
        """Whether ``labels.store`` is a database URL (``postgresql://...``), not a file."""
        return "://" in str(self.labels.store)

    @property
    def store_path(self) -> Path:
        """The store's file (for a file store; see :attr:`store_name` for messages)."""
        return self.resolve(self.labels.store)

    @property
    def store_name(self) -> str:
        """How messages name the store: its file, or its URL without the password."""
        if self.store_is_url:
            from .labels.postgres import shown_url

            return shown_url(str(self.labels.store))
        return str(self.store_path)

    def open_store(self, *, create: bool = False, process_leases: bool = False):
        """Open the session's label store.

        Parameters
        ----------
        create
            Create the store (and its folder) when missing. Only commands that
            label do; for the others a missing store is a typo in ``labels.store``.
        process_leases
            Leases end with this process (a server; see :mod:`core.labels.leases`).
        """
        if self.store_is_url:
            # A database server: LabelStore.open finds the backend by the URL's scheme.
            return LabelStore.open(str(self.labels.store), create=create, process_leases=process_leases)
        path = self.store_path
        if not create and not path.exists():
            siblings = [p.name for p in path.parent.glob("*") if p.suffix in (".sqlite", ".db", ".sqlite3")] \
                if path.parent.is_dir() else []
            raise LabelStoreError(
                f"{self.source}: labels.store: no label store at {path}{did_you_mean(path.name, siblings)}; "
                "check the path, or create the store: alabel label, alabel serve or alabel query --new-store"
            )
        # The store's folder is alabel's own working folder (e.g. .alabel/): make it.
        path.parent.mkdir(parents=True, exist_ok=True)
        return LabelStore.open(path, create=create, process_leases=process_leases)

    @property
    def models_dir(self) -> Path:
        return self.resolve(self.labels.models)

    @property
    def cache_dir(self) -> Path:
        """Where computed features (text embeddings, ...) are cached between runs."""
        return self.base_dir / ".alabel" / "cache"

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def with_classes(self, names: list[str]) -> SessionConfig:
        """Return a copy whose classes are ``names`` (existing colours/keys kept)."""
        known = {c.name: c for c in self.classes}
        entries = [(n, known[n].color if n in known else None, known[n].key if n in known else None)
                   for n in names]
        clone = copy.copy(self)
        clone.classes = assign_class_defaults(entries, self.source, set(self.ui.keys.values()))
        return clone

    # -- writing back ---------------------------------------------------------
    def to_dict(self, relative_to: str | os.PathLike | None = None) -> dict:
        """The config as a mapping; paths are made relative to ``relative_to``."""
        target = Path(relative_to) if relative_to is not None else self.base_dir
        labels = self.labels.to_dict()
        for key in ("store", "models"):
            if "://" not in str(labels[key]):  # a database URL stays as written
                labels[key] = _relative_path(self.resolve(labels[key]), target)
        return {
            "name": self.name,
            "seed": self.seed,
            "data": self.data.to_dict(relative_to=target),
            "classes": [c.to_dict() for c in self.classes],
            "head": _as_written(self.head),
            "strategy": _as_written(self.strategy),
            "loop": self.loop.to_dict(),
            "training": self.training.to_dict(),
            "labels": labels,
            "ui": self.ui.to_dict(),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the config to ``path`` with paths relative to its folder."""
        from .files import storage_error, write_text

        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(path, exc) from None
        text = yaml.safe_dump(self.to_dict(relative_to=path.resolve().parent), sort_keys=False,
                              allow_unicode=True)
        return write_text(path, "# alabel session config (see README: config reference)\n" + text)


def check_confined(raw: Any, base_dir: Path, where: str) -> None:
    """Raise ConfigError on the first path of a bundle config that leaves its folder.

    Checked on the raw mapping, before anything is built or opened: data
    sources, ``data.root`` (which fences the file columns), ``labels.store``,
    ``labels.models`` and a ``ui.layout`` file. Absolute paths, ``~``, URLs,
    ``..`` escapes and links pointing out are all refused.
    """
    if not isinstance(raw, Mapping):
        return  # from_dict names the problem
    for key, value in _path_values(raw):
        text = str(value)
        if os.path.isabs(text) or text.startswith("~") or "://" in text:
            raise ConfigError(f"{where}: {key}: {text!r} is an absolute path; a bundle may only use "
                              "files inside its own folder (write it relative to the config)")
        real_base = Path(os.path.realpath(base_dir))
        if not Path(os.path.realpath(real_base / text)).is_relative_to(real_base):
            raise ConfigError(f"{where}: {key}: {text!r} points outside the bundle folder; a bundle "
                              "may only use files inside its own folder")


def _path_values(raw: Mapping):
    """``(dotted key, path)`` for every path-valued key of a raw config mapping."""
    data, labels, ui = (raw.get(k) if isinstance(raw.get(k), Mapping) else {} for k in ("data", "labels", "ui"))
    sources = data.get("sources") if isinstance(data.get("sources"), list) else []
    for i, source in enumerate(sources):
        if isinstance(source, str):
            yield f"data.sources[{i}]", source
        elif isinstance(source, Mapping) and isinstance(source.get("path"), str):
            yield f"data.sources[{i}].path", source["path"]
    if isinstance(data.get("root"), str):
        yield "data.root", data["root"]
    for key in ("store", "models"):
        if isinstance(labels.get(key), str):
            yield f"labels.{key}", labels[key]
    layout = ui.get("layout")
    if isinstance(layout, str) and (layout.endswith((".yaml", ".yml")) or "/" in layout or os.sep in layout):
        yield "ui.layout", layout


def _as_written(spec) -> dict:
    return spec.to_dict() if isinstance(spec, Spec) else copy.deepcopy(dict(spec))


def _relative_path(path: Path, folder: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), Path(folder).resolve())
    except ValueError:  # another drive on Windows
        return str(Path(path).resolve())
