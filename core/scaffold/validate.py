"""Check a setup (an edited proposal) field by field, as the config loader and the session will."""
from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from ..checks import check_truth_classes, leaky_columns
from ..errors import AlabelError
from .columns import unique_per_row
from .proposal import Proposal
from .render import render_config

#: Fields of the setup page, and the config keys whose errors belong beside each.
FIELDS = {
    "id_column": ("data.id_column",),
    "ground_truth": ("data.ground_truth",),
    "features": ("data.features", "data.missing", "data.detail"),
    "hidden": ("data.hidden",),
    "classes": ("classes",),
}


def field_of(message: str) -> str:
    """The setup field a one-line error belongs to (``"config"`` when none)."""
    match = re.search(r": ((?:data\.)?[a-z_]+(?:\.[a-z_]+)?)[\[.:]", message)
    key = match.group(1) if match else ""
    for name, prefixes in FIELDS.items():
        if any(key.startswith(p) for p in prefixes):
            return name
    return "config"


def validate_setup(proposal: Proposal, out: str | os.PathLike, *, class_styles: dict | None = None
                   ) -> tuple[dict[str, str], dict[str, str]]:
    """Errors and warnings per field of the setup page (empty dicts: ready to save).

    The same checks as ``alabel init`` and a session opening: the config
    loader's (keys, columns, classes), an id with a distinct value in every
    row, ground-truth values that are classes, and no feature that alone
    predicts the ground truth (a warning: the user may know better).
    """
    from ..config import SessionConfig

    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    where = str(out)
    if not unique_per_row(proposal.frame[proposal.id_column]):
        errors["id_column"] = (f"{where}: data.id_column: column {proposal.id_column!r} has missing or "
                               "repeated values; an id needs a distinct value in every row")
    if not proposal.class_names:
        errors["classes"] = f"{where}: classes: no classes yet; add at least two"
    try:
        text = render_config(proposal, out, class_styles=class_styles)
        SessionConfig.from_dict(yaml.safe_load(text), base_dir=Path(out).resolve().parent, where=where)
    except AlabelError as exc:
        errors.setdefault(field_of(str(exc)), str(exc))
    truth = proposal.ground_truth
    if truth is not None and proposal.class_names:
        try:
            column = proposal.frame[truth]
            values = column.astype(str).where(column.notna(), None).to_numpy(dtype=object)
            check_truth_classes(values, proposal.class_names, where=where, column=truth)
        except AlabelError as exc:
            errors.setdefault("classes", str(exc))
        plain = proposal.features("numeric") + proposal.features("categorical")
        leaks = leaky_columns(proposal.frame, plain, proposal.frame[truth])
        if leaks:
            kind = "numeric" if leaks[0].column in proposal.features("numeric") else "categorical"
            warnings["features"] = leaks[0].message(where, f"data.features.{kind}", f"data.ground_truth {truth!r}")
    return errors, warnings


__all__ = ["FIELDS", "field_of", "validate_setup"]
