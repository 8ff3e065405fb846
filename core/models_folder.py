"""The layout of a models folder (``labels.models``): one folder per saved model version and a history.

Written by the session (each published model when models are kept) and read
by the session (the newest model after a restart) and by bundles
(``alabel export --with-model``).
"""
from __future__ import annotations

#: One JSON record per saved model version (its summary), appended in version order.
HISTORY_FILE = "history.jsonl"


def model_folder_name(version) -> str:
    """The folder a saved model version lives in, inside ``labels.models``."""
    return f"model-v{int(version):05d}.skops"
