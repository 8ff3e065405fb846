"""One shared engine session per label store, for every browser tab.

AstronomicAL keeps one module-level settings dict that every browser tab
mutates; alabel keeps one :class:`ServerHub` per config file instead. A hub
owns the engine :class:`~alabel.core.session.Session` (so one label store and
one background trainer serve every tab), a small thread pool for work that
must not run on the server's event loop (queries, embeddings, label
snapshots; the reference curve's fits go to a process of their own), and the caches that are expensive and identical for every tab (the
standardised feature space, PCA, the ground-truth tracker).

Tabs subscribe to the hub; it fans out the session's events (``model``,
``status``, ``labels``, ``classes``) and its own (``config`` when the head or
strategy changes, ``reference`` when the reference curve grows). Listeners
run in worker threads: a tab schedules its own UI updates onto its document.

This module imports no Panel: the hub is usable (and tested) without a server.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from alabel.core.errors import AlabelError
from alabel.core.evaluation.reference import TruthTracker
from alabel.core.session import Session

from .features import FeatureSpace

log = logging.getLogger(__name__)

# How soon a server shows (and trains on) labels another process wrote to its store: a second
# server of the team on one PostgreSQL store, or `alabel label` importing while it runs.
WATCH_STORE_S = 1.0

Listener = Callable[[str, object], None]


class ServerHub:
    """The engine session of one config, shared by every tab that opens it.

    Parameters
    ----------
    config_path
        The session's config file.
    session
        An already opened session (tests); opened from ``config_path`` when omitted.
    workers
        Threads of the pool that runs queries and other work off the event loop.
    """

    def __init__(self, config_path: str | Path, *, session: Session | None = None, workers: int = 4):
        self.config_path = Path(config_path).resolve()
        # Models are saved as ``alabel train`` saves them: versions go on after a restart. A
        # server's leases end with its process: after a crash, a restart frees them at once.
        self.session = session if session is not None else Session.from_config(
            self.config_path, persist_models=True, process_leases=True, watch_store_s=WATCH_STORE_S)
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alabel-ui")
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self.features = FeatureSpace(self.session.pool.X, seed=self.session.config.seed)
        self.truth = TruthTracker.for_session(self.session, self.executor, self._emit)
        # The spec each head/strategy type was configured with, so switching back
        # restores its parameters instead of the bare defaults.
        self._head_specs = {self.session.config.head["type"]: self.session.config.head}
        self._strategy_specs = {self.session.config.strategy["type"]: self.session.config.strategy}
        self._unsubscribe = self.session.subscribe(self._emit)
        self._on_close: list[Callable[[], None]] = []
        self.closed = False
        self._restore_model()
        self.session.resume()  # labels from an earlier run: a model at once
        threshold = (self.session.config.ui.scatter or {}).get("datashade_above", 50_000)
        if isinstance(threshold, int) and self.session.pool.n > threshold:
            self.executor.submit(_warm_up_datashader)  # only pools big enough to be rasterised

    def _restore_model(self) -> None:
        """Put the newest saved model in use, so the first page shows it (not "no model yet")."""
        if not self.session.persist_models:
            return
        try:
            model = self.session.restore_latest_model()
        except AlabelError as exc:  # a refused or torn model file: say so, train a new one from the labels
            log.warning("%s; the dashboard trains a new model instead", exc)
            return
        if model is not None:
            log.info("restored model v%d (%d labels)", model.version, model.n_labels)

    # -- events ------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(kind, payload)`` on every session and hub event (from worker threads)."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe():
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe

    def _emit(self, kind: str, payload: object) -> None:
        if kind == "model" and self.truth is not None:
            self.truth.model_published(payload)
        elif kind == "labels" and self.truth is not None:
            self.truth.labels_arrived()  # the reference's next fit waits for a pause
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(kind, payload)
            except Exception:  # one broken tab must not stop the others' updates
                log.exception("dashboard listener failed")

    def submit(self, fn: Callable, *args, **kwargs) -> Future:
        """Run ``fn`` in the hub's worker pool."""
        return self.executor.submit(fn, *args, **kwargs)

    # -- head and strategy ---------------------------------------------------------
    @property
    def head_types(self) -> list[str]:
        """Registered head names, for the head picker."""
        from alabel.core.heads import Head
        from alabel.core.registry import concrete_descendants

        names = list(concrete_descendants(Head))
        current = self.session.config.head["type"]
        return names if current in names else [current, *names]

    @property
    def strategy_types(self) -> list[str]:
        """Registered strategy names, for the strategy picker."""
        from alabel.core.registry import concrete_descendants
        from alabel.core.strategies import QueryStrategy

        names = list(concrete_descendants(QueryStrategy))
        current = self.session.config.strategy["type"]
        return names if current in names else [current, *names]

    def set_head(self, head_type: str) -> dict:
        """Retrain every tab's model with another head type; returns the spec in force.

        Raises
        ------
        ConfigError
            When the head cannot be built (unknown type) or does not suit the strategy.
        """
        spec = self.session.set_head(dict(self._head_specs.get(head_type, {"type": head_type})))
        self._head_specs[head_type] = spec
        return spec

    def set_strategy(self, strategy_type: str) -> dict:
        """Choose the next queries with another strategy (every tab); returns the spec in force."""
        spec = self.session.set_strategy(dict(self._strategy_specs.get(strategy_type, {"type": strategy_type})))
        self._strategy_specs[strategy_type] = spec
        return spec

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        """Stop the trainer and the worker pool (labels are already committed)."""
        if self.closed:
            return
        self.closed = True
        self._unsubscribe()
        if self.truth is not None:
            self.truth.close()
        self.session.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        for callback in self._on_close:
            callback()

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the hub has closed (e.g. delete an uploaded bundle)."""
        self._on_close.append(callback)


def _warm_up_datashader() -> None:
    """Compile datashader's kernels once at start-up, not on the first large scatter."""
    try:
        import datashader as ds
        import pandas as pd

        frame = pd.DataFrame({"x": np.zeros(4, "f4"), "y": np.zeros(4, "f4"), "v": np.zeros(4, "f4"),
                              "c": pd.Categorical(["a", "b", "a", "b"])})
        canvas = ds.Canvas(plot_width=4, plot_height=4, x_range=(-1, 1), y_range=(-1, 1))
        canvas.points(frame, "x", "y", ds.count())
        canvas.points(frame, "x", "y", ds.mean("v"))
        canvas.points(frame, "x", "y", ds.count_cat("c"))
    except Exception:  # only a warm-up: the real call reports its own errors
        log.debug("datashader warm-up failed", exc_info=True)


# ---------------------------------------------------------------------------
# the process-wide registry
# ---------------------------------------------------------------------------
_HUBS: dict[str, ServerHub] = {}
_ALIASES: dict[str, str] = {}  # URL token -> hub key (uploaded bundles)
_HUBS_LOCK = threading.Lock()


def hub_key(config_path: str | Path) -> str:
    """Registry key of a config file: its resolved path."""
    return str(Path(config_path).resolve())


def open_hub(config_path: str | Path, **kwargs) -> ServerHub:
    """The hub of ``config_path``, opened on first use (one per label store per process)."""
    key = hub_key(config_path)
    with _HUBS_LOCK:
        hub = _HUBS.get(key)
        if hub is None or hub.closed:
            hub = ServerHub(key, **kwargs)
            _HUBS[key] = hub
        return hub


def get_hub(key: str) -> ServerHub | None:
    """An open hub by registry key (None when there is none)."""
    with _HUBS_LOCK:
        hub = _HUBS.get(key)
    return hub if hub is not None and not hub.closed else None


def register_alias(key: str) -> str:
    """A URL token (``?session=TOKEN``) for an open hub; server paths never appear in URLs."""
    import uuid

    token = uuid.uuid4().hex[:12]
    with _HUBS_LOCK:
        _ALIASES[token] = key
    return token


def resolve_alias(token: str) -> ServerHub | None:
    """The hub a URL token names, or None (unknown tokens are ignored, not errors)."""
    with _HUBS_LOCK:
        key = _ALIASES.get(str(token))
    return get_hub(key) if key else None


def open_hubs() -> dict[str, ServerHub]:
    with _HUBS_LOCK:
        return {k: h for k, h in _HUBS.items() if not h.closed}


def close_all() -> None:
    """Close every hub (server shutdown)."""
    with _HUBS_LOCK:
        hubs = list(_HUBS.values())
        _HUBS.clear()
        _ALIASES.clear()
    for hub in hubs:
        try:
            hub.close()
        except Exception:
            log.exception("closing %s failed", hub.config_path)
