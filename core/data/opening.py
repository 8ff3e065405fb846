"""Open the pool a config describes, by ``data.backend`` (one entry per backend, no if/elif)."""
from __future__ import annotations

from collections.abc import Callable


def _in_memory(config):
    from .pool import load_pool

    return load_pool(config.data, cache_dir=config.cache_dir)


def _on_dask(config):
    from .dask_session_pool import open_dask_pool

    return open_dask_pool(config)


#: ``data.backend`` → how a session opens its pool (the choices are declared in ``spec.BACKEND_PARAM``).
POOL_OPENERS: dict[str, Callable] = {"memory": _in_memory, "dask": _on_dask}


def open_pool(config):
    """The pool of ``config``: an in-memory :class:`Pool` or a :class:`DaskSessionPool`."""
    return POOL_OPENERS[config.data.backend](config)
