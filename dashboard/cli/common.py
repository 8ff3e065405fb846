"""What the commands share: opening the session, the newest model, progress and one-line messages."""
from __future__ import annotations

import sys
from pathlib import Path

#: The config a command reads when none is named (the shipped example when missing).
DEFAULT_CONFIG = "config.yaml"


def open_session(args, **kwargs):
    """The session of a command that reads labels: it never creates a store."""
    from alabel.core.session import Session

    kwargs.setdefault("create_store", False)
    return Session.from_config(args.config, background=False, persist_models=True, **kwargs)


def current_model(session, quiet: bool):
    """The newest saved model if it has seen every label, else a fresh retrain."""
    from alabel.core.errors import NotReadyError, StaleModelError

    try:
        model = session.restore_latest_model()
    except StaleModelError as exc:  # the data changed: its predictions would be of other rows
        info(f"{exc}: retraining", quiet)
    else:
        if model is None:
            info("no saved model yet: training", quiet)
        elif model.label_revision == session.labels_revision:
            info(f"using model version {model.version} ({model.n_labels} labels)", quiet)
            return model
        else:
            info("labels changed since the last saved model: retraining", quiet)
    model = session.retrain()
    if model is None:
        raise NotReadyError(f"{session.config.source}: no model yet: label objects of at least two "
                            "classes first (alabel query / alabel label)")
    return model


def is_data_file(path: Path) -> bool:
    """A table a data format reads (``.parquet``, ``.csv``, ``.fits``...), not a config."""
    from alabel.core.data.formats import known_formats

    name = path.name.lower()
    return not name.endswith((".yaml", ".yml")) and any(
        name.endswith(ext) for cls in known_formats().values() for ext in cls.extensions)


def config_error(message: str):
    from alabel.core.errors import ConfigError

    return ConfigError(message)


def at_least(value: int | None, minimum: int, option: str) -> None:
    if value is not None and value < minimum:
        raise config_error(f"{option}: must be at least {minimum}, got {value}")


def truth_classes(pool) -> list[str]:
    import pandas as pd

    if pool.ground_truth is None:
        return []
    return pd.Series(pool.ground_truth).dropna().astype(str).value_counts().index.tolist()


def info(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr)


def progress_bar(total: int, quiet: bool, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, disable=quiet, unit=unit, file=sys.stderr, dynamic_ncols=True, mininterval=1.0)
