"""One way to declare and validate parameters.

Every tunable thing in alabel (strategies, loops, heads, featurizers, layout
components, the sections of config.yaml) declares its parameters once, as a
table of :class:`Param`: type, default, bounds, choices, whether ``null`` is
allowed, a readable label and a one-line doc. :func:`validate` checks a
mapping against such a table and raises a one-line :class:`ConfigError` that
names the file and the dotted key::

    config.yaml: strategy.params.diversity: must be an integer >= 1, got 0
    config.yaml: loop.params.tua: unknown parameter for loop 'self_training' (did you mean 'tau'?); ...

``null`` is refused unless a parameter says ``nullable=True`` (where ``null``
means something, e.g. "no cap"), so a value can never slip through validation
and crash later at ``int(None)``.

:class:`Configurable` is the base of classes built from a ``{type, params}``
spec (strategies, loops) and :class:`Spec` is such a spec once validated: it
keeps the resolved class and the checked parameters, so the object is built
from it without validating again. This module is plain Python (no param, no
Panel): core stays light and the UI reads labels and docs from the same
declarations.
"""
from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import ConfigError, did_you_mean

#: Kinds of value a :class:`Param` can hold, and how each reads in a message.
KINDS = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "text": "a non-empty string",
    "choice": "one of",
    "list": "a list",
    "mapping": "a mapping",
    "any": "a value",
}


#: How a list's elements read in a message ("a list of non-empty strings").
_PLURALS = {"integer": "integers", "number": "numbers", "boolean": "booleans", "text": "non-empty strings",
            "list": "lists", "mapping": "mappings"}


@dataclass(frozen=True)
class Param:
    """Declaration of one parameter.

    Build one with :func:`integer`, :func:`number`, :func:`boolean`,
    :func:`choice`, :func:`text`, :func:`listing`, :func:`mapping` or
    :func:`custom` rather than directly.

    Attributes
    ----------
    default
        Value when the parameter is not given (copied for lists and mappings).
    doc : str
        One line saying what the parameter does (help text in the UI).
    kind : str
        One of :data:`KINDS`.
    low, high : float, optional
        Bounds of a number or integer; ``low_open``/``high_open`` exclude them.
    choices : tuple
        Allowed values of a ``choice``; for ``text``, the known values a UI
        offers (any other name, e.g. a dotted path to a plugin, is accepted).
    nullable : bool
        Whether ``null`` (None) is a valid value. False unless declared.
    label : str
        Readable name for the UI (default: the name with spaces, capitalised).
    item : Param, optional
        Declaration every element of a ``list`` must satisfy.
    check : callable, optional
        Extra rule: ``check(value)`` returns None when fine, else what is
        wrong as a phrase (``"must be ..., got ..."``).
    nested : callable, optional
        Validation of a structure inside the value (head specs in a list,
        estimator parameters): ``nested(value, where, key)`` raises a
        ConfigError naming the inner key.
    expected : str
        Overrides the generated "must be ..." description.
    """

    default: Any = None
    doc: str = ""
    kind: str = "any"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    nullable: bool = False
    label: str = ""
    item: Param | None = None
    check: Callable[[Any], str | None] | None = None
    nested: Callable[[Any, str, str], None] | None = None
    expected: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Param kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.doc:
            raise ValueError("every Param needs a one-line doc")

    # -- reading ---------------------------------------------------------------------
    def describe(self) -> str:
        """What a valid value is, e.g. ``"a number in (0, 1]"`` or ``"an integer >= 1 or null"``."""
        if self.expected:
            text = self.expected
        elif self.kind == "choice":
            text = "one of " + ", ".join(str(c) for c in self.choices)
        else:
            text = KINDS[self.kind] + self._bounds()
            if self.kind == "list" and self.item is not None:
                text += f" of {_PLURALS.get(self.item.kind, 'values')}{self.item._bounds()}"
        return text + (" or null" if self.nullable and not self.expected else "")

    def _bounds(self) -> str:
        if self.kind not in ("integer", "number"):
            return ""
        if self.low is not None and self.high is not None:
            return (f" in {'(' if self.low_open else '['}{_num(self.low)}, "
                    f"{_num(self.high)}{')' if self.high_open else ']'}")
        if self.low is not None:
            return f" {'>' if self.low_open else '>='} {_num(self.low)}"
        if self.high is not None:
            return f" {'<' if self.high_open else '<='} {_num(self.high)}"
        return ""

    def label_for(self, name: str) -> str:
        """The readable label, or ``name`` made readable (``stop_window`` -> ``Stop window``)."""
        return self.label or name.replace("_", " ").capitalize()

    def fresh_default(self) -> Any:
        """The default (a copy for lists and mappings, so instances never share one)."""
        return copy.deepcopy(self.default)

    @property
    def is_integer(self) -> bool:
        return self.kind == "integer"

    # -- checking --------------------------------------------------------------------
    def problem(self, value: Any) -> str | None:
        """None when ``value`` is valid, else ``"must be <describe()>, got <value>"``."""
        if value is None:
            return None if self.nullable else f"must be {self.describe()}, got null"
        if not self._matches(value):
            hint = did_you_mean(value, [str(c) for c in self.choices]) if (
                self.kind == "choice" and isinstance(value, str)) else ""
            return f"must be {self.describe()}, got {value!r}{hint}"
        if self.check is not None:
            return self.check(value) or None
        return None

    def _matches(self, value: Any) -> bool:
        return _ACCEPTS[self.kind](self, value)

    def _in_bounds(self, value) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def validate(self, value: Any, *, where: str, key: str) -> Any:
        """Return ``value`` when valid; else raise ConfigError naming ``where`` and ``key``."""
        wrong = self.problem(value)
        if wrong:
            raise ConfigError(f"{where}: {key}: {wrong}")
        if self.nested is not None and value is not None:
            self.nested(value, where, key)
        return value


#: What each kind accepts (bounds, choices and list elements included).
_ACCEPTS: dict[str, Callable[[Param, Any], bool]] = {
    "integer": lambda p, v: _is_int(v) and p._in_bounds(v),
    "number": lambda p, v: _is_real(v) and p._in_bounds(v),
    "boolean": lambda p, v: isinstance(v, bool),
    "text": lambda p, v: isinstance(v, str) and bool(v),
    # ``type`` too: 1 == True, yet ``true`` is not a valid integer choice, nor 1 a valid "1".
    "choice": lambda p, v: any(v == c and type(v) is type(c) for c in p.choices),
    "list": lambda p, v: isinstance(v, list) and (p.item is None or all(p.item.problem(x) is None for x in v)),
    "mapping": lambda p, v: isinstance(v, Mapping),
    "any": lambda p, v: True,
}


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


# ---------------------------------------------------------------------------
# constructors: one per kind, so a declaration reads like its meaning
# ---------------------------------------------------------------------------
def integer(default, doc: str, *, low=None, high=None, nullable=False, label="") -> Param:
    """An integer in ``[low, high]`` (either bound optional)."""
    return Param(default, doc, "integer", low=low, high=high, nullable=nullable, label=label)


def number(default, doc: str, *, low=None, high=None, low_open=False, high_open=False, nullable=False,
           label="") -> Param:
    """A finite real number (integers too) between optional bounds, each inclusive unless open."""
    return Param(default, doc, "number", low=low, high=high, low_open=low_open, high_open=high_open,
                 nullable=nullable, label=label)


def fraction(default, doc: str, *, low_open=False, high_open=False, nullable=False, label="") -> Param:
    """A number in [0, 1] (ends excluded as asked)."""
    return number(default, doc, low=0, high=1, low_open=low_open, high_open=high_open, nullable=nullable,
                  label=label)


def boolean(default: bool, doc: str, *, label="") -> Param:
    return Param(default, doc, "boolean", label=label)


def choice(default, choices, doc: str, *, nullable=False, label="") -> Param:
    """One of ``choices`` (a typo gets a "did you mean")."""
    return Param(default, doc, "choice", choices=tuple(choices), nullable=nullable, label=label)


def text(default, doc: str, *, nullable=False, label="", check=None, known=()) -> Param:
    """A non-empty string; ``known`` lists the usual values for a UI to offer (others are accepted)."""
    return Param(default, doc, "text", nullable=nullable, label=label, check=check, choices=tuple(known))


def listing(default, doc: str, *, item: Param | None = None, nullable=False, label="", nested=None,
            expected="") -> Param:
    """A list, each element satisfying ``item`` when given."""
    return Param(default, doc, "list", item=item, nullable=nullable, label=label, nested=nested,
                 expected=expected)


def mapping(default, doc: str, *, nullable=False, label="", nested=None, expected="") -> Param:
    """A mapping (``nested`` may validate inside it)."""
    return Param(default, doc, "mapping", nullable=nullable, label=label, nested=nested, expected=expected)


def custom(default, doc: str, *, accepts: Callable[[Any], bool], expected: str, nullable=False,
           label="") -> Param:
    """Any value ``accepts`` takes; ``expected`` says what that is (``"an integer >= 1 or a list of them"``).

    ``expected`` is the whole description: say "null" in it when ``nullable``.
    """
    return Param(default, doc, "any", nullable=nullable, label=label, expected=expected,
                 check=lambda v: None if accepts(v) else f"must be {expected}, got {v!r}")


# ---------------------------------------------------------------------------
# validating a mapping
# ---------------------------------------------------------------------------
class CheckedParams(dict):
    """Parameters that :func:`validate` accepted (defaults filled in) for one table.

    Building from it (``cls(_checked=...)``) skips a second validation.
    """

    table: Mapping[str, Param] | None = None

    def __deepcopy__(self, memo):
        out = CheckedParams(copy.deepcopy(dict(self), memo))
        out.table = self.table
        return out

    def __reduce__(self):
        # Pickled (to a training process) without the table, whose checks may be lambdas;
        # an object built from the copy validates again, which is only slower.
        return (CheckedParams, (dict(self),))


def dotted(prefix: str, name: Any) -> str:
    """``prefix.name`` (just ``name`` at the top level)."""
    return f"{prefix}.{name}" if prefix else str(name)


def validate(declared: Mapping[str, Param], values: Any, *, where: str, key: str, owner: str = "",
             noun: str = "parameter", fill: bool = True) -> CheckedParams:
    """Check ``values`` against the table ``declared``; return them with defaults filled in.

    Parameters
    ----------
    declared
        Name -> :class:`Param`.
    values
        The mapping to check (None counts as empty).
    where, key
        File and dotted key of ``values`` for the messages.
    owner
        Appended to "unknown parameter", e.g. ``" for strategy 'margin'"``.
    noun
        What an entry is called in messages ("parameter", "key", "option").
    fill
        Fill in the defaults of the entries not given.

    Raises
    ------
    ConfigError
        For the first unknown name (with a close match) or invalid value.
    """
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: {key}: must be a mapping, got {type(values).__name__}")
    check_names(declared, values, where=where, key=key, owner=owner, noun=noun)
    out = CheckedParams()
    for name, value in values.items():
        out[name] = declared[name].validate(value, where=where, key=dotted(key, name))
    if fill:
        for name, param in declared.items():
            if name not in out:
                out[name] = param.fresh_default()
    out.table = declared
    return out


def check_names(declared: Mapping[str, Param], values: Mapping, *, where: str, key: str, owner: str = "",
                noun: str = "parameter") -> None:
    """Raise ConfigError for the first name of ``values`` that ``declared`` lacks (with a close match)."""
    for name in values:
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise ConfigError(f"{where}: {dotted(key, name)}: unknown {noun}{owner}"
                              f"{did_you_mean(str(name), declared)}; known: {known}")


def defaults(declared: Mapping[str, Param]) -> dict:
    """Every parameter at its default."""
    return {name: p.fresh_default() for name, p in declared.items()}


# ---------------------------------------------------------------------------
# things built from {type, params}
# ---------------------------------------------------------------------------
class Configurable:
    """Base of classes built from a ``{type, params}`` spec (query strategies, loops).

    Subclasses declare ``type_name`` and their parameters in ``params_spec``;
    ``family`` names the kind in messages. ``cls(**params)`` validates the
    parameters; a :class:`Spec` builds with parameters it already checked.
    """

    type_name: ClassVar[str] = ""
    #: What this kind of thing is called in messages ("strategy", "loop").
    family: ClassVar[str] = "component"
    #: The parameters this class takes.
    params_spec: ClassVar[dict[str, Param]] = {}

    def __init__(self, **params):
        checked = params.pop("_checked", None)
        if isinstance(checked, CheckedParams) and checked.table is self.params_spec and not params:
            self.params = dict(checked)  # validated against this very table by a Spec: not again
        else:
            # Anything else (a copy that lost its table, a plain dict) is checked like any input.
            self.params = self.validate_params({**(checked or {}), **params}, where=type(self).__name__,
                                               key=f"{self.family}.params")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def validate_params(cls, params: Any, *, where: str = "config.yaml", key: str | None = None) -> CheckedParams:
        """Check ``params`` against ``params_spec``; return them with defaults filled in.

        Raises
        ------
        ConfigError
            Naming ``where`` and ``<key>.<name>`` for an unknown name or a bad value.
        """
        key = key or f"{cls.family}.params"
        out = validate(cls.params_spec, params, where=where, key=key,
                       owner=f" for {cls.family} {cls.type_name!r}")
        cls._check_together(out, where, key)
        return out

    @classmethod
    def _check_together(cls, params: dict, where: str, key: str) -> None:
        """Checks that involve several parameters (subclasses extend)."""


class Spec(Mapping):
    """A validated spec: what the user wrote, the class it names and the checked parameters.

    It reads like the mapping the user wrote (``spec["type"]``, ``dict(spec)``,
    ``spec == {"type": "margin"}``), so messages and exports are unchanged;
    :meth:`build` makes the object without validating again.

    Parameters
    ----------
    raw : mapping
        The spec as written (already validated).
    cls : type
        The class ``raw["type"]`` resolved to.
    checked : CheckedParams
        Its parameters with the defaults filled in.
    """

    def __init__(self, raw: Mapping, cls: type, checked: CheckedParams):
        self._raw = copy.deepcopy(dict(raw))
        self.cls = cls
        self.checked = checked

    def __getitem__(self, key):
        return self._raw[key]

    def __iter__(self) -> Iterator:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"Spec({self._raw!r})"

    @property
    def type(self) -> str:
        return self._raw["type"]

    def to_dict(self) -> dict:
        """The spec as written (a copy, for export)."""
        return copy.deepcopy(self._raw)

    def build(self, **context):
        """A new object from the checked parameters (``context``: extra constructor arguments)."""
        if issubclass(self.cls, Configurable):
            return self.cls(_checked=self.checked, **context)
        return self.cls(**context, **self.checked)
