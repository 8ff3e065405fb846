"""Query strategies: which unlabelled rows to ask about next.

``scores`` holds the pure scoring functions (probabilities in, one score per
row out); the strategies (``random``, ``least_confidence``, ``margin``,
``entropy``, ``vote_entropy``, ``kl_max_disagreement``, ``bald``,
``density_weighted``, ``ranked_batch``) select rows from a
:class:`PoolContext` and register by ``type_name`` for :func:`build_strategy`.
"""
from . import scores
from .base import PoolContext, QueryStrategy, Selection, build_strategy, parse_strategy, top_n
from .cold_start import AutoStrategy, TypicalStrategy  # noqa: F401  (registers ``auto``, ``typical``)
from .density import DensityWeightedStrategy, RankedBatchStrategy
from .disagreement import BALDStrategy, CommitteeStrategy, KLMaxDisagreementStrategy, VoteEntropyStrategy
from .random_sampling import RandomStrategy
from .uncertainty import EntropyStrategy, LeastConfidenceStrategy, MarginStrategy, UncertaintyStrategy

__all__ = [
    "BALDStrategy",
    "CommitteeStrategy",
    "DensityWeightedStrategy",
    "EntropyStrategy",
    "KLMaxDisagreementStrategy",
    "LeastConfidenceStrategy",
    "MarginStrategy",
    "PoolContext",
    "QueryStrategy",
    "RandomStrategy",
    "RankedBatchStrategy",
    "Selection",
    "UncertaintyStrategy",
    "VoteEntropyStrategy",
    "build_strategy",
    "parse_strategy",
    "scores",
    "top_n",
]
