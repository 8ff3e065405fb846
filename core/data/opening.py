"""Open the pool a config describes, by ``data.backend`` (one entry per backend, no if/elif)."""
from __future__ import annotations

from collections.abc import Callable


def _in_memory(config, cluster: bool = True):
    from .pool import load_pool

    return load_pool(config.data, cache_dir=config.cache_dir)


def _on_dask(config, cluster: bool = True):
    from .dask_pool import DaskPool
    from .dask_session_pool import DaskSessionPool, open_dask_pool

    # Without a cluster, Dask computes in this process's threads (a command that only needs the ids).
    return open_dask_pool(config) if cluster else DaskSessionPool(DaskPool(config.data))


#: ``data.backend`` → how a session opens its pool (the choices are declared in ``spec.BACKEND_PARAM``).
POOL_OPENERS: dict[str, Callable] = {"memory": _in_memory, "dask": _on_dask}


def open_pool(config, *, cluster: bool = True):
    """The pool of ``config``: an in-memory :class:`Pool` or a :class:`DaskSessionPool`.

    ``cluster=False``: a Dask pool computes in this process instead of on a
    cluster (for reading ids, not for scoring a large pool).
    """
    return POOL_OPENERS[config.data.backend](config, cluster)
