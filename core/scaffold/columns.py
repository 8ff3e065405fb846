"""What one column of a new data set is, decided by the first rule that recognises it.

Each rule looks at one column (with the id and the ground truth already
chosen) and returns a :class:`Decision` with the reason a person reads, or
None to let the next rule decide. The order of :data:`RULES` is the order of
precedence: a column that looks like an id is hidden even if it is numeric.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Roles a column can get.
ROLES = ("feature", "hidden", "detail", "left_out")
#: Names of sky or map positions: good for plots, rarely a feature of the class.
POSITION_NAMES = {"ra", "dec", "ra_deg", "dec_deg", "raj2000", "dej2000", "radeg", "dedeg", "glon",
                  "glat", "elon", "elat", "l", "b", "lat", "lon", "long", "latitude", "longitude"}
#: File endings of images the detail view can show.
IMAGE_ENDINGS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
#: Mean words per value from which a string column is text to embed.
TEXT_WORDS = 3.0
#: A string column with at most this many distinct values is a category.
MAX_CATEGORIES = 50
#: Identifier-like names: ``id``, ``record_id``, ``plot-id``, ``plotID`` (not ``fluid``).
ID_NAME = re.compile(r"((^|[_\-. ])[iI][dD]|[a-z]I[dD])$")


@dataclass(frozen=True)
class Decision:
    """What a column is and why.

    Attributes
    ----------
    role : str
        ``feature``, ``hidden``, ``detail`` or ``left_out`` (see :data:`ROLES`).
    kind : str
        For features: ``numeric``, ``categorical``, ``arrays`` or ``embeddings``;
        for detail columns: the renderer (``image``, ``text``); else "".
    reason : str
        One phrase a person reads (``"unique per row: looks like an id"``).
    """

    role: str
    kind: str
    reason: str


@dataclass(frozen=True)
class ColumnContext:
    """What the rules know about the table besides the column itself."""

    n_rows: int
    id_column: str
    ground_truth: str | None
    text_featurizer: str


def _is_array(values: pd.Series) -> bool:
    first = values.dropna()
    return len(first) > 0 and isinstance(first.iloc[0], (list, tuple, np.ndarray))


def _is_text_like(values: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) \
        and not _is_array(values)


def _mean_words(values: pd.Series) -> float:
    sample = values.dropna().astype(str).head(2000)
    return float(sample.str.split().str.len().mean()) if len(sample) else 0.0


def unique_per_row(values: pd.Series) -> bool:
    """Every row has a value and no two rows share one."""
    return bool(values.notna().all()) and values.nunique() == len(values)


# -- the rules, in order --------------------------------------------------------
def array_rule(values: pd.Series, ctx: ColumnContext) -> Decision | None:
    if _is_array(values):
        return Decision("feature", "arrays", "holds an array per row (a spectrum, a light curve...)")
    return None


def id_like_rule(values: pd.Series, ctx: ColumnContext) -> Decision | None:
    if unique_per_row(values) and pd.api.types.is_integer_dtype(values):
        return Decision("hidden", "", "a distinct integer per row: looks like another id")
    if ID_NAME.search(str(values.name)) and (pd.api.types.is_integer_dtype(values) or _is_text_like(values)):
        return Decision("hidden", "", "named like an identifier: a code, not a measurement")
    return None


def image_rule(values: pd.Series, ctx: ColumnContext) -> Decision | None:
    if not _is_text_like(values):
        return None
    sample = values.dropna().astype(str).head(200).str.lower()
    if len(sample) and sample.str.endswith(IMAGE_ENDINGS).all():
        return Decision("detail", "image", "paths of image files: shown in the detail view")
    return None


def text_rule(values: pd.Series, ctx: ColumnContext) -> Decision | None:
    if _is_text_like(values) and values.nunique() > MAX_CATEGORIES and _mean_words(values) >= TEXT_WORDS:
        return Decision("feature", "embeddings",
                        f"free text ({_mean_words(values):.0f} words on average): embedded with "
                        f"{ctx.text_featurizer} and shown in the detail view")
    return None


def name_rule(values: pd.Series, ctx: ColumnContext) -> Decision | None:
    if _is_text_like(values) and values.nunique() > len(values) // 2:
        return Decision("hidden", "", "a short name that (almost) every row has its own of: an identifier, "
                                      "which may encode the class")
    return None


def position_rule(values: pd.Series, ctx: ColumnContext) -> Decision | None:
    if str(values.name).lower() in POSITION_NAMES and pd.api.types.is_numeric_dtype(values):
        return Decision("left_out", "", "a position on the sky or a map: for plots; a feature only if "
                                        "the class depends on where an object is")
    return None


def numeric_rule(values: pd.Series, ctx: ColumnContext) -> Decision | None:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        missing = float(values.isna().mean())
        note = f" ({missing:.0%} missing: imputed)" if missing else ""
        return Decision("feature", "numeric", f"numbers{note}")
    return None


def categorical_rule(values: pd.Series, ctx: ColumnContext) -> Decision | None:
    n = values.nunique()
    if _is_text_like(values) and n <= MAX_CATEGORIES:
        return Decision("feature", "categorical", f"{n} distinct values: a category")
    return None


def fallback_rule(values: pd.Series, ctx: ColumnContext) -> Decision:
    return Decision("left_out", "", f"{values.nunique()} distinct short values: too many for a category, "
                                    "too short for text")


#: The rules in order of precedence; the first that returns a Decision wins.
RULES: tuple[Callable[[pd.Series, ColumnContext], Decision | None], ...] = (
    array_rule, id_like_rule, image_rule, text_rule, name_rule, position_rule, numeric_rule,
    categorical_rule,
)


def decide(values: pd.Series, ctx: ColumnContext) -> Decision:
    """The decision of the first rule that recognises the column."""
    for rule in RULES:
        decision = rule(values, ctx)
        if decision is not None:
            return decision
    return fallback_rule(values, ctx)


def same_order_pairs(frame: pd.DataFrame, columns: list[str], *, max_rows: int = 5000,
                     seed: int = 0) -> list[tuple[str, str, float]]:
    """Pairs of numeric columns in the same (or reverse) order: one is a function of the other.

    ``period_days`` and ``log10_period`` carry the same information; the model
    needs one of them. Returns ``(kept, dropped, spearman)``, keeping the less
    skewed column of each pair (the one a linear model uses better).
    """
    if len(columns) < 2:
        return []
    sample = frame[columns]
    if len(sample) > max_rows:
        sample = sample.sample(max_rows, random_state=seed)
    sample = sample.astype(float)
    ranks = sample.rank()
    corr = ranks.corr(min_periods=20).abs()
    skew = sample.skew().abs().fillna(0.0)
    dropped: set[str] = set()
    pairs = []
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            if a in dropped or b in dropped or not corr.at[a, b] >= 0.999:
                continue
            keep, drop = (a, b) if skew[a] <= skew[b] else (b, a)
            dropped.add(drop)
            pairs.append((keep, drop, float(corr.at[a, b])))
    return pairs
