"""The ``minilm`` featurizer: offline all-MiniLM-L6-v2 embeddings of a text column."""
from __future__ import annotations

import os
import socket

import numpy as np
import pandas as pd
import pytest

from alabel.core.data import text_embeddings  # CI installs the text extra: no skip here
from alabel.core.data.featurizers import featurize, featurizer_class

SENTENCES = pd.Series(
    ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
     None, "Acute bronchitis due to Streptococcus"],
    name="text",
)


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise NetworkUsed(f"network access attempted: {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.slow
def test_minilm_embeds_offline_without_touching_the_network(no_network, monkeypatch, tmp_path):
    monkeypatch.setattr(text_embeddings, "_models", {})  # force a fresh load inside the guard
    for name in text_embeddings.OFFLINE_ENV:
        monkeypatch.delenv(name, raising=False)
    featurizer = featurizer_class("minilm")(batch_size=4, device="cpu", num_threads=1)
    emb = featurize(featurizer, SENTENCES, cache_dir=tmp_path)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert emb.shape == (5, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    cos = emb @ emb.T
    # Upstream's reference pair (sentence-transformers model card): 0.755.
    assert cos[0, 1] == pytest.approx(0.755, abs=0.01)
    assert cos[0, 1] > cos[0, 2] + 0.3 and cos[0, 1] > cos[0, 4] + 0.3
    assert np.isfinite(emb[3]).all()  # a missing cell embeds the empty string

    # Computed once: the second call is served from the on-disk cache.
    def must_not_load(device="cpu"):
        raise AssertionError("model loaded again instead of using the cache")

    monkeypatch.setattr(text_embeddings, "load_model", must_not_load)
    np.testing.assert_array_equal(featurize(featurizer, SENTENCES, cache_dir=tmp_path), emb)


def test_parameters_are_checked():
    cls = featurizer_class("minilm")
    assert cls is text_embeddings.MiniLMFeaturizer
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        cls(batch_size=0)
    with pytest.raises(ValueError, match="normalize must be true or false"):
        cls(normalize="yes")
    with pytest.raises(TypeError, match="unknown parameter"):
        cls(model="bert")
    assert cls().cache_key() != cls(normalize=False).cache_key()
