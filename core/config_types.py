"""Checking a ``params:`` mapping against a declared table of names and types."""
from __future__ import annotations

from collections.abc import Mapping

from .errors import ConfigError, did_you_mean


def check_params(params: Mapping, declared: Mapping[str, type | tuple[type, ...]], where: str,
                 prefix: str) -> None:
    """Raise ConfigError for an unknown parameter or one of the wrong type."""
    for name, value in params.items():
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise ConfigError(f"{where}: {prefix}.{name}: unknown parameter"
                              f"{did_you_mean(name, declared)}; known: {known}")
        expected = declared[name]
        if value is not None and not isinstance(value, expected) or isinstance(value, bool) and expected in (int, float, (int, float)):
            names = expected.__name__ if isinstance(expected, type) else "/".join(t.__name__ for t in expected)
            raise ConfigError(f"{where}: {prefix}.{name}: expected {names}, got {value!r}")
