"""Look up pluggable classes by the name they declare.

Each pluggable base (heads, strategies, loops, data formats, ...) has subclasses
that declare ``type_name: ClassVar[str]`` once. ``resolve(Base, name)`` finds
the subclass among all loaded descendants, suggests a close match on a typo,
and accepts a dotted path (``mypkg.heads.MyHead``) so users can plug in their
own classes without touching alabel.
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib
import os
from collections.abc import Iterator
from typing import TypeVar

from .errors import ConfigError, did_you_mean

T = TypeVar("T", bound=type)


#: False while validating something untrusted (an uploaded or opened bundle): dotted paths refused.
_DOTTED_PATHS = contextvars.ContextVar("alabel_dotted_paths", default=True)
#: The operator's choice (``alabel serve --allow-plugins``, ``ALABEL_ALLOW_PLUGINS=1``).
_BUNDLE_PLUGINS = False


def allow_bundle_plugins(allowed: bool) -> None:
    """Let bundles name plugin classes by dotted path (the operator trusts every bundle's code)."""
    global _BUNDLE_PLUGINS
    _BUNDLE_PLUGINS = bool(allowed)


def bundle_plugins_allowed() -> bool:
    return _BUNDLE_PLUGINS or os.environ.get("ALABEL_ALLOW_PLUGINS", "") == "1"


@contextlib.contextmanager
def registered_types_only() -> Iterator[None]:
    """Within this block :func:`resolve` imports nothing: only registered ``type_name`` s resolve.

    A dotted path in a bundle someone else wrote would import (and run) any
    installed module while the bundle is merely validated.
    """
    token = _DOTTED_PATHS.set(False)
    try:
        yield
    finally:
        _DOTTED_PATHS.reset(token)


def concrete_descendants(base: type) -> dict[str, type]:
    """Map ``type_name`` → class for every descendant of ``base`` that declares one."""
    found: dict[str, type] = {}
    stack = list(base.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        name = cls.__dict__.get("type_name")
        if name:
            found.setdefault(name, cls)
    return dict(sorted(found.items()))


def resolve(base: T, name: str, *, key: str = "type", where: str = "config") -> T:
    """Return the subclass of ``base`` registered as ``name``.

    Parameters
    ----------
    base
        The pluggable base class.
    name
        A registered ``type_name`` or a dotted import path to a subclass.
    key, where
        Used in the error message: which key of which file held ``name``.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: {key} must be a non-empty string, got {name!r}")
    registry = concrete_descendants(base)
    if name in registry:
        return registry[name]
    if "." in name and not _DOTTED_PATHS.get():
        raise ConfigError(f"{where}: {key}: {name!r} is a dotted import path; a bundle may only use "
                          f"registered types{did_you_mean(name, registry)} (the operator allows plugins "
                          "with alabel serve --allow-plugins or ALABEL_ALLOW_PLUGINS=1)")
    if "." in name:
        module_name, _, attr = name.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{where}: {key}: cannot import {name!r} ({exc})") from None
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise ConfigError(f"{where}: {key}: {name!r} is not a {base.__name__} subclass")
        return cls
    raise ConfigError(
        f"{where}: {key}: unknown {base.__name__} {name!r}{did_you_mean(name, registry)}; "
        f"known: {', '.join(registry)}"
    )
