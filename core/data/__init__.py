"""Data sources: the ``data:`` spec, table formats, featurizers and the pool.

Typical use::

    spec = DataSpec.from_dict(config["data"], where="config.yaml", base_dir=config_dir)
    pool = load_pool(spec, cache_dir=config_dir / ".alabel_cache")
    pool.X, pool.ids, pool.ground_truth
"""
from .featurizers import Featurizer, featurize, featurizer_class
from .formats import DataFormat, format_class, format_for, known_formats
from .pool import DataWarning, Pool, load_pool
from .spec import DETAIL_KINDS, MISSING_POLICIES, DataSpec, DetailSpec, EmbeddingSpec, FeatureSpec, SourceSpec

__all__ = [
    "DETAIL_KINDS",
    "MISSING_POLICIES",
    "DataFormat",
    "DataSpec",
    "DataWarning",
    "DetailSpec",
    "EmbeddingSpec",
    "FeatureSpec",
    "Featurizer",
    "Pool",
    "SourceSpec",
    "featurize",
    "featurizer_class",
    "format_class",
    "format_for",
    "known_formats",
    "load_pool",
]
