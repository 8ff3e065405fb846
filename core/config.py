"""config.yaml: the one file that describes a whole alabel session.

The file is validated completely before anything is built: every unknown key,
wrong type or bad value raises a one-line :class:`ConfigError` that names the
file and the dotted key (``config.yaml: head.params.C: expected a number``).
Each section that belongs to a pluggable family (data, head, strategy, loop)
is validated by that family's own parser, so adding a head never means
editing this module.

``SessionConfig.to_dict(relative_to=...)`` writes the config back with paths
relative to a folder: that is how ``alabel export`` makes a bundle that
reloads to the same session somewhere else.
"""
from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, did_you_mean

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

TOP_LEVEL_KEYS = (
    "name", "seed", "data", "classes", "head", "strategy", "loop", "training", "labels", "ui",
)


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


def read_int(value: Any, where: str, key: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: {key}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}: {key}: must be >= {minimum}, got {value}")
    return value


def read_float(value: Any, where: str, key: str, *, minimum: float | None = None,
               maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {key}: expected a number, got {value!r}")
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise ConfigError(f"{where}: {key}: must be between {minimum} and {maximum}, got {value}")
    return float(value)


def read_str(value: Any, where: str, key: str, *, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key}: expected a non-empty string, got {value!r}")
    if choices is not None and value not in choices:
        raise ConfigError(
            f"{where}: {key}: {value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices)}"
        )
    return value


def read_bool(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key}: expected true or false, got {value!r}")
    return value


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
        item = read_mapping(item, where, key)
        check_keys(item, ("name", "color", "key"), where, key)
        if "name" not in item:
            raise ConfigError(f"{where}: {key}.name: missing")
        name = item["name"]
        if isinstance(name, int) and not isinstance(name, bool):
            name = str(name)
        entries.append((
            read_str(name, where, f"{key}.name"),
            None if item.get("color") is None else read_str(item["color"], where, f"{key}.color"),
            None if item.get("key") is None else read_str(str(item["key"]), where, f"{key}.key"),
        ))
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


@dataclass
class LoopSpec:
    """How the human and the model take turns (``loop:``)."""

    type: str = "active"
    batch_size: int = 10
    initial_labels: int = 0  # simulate only; 0: the strategy picks the first labels too
    params: dict = field(default_factory=dict)

    KEYS = ("type", "batch_size", "initial_labels", "params")

    @classmethod
    def from_dict(cls, d: Mapping, where: str) -> LoopSpec:
        check_keys(d, cls.KEYS, where, "loop")
        spec = cls(
            type=read_str(d.get("type", "active"), where, "loop.type"),
            batch_size=read_int(d.get("batch_size", 10), where, "loop.batch_size", minimum=1),
            initial_labels=read_int(d.get("initial_labels", 0), where, "loop.initial_labels", minimum=0),
            params=read_mapping(d.get("params"), where, "loop.params"),
        )
        from .loops import validate_loop  # registry of loops lives with the loops

        validate_loop(spec, where)
        return spec

    def to_dict(self) -> dict:
        return {"type": self.type, "batch_size": self.batch_size,
                "initial_labels": self.initial_labels, "params": copy.deepcopy(self.params)}


@dataclass
class TrainingSpec:
    """How and where heads retrain (``training:``)."""

    backend: str = "thread"
    min_labels: int = 2
    evaluation_folds: int = 5
    coalesce_s: float = 0.1

    KEYS = ("backend", "min_labels", "evaluation_folds", "coalesce_s")
    BACKENDS = ("thread", "process")

    @classmethod
    def from_dict(cls, d: Mapping, where: str) -> TrainingSpec:
        check_keys(d, cls.KEYS, where, "training")
        return cls(
            backend=read_str(d.get("backend", "thread"), where, "training.backend", choices=cls.BACKENDS),
            min_labels=read_int(d.get("min_labels", 2), where, "training.min_labels", minimum=1),
            evaluation_folds=read_int(d.get("evaluation_folds", 5), where,
                                      "training.evaluation_folds", minimum=2),
            coalesce_s=read_float(d.get("coalesce_s", 0.1), where, "training.coalesce_s",
                                  minimum=0.0, maximum=60.0),
        )

    def to_dict(self) -> dict:
        return {"backend": self.backend, "min_labels": self.min_labels,
                "evaluation_folds": self.evaluation_folds, "coalesce_s": self.coalesce_s}


@dataclass
class LabelsSpec:
    """Where labels and models live (``labels:``)."""

    store: str = "labels.sqlite"
    models: str = "models"
    annotator: str = ""
    lease_s: float = 120.0
    test_fraction: float = 0.0
    audit_fraction: float | None = None  # None: 0.1 with strategy auto, else 0 (core/evaluation/estimates.py)

    KEYS = ("store", "models", "annotator", "lease_s", "test_fraction", "audit_fraction")

    @classmethod
    def from_dict(cls, d: Mapping, where: str) -> LabelsSpec:
        check_keys(d, cls.KEYS, where, "labels")
        return cls(
            store=read_str(d.get("store", "labels.sqlite"), where, "labels.store"),
            models=read_str(d.get("models", "models"), where, "labels.models"),
            annotator=str(d.get("annotator") or ""),
            lease_s=read_float(d.get("lease_s", 120.0), where, "labels.lease_s", minimum=1.0),
            test_fraction=read_float(d.get("test_fraction", 0.0), where, "labels.test_fraction",
                                     minimum=0.0, maximum=0.9),
            audit_fraction=None if d.get("audit_fraction") is None else read_float(
                d["audit_fraction"], where, "labels.audit_fraction", minimum=0.0, maximum=0.5),
        )

    def to_dict(self) -> dict:
        out = {"store": self.store, "models": self.models, "lease_s": self.lease_s,
               "test_fraction": self.test_fraction}
        if self.annotator:
            out["annotator"] = self.annotator
        if self.audit_fraction is not None:
            out["audit_fraction"] = self.audit_fraction
        return out


@dataclass
class UISpec:
    """Dashboard settings (``ui:``)."""

    layout: str = "default"
    keys: dict = field(default_factory=lambda: dict(DEFAULT_ACTION_KEYS))
    scatter: dict = field(default_factory=dict)

    KEYS = ("layout", "keys", "scatter")

    @classmethod
    def from_dict(cls, d: Mapping, where: str) -> UISpec:
        check_keys(d, cls.KEYS, where, "ui")
        keys = read_mapping(d.get("keys"), where, "ui.keys")
        check_keys(keys, tuple(DEFAULT_ACTION_KEYS), where, "ui.keys")
        merged = dict(DEFAULT_ACTION_KEYS)
        for action, key in keys.items():
            merged[action] = read_str(str(key), where, f"ui.keys.{action}")
        return cls(
            layout=read_str(d.get("layout", "default"), where, "ui.layout"),
            keys=merged,
            scatter=read_mapping(d.get("scatter"), where, "ui.scatter"),
        )

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
    head: dict
    strategy: dict
    classes: list[ClassSpec] = field(default_factory=list)
    name: str = "alabel session"
    seed: int = 0
    loop: LoopSpec = field(default_factory=LoopSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    labels: LabelsSpec = field(default_factory=LabelsSpec)
    ui: UISpec = field(default_factory=UISpec)
    base_dir: Path = field(default_factory=Path.cwd)
    source: str = "config.yaml"

    # -- loading -------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike) -> SessionConfig:
        """Read and validate a config file."""
        path = Path(path)
        where = str(path)
        if not path.exists():
            raise ConfigError(f"{where}: file not found")
        if path.is_dir():
            raise ConfigError(f"{where}: is a folder, expected a config .yaml file")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise ConfigError(f"{where}: YAML syntax error{at}: {problem}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: not a UTF-8 text file") from None
        return cls.from_dict(raw, base_dir=path.resolve().parent, where=where)

    @classmethod
    def from_dict(cls, raw: Any, *, base_dir: Path, where: str = "config.yaml") -> SessionConfig:
        """Validate a parsed config mapping (see the README's config reference)."""
        from .data.spec import DataSpec
        from .heads import build_head
        from .strategies import build_strategy

        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: expected a mapping of sections at the top level, "
                              f"got {type(raw).__name__}")
        check_keys(raw, TOP_LEVEL_KEYS, where, "")
        for required in ("data",):
            if required not in raw:
                raise ConfigError(f"{where}: {required}: missing (required section)")
        seed = read_int(raw.get("seed", 0), where, "seed", minimum=0)
        ui = UISpec.from_dict(read_mapping(raw.get("ui"), where, "ui"), where)
        data = DataSpec.from_dict(read_mapping(raw["data"], where, "data"), where=where,
                                  base_dir=Path(base_dir))
        classes = parse_classes(raw.get("classes"), where, set(ui.keys.values()))
        # No head or strategy named: the adaptive defaults (core/heads/adaptive.py,
        # core/strategies/cold_start.py), which suit every label budget.
        head = read_mapping(raw.get("head") or {"type": "auto"}, where, "head")
        strategy = read_mapping(raw.get("strategy") or {"type": "auto"}, where, "strategy")
        # Build once to validate every key now, not at the first retrain.
        built_head = build_head(head, classes=[c.name for c in classes] or None, random_state=seed,
                                where=where)
        # With the head known, a strategy that needs a committee or MC dropout fails now.
        build_strategy(strategy, where=where, head=built_head)
        return cls(
            name=str(raw.get("name") or Path(where).stem),
            seed=seed,
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
    def store_path(self) -> Path:
        return self.resolve(self.labels.store)

    def open_store(self):
        """Open (creating it and its folder if needed) the session's label store."""
        from .labels import LabelStore

        # The store's folder is alabel's own working folder (e.g. .alabel/): make it.
        self.store_path.parent.mkdir(parents=True, exist_ok=True)
        return LabelStore.open(self.store_path)

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
            labels[key] = _relative_path(self.resolve(labels[key]), target)
        return {
            "name": self.name,
            "seed": self.seed,
            "data": self.data.to_dict(relative_to=target),
            "classes": [c.to_dict() for c in self.classes],
            "head": copy.deepcopy(self.head),
            "strategy": copy.deepcopy(self.strategy),
            "loop": self.loop.to_dict(),
            "training": self.training.to_dict(),
            "labels": labels,
            "ui": self.ui.to_dict(),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the config to ``path`` with paths relative to its folder."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(self.to_dict(relative_to=path.resolve().parent), sort_keys=False,
                              allow_unicode=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text("# alabel session config (see README: config reference)\n" + text,
                       encoding="utf-8")
        os.replace(tmp, path)
        return path


def _relative_path(path: Path, folder: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), Path(folder).resolve())
    except ValueError:  # another drive on Windows
        return str(Path(path).resolve())
