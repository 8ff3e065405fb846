"""The setup page's state: a proposed config edited field by field (no Panel here).

``alabel serve DATA.parquet`` has no config yet, hence no Session: this state
talks to the engine through ``core.scaffold`` (the code behind ``alabel
init``), which proposes the choices, validates them the way the config
loader and the session will, and writes config.yaml. Once it is saved, the
dashboard opens the session as for any config.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import param

from alabel.core.errors import AlabelError
from alabel.core.scaffold import Proposal, propose, validate_setup, write_config
from alabel.core.scaffold.columns import Decision

#: The ground-truth choice that means "none".
NO_TRUTH = "(none)"
#: Feature kinds a column can be chosen for.
KINDS = ("numeric", "categorical", "arrays", "embeddings")


class SetupState(param.Parameterized):
    """What the user chose on the setup page, with the errors and warnings of each field."""

    id_column = param.Selector(default=None, objects=[], doc="Column with a distinct value per object")
    ground_truth = param.Selector(default=NO_TRUTH, objects=[NO_TRUTH], doc="Column of known classes, if any")
    numeric = param.ListSelector(default=[], objects=[], doc="Numeric feature columns")
    categorical = param.ListSelector(default=[], objects=[], doc="Categorical feature columns")
    arrays = param.ListSelector(default=[], objects=[], doc="Columns holding an array per row")
    embeddings = param.ListSelector(default=[], objects=[], doc="Text columns embedded as features")
    hidden = param.ListSelector(default=[], objects=[], doc="Columns never shown while labelling")
    classes = param.List(default=[], item_type=dict,
                         doc="One {name, color, key, rows} per class, in the order of the class keys")
    errors = param.Dict(default={}, doc="Field -> one-line error (nothing is saved while any is set)")
    warnings = param.Dict(default={}, doc="Field -> one-line warning (saving is allowed)")
    saved = param.String(default="", doc="Path of the written config, once saved")

    def __init__(self, paths: list[Path], out: Path, **params):
        super().__init__(**params)
        self.paths = [Path(p) for p in paths]
        self.out = Path(out)
        self._choice_error: dict[str, str] = {}
        self.proposal: Proposal = propose(self.paths)
        self._load(self.proposal)
        self.param.watch(self._repropose, ["id_column", "ground_truth"])
        self.param.watch(self.validate, ["numeric", "categorical", "arrays", "embeddings", "hidden", "classes"])

    # -- from a proposal ------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return list(self.proposal.frame.columns)

    def _load(self, proposal: Proposal) -> None:
        """Set every field from a proposal (the first one, or after the id or the truth changed)."""
        self.proposal = proposal
        others = [c for c in self.columns if c not in (proposal.id_column, proposal.ground_truth)]
        for name in (*KINDS, "hidden"):
            self.param[name].objects = others
        self.param.id_column.objects = self.columns
        self.param.ground_truth.objects = [NO_TRUTH, *[c for c in self.columns if c != proposal.id_column]]
        values = {kind: proposal.features(kind) for kind in KINDS}
        styles = _default_styles(proposal)
        with param.parameterized.discard_events(self):
            self.param.update(id_column=proposal.id_column, ground_truth=proposal.ground_truth or NO_TRUTH,
                              hidden=proposal.hidden, classes=styles, **values)
        self.validate()

    def _repropose(self, *_) -> None:
        truth = "" if self.ground_truth == NO_TRUTH else self.ground_truth
        try:
            proposal = propose(self.paths, id_column=self.id_column, ground_truth=truth)
        except AlabelError as exc:
            # The fields show a choice the proposal could not take: keep the error until they change.
            self._choice_error = {"ground_truth" if "--ground-truth" in str(exc) else "id_column": str(exc)}
            self.validate()
            return
        self._choice_error = {}
        self._load(proposal)

    # -- to a proposal ----------------------------------------------------------------
    def current(self) -> Proposal:
        """The proposal with the user's choices applied (features, hidden columns, classes)."""
        edited = copy.copy(self.proposal)
        decisions = {}
        chosen = {c: kind for kind in KINDS for c in getattr(self, kind)}
        for column, decision in self.proposal.decisions.items():
            if column in chosen:
                same = decision.role == "feature" and decision.kind == chosen[column]
                decisions[column] = decision if same else Decision("feature", chosen[column], "chosen by hand")
            elif column in self.hidden:
                decisions[column] = decision if decision.role == "hidden" else Decision("hidden", "", "chosen by hand")
            elif decision.role == "detail":
                decisions[column] = decision
            else:
                decisions[column] = Decision("left_out", "", decision.reason if decision.role == "left_out"
                                             else "left out by hand")
        edited.decisions = decisions
        rows = dict(self.proposal.classes)
        edited.classes = [(c["name"], rows.get(c["name"], 0)) for c in self.classes if c["name"].strip()]
        return edited

    def class_styles(self) -> dict[str, dict]:
        return {c["name"]: {"color": c.get("color"), "key": c.get("key")} for c in self.classes}

    def set_class(self, index: int, **changes) -> None:
        """Change one class's name, colour or key (a new list, so watchers fire)."""
        classes = [dict(c) for c in self.classes]
        classes[index].update(changes)
        self.classes = classes

    def add_class(self, name: str) -> None:
        name = name.strip()
        if name and name not in [c["name"] for c in self.classes]:
            self.classes = [*self.classes, {"name": name, "color": "", "key": "", "rows": 0}]

    # -- checks and saving ------------------------------------------------------------------
    def validate(self, *_) -> bool:
        """Check the choices as the config loader and the session will; True when nothing is wrong."""
        errors, warnings = validate_setup(self.current(), self.out, class_styles=self.class_styles())
        errors.update(self._choice_error)
        # Choices a proposal cannot hold (one column in two places) are errors too, worded as the loader's.
        where = f"{self.out}: "
        seen: dict[str, str] = {}
        for kind in KINDS:
            for column in getattr(self, kind):
                if column in seen:
                    errors.setdefault("features", f"{where}data.features.{kind}: column {column!r} is already "
                                                  f"declared in data.features.{seen[column]}")
                seen.setdefault(column, kind)
        for i, column in enumerate(self.hidden):
            if column in seen:
                errors.setdefault("hidden", f"{where}data.hidden[{i}]: {column!r} is a feature; a column that "
                                            "gives the class away must not be one")
        self.param.update(errors=errors, warnings=warnings)
        return not errors

    def save(self) -> Path | None:
        """Write config.yaml when the choices are valid; returns its path (None: see ``errors``)."""
        if not self.validate():
            return None
        try:
            path = write_config(self.current(), self.out, class_styles=self.class_styles())
        except AlabelError as exc:
            self.errors = {**self.errors, "config": str(exc)}
            return None
        self.saved = str(path)
        return path

    def preview(self) -> pd.DataFrame:
        """One row per column: its type, distinct values, missing share, examples and the proposal's reason."""
        frame = self.proposal.frame
        rows = []
        for column in frame.columns:
            values = frame[column]
            sample = values.dropna().head(3).tolist()
            examples = ", ".join(_short(v) for v in sample)
            decision = self.proposal.decisions.get(column)
            role = ("id" if column == self.proposal.id_column else "ground truth"
                    if column == self.proposal.ground_truth else
                    f"{decision.role} {decision.kind}".strip().replace("_", " ") if decision else "")
            rows.append({"column": column, "type": str(values.dtype), "distinct": _count(values),
                         "missing": f"{values.isna().mean():.0%}", "examples": examples,
                         "proposed": role, "why": decision.reason if decision else ""})
        return pd.DataFrame(rows)


def _count(values: pd.Series) -> int | str:
    try:
        return int(values.nunique())
    except TypeError:  # arrays are not hashable
        return "-"


def _short(value, n: int = 24) -> str:
    text = str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _default_styles(proposal: Proposal) -> list[dict]:
    """Each proposed class with the colour and key the written config would give it."""
    from alabel.core.scaffold import config_mapping

    mapping = config_mapping(proposal, Path("config.yaml"))
    rows = dict(proposal.classes)
    return [{"name": c["name"], "color": c["color"], "key": c["key"], "rows": rows.get(c["name"], 0)}
            for c in mapping["classes"]]
