"""The machinery every pseudo-labelling loop shares.

Each model version re-evaluates the pseudo-labels from scratch
(:meth:`PseudoLabelLoop.after_model`): rows the loop's rule accepts, capped,
replace the set in force in one store transaction, so a pseudo-label the new
model no longer supports is retracted. Pseudo-labels are never written for
objects a person labelled (human labels win and stay fixed), for held-out
rows, or for objects whose pseudo-label a person rejected.

Who judges the pool (``teacher``). With ``teacher: human`` (the default)
the first retrain after new human labels learns from the human labels only;
that model (the teacher) writes the pseudo-labels, and one more retrain (the
student, the model in use) learns from human + pseudo-labels. The
pseudo-labels are thus re-judged every round by a model that never saw
them, which keeps early mistakes from confirming themselves (confirmation
bias is the classic failure of self-training). With ``teacher: self`` every
model, the one trained on pseudo-labels included, re-judges them (classic
iterated self-training).

Retrain cycle. A pseudo-label set asks for one more retrain so a model learns
from it, but only ``rounds`` times per set of human labels, and (past the
teacher) only when the set changed. So every human revision costs at most
``1 + rounds`` retrains and the trainer always goes idle; with
``teacher: self`` and ``rounds: 0`` pseudo-labels simply wait for the next
retrain on new human labels.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..params import Param, choice, fraction, integer, number
from .base import HUMAN_SOURCES, Loop, TrainingSet, human_key
from .decisions import (PSEUDO_ANNOTATOR, accept_pseudo, pseudo_by_class, pseudo_labels, reject_pseudo,
                     rejected_objects)
from .gate import precision_gate, summary
from .thresholds import Acceptance, select_pseudo

from ..records import ModelVersion
from .context import LoopContext


@dataclass
class PseudoRound:
    """What one re-evaluation of the pseudo-labels did (for the review panel and tests).

    Attributes
    ----------
    model_version : int
        The model that judged the pool.
    round : int
        The loop's round counter (sets of human labels seen).
    pseudo_round : int
        Retrains on pseudo-labels since the human labels last changed.
    n_eligible, n_accepted, n_selected : int
        Rows that could be pseudo-labelled, passed the rule, survived the caps.
    added, retracted, kept : int
        Store changes (see ``LabelStore.replace_pseudo``).
    retrain_requested : bool
        Whether this round asked for another retrain.
    thresholds : dict
        The rule applied.
    by_class : dict
        Pseudo-labels in force per class after the round.
    """

    model_version: int
    round: int
    pseudo_round: int
    n_eligible: int
    n_accepted: int
    n_selected: int
    added: int
    retracted: int
    kept: int
    retrain_requested: bool
    thresholds: dict = field(default_factory=dict)
    by_class: dict = field(default_factory=dict)


class PseudoLabelLoop(Loop):
    """Base of loops that turn confident predictions into pseudo-labels.

    Subclasses implement :meth:`acceptance` (which rows pass) and declare
    their own parameters on top of these.
    """

    pseudo_labelling: ClassVar[bool] = True
    params_spec: ClassVar[dict[str, Param]] = {
        **Loop.params_spec,
        "teacher": choice("human", ("human", "self"),
                          "which model writes the pseudo-labels: one trained on the human labels only "
                          "(human) or the newest model, trained on pseudo-labels too (self)",
                          label="Pseudo-labels written by"),
        "rounds": integer(1, "retrains on new pseudo-labels per set of human labels (teacher: self with "
                          "0: pseudo-labels are used from the next retrain on new human labels)", low=0,
                          label="Pseudo-label retrains per round"),
        "max_ratio": number(1.0, "most pseudo-labels in force per human train label of the same class "
                            "(keeps the classes' balance that of the human labels, and thousands of "
                            "easy pseudo-labels from drowning a few human ones); null: no cap",
                            low=0, nullable=True, label="Pseudo per human label (cap)"),
        "max_per_round": integer(None, "most new pseudo-labels one model version may add (highest "
                                 "priority first); null: no cap", low=1, nullable=True,
                                 label="New pseudo-labels per model (cap)"),
        "max_per_class": integer(None, "most pseudo-labels in force per class; null: no cap", low=1,
                                 nullable=True, label="Pseudo-labels per class (cap)"),
        "min_precision": fraction(None, "pseudo-label only when, on the human labels, out-of-fold "
                                  "predictions at least as confident as the pseudo-labels were right this "
                                  "often (3 extra fits per round); null: no check", nullable=True,
                                  label="Minimum precision"),
        "weight": fraction(1.0, "sample weight of a pseudo-label in training (human labels weigh 1)",
                           low_open=True, label="Pseudo-label weight"),
    }

    def __init__(self, **params):
        super().__init__(**params)
        self._cycle_lock = threading.Lock()
        self._pending: tuple[object, int] | None = None  # (human key, pseudo round) of a requested retrain
        self._trained: tuple[object, int] | None = None  # the same for the newest prepared retrain
        self.last_round: PseudoRound | None = None

    def update_settings(self, **changes) -> dict:
        """Change settings live; the next retrain re-judges the pool with them.

        Call ``context.request_retrain()`` afterwards to apply them at once
        (a teacher/student pair on the same human labels); otherwise they
        apply with the next human labels.
        """
        settings = super().update_settings(**changes)
        with self._cycle_lock:
            self._trained = None  # the same human labels start a new cycle under the new rule
        return settings

    @classmethod
    def _check_together(cls, params: dict, where: str, key: str) -> None:
        super()._check_together(params, where, key)
        if params["teacher"] == "human" and params["rounds"] < 1:
            raise ConfigError(f"{where}: {key}.rounds: must be >= 1 with teacher: human (the "
                              "teacher never trains on pseudo-labels; a student retrain must)")

    # -- what subclasses decide ---------------------------------------------------------
    def acceptance(self, proba: np.ndarray, classes: list[str], params: dict) -> Acceptance:
        """Which of these rows (probabilities of the eligible rows) may become pseudo-labels."""
        raise NotImplementedError

    # -- training set -------------------------------------------------------------------
    def prepare_training(self, context: LoopContext) -> TrainingSet:
        """Human train labels first, then the pseudo-labels in force (weighted by ``weight``)."""
        human = context.labels("train")
        pseudo = context.labels("train", sources=("pseudo",))
        key = human_key(context, human)
        with self._cycle_lock:
            if self._pending is not None and self._pending[0] == key:
                round_ = self._pending[1]
            elif self._trained is not None and self._trained[0] == key:
                round_ = self._trained[1]  # same human labels, no pseudo retrain asked: no new cycle
            else:
                round_ = 0
            self._pending = None
            self._trained = (key, round_)
        if round_ == 0 and self.settings()["teacher"] == "human":
            pseudo = pseudo.iloc[:0]  # the teacher learns from people only
        rows = np.concatenate([human["row"].to_numpy(), pseudo["row"].to_numpy()]).astype(np.int64)
        y = np.concatenate([human["label"].astype(str).to_numpy(), pseudo["label"].astype(str).to_numpy()])
        weight = float(self.settings()["weight"])
        sample_weight = None
        if weight != 1.0 and len(pseudo):
            self._check_weights(context)
            sample_weight = np.concatenate([np.ones(len(human)), np.full(len(pseudo), weight)])
        info = {"human_key": key, "pseudo_round": round_,
                "pseudo_rows": pseudo["row"].to_numpy().astype(np.int64),
                "pseudo_labels": pseudo["label"].astype(str).to_numpy()}
        return TrainingSet(rows=rows, y=y, sample_weight=sample_weight, n_human=len(human), info=info)

    def training_set(self, context: LoopContext):
        return self.prepare_training(context).as_tuple()

    def _check_weights(self, context: LoopContext) -> None:
        from ..heads import build_head

        head = build_head(context.head_spec, classes=list(context.classes), random_state=0,
                          where=context.where)
        if not getattr(head, "supports_sample_weight", True):
            raise ConfigError(f"{context.where}: loop.params.weight: head "
                              f"{context.head_spec.get('type')!r} cannot use sample weights; "
                              "set weight: 1.0")

    # -- after each model -----------------------------------------------------------------
    def eligible_rows(self, context: LoopContext) -> np.ndarray:
        """Rows that may be pseudo-labelled: no human label, not held out, not rejected."""
        mask = np.ones(context.pool.n, dtype=bool)
        if context.held_out_rows is not None:
            mask[context.held_out_rows] = False
        mask[context.labelled_rows(HUMAN_SOURCES)] = False
        rejected = rejected_objects(context.events())
        if rejected:
            mask &= ~np.isin(np.asarray(context.pool.ids).astype(str), sorted(rejected))
        return np.flatnonzero(mask)

    def after_model(self, context: LoopContext, model: ModelVersion) -> None:
        """Re-evaluate the pseudo-labels with the new model; maybe ask for one more retrain."""
        super().after_model(context, model)
        if model.proba is None:
            return
        params = self.settings()
        info = getattr(model, "loop_info", None) or {}
        pseudo_round = int(info.get("pseudo_round", 0))
        key = info.get("human_key")
        if pseudo_round >= params["rounds"] and params["teacher"] == "human":
            return  # the last student keeps the set its teacher wrote (the set it learnt from)
        eligible = self.eligible_rows(context)
        proba = np.asarray(model.proba[eligible], dtype=np.float64)
        verdict = self.acceptance(proba, list(model.classes), params)
        predicted = proba.argmax(axis=1) if len(proba) else np.zeros(0, dtype=np.int64)
        class_index = {c: j for j, c in enumerate(model.classes)}
        current = context.labels("train", sources=("pseudo",))
        position = np.full(context.pool.n, -1, dtype=np.int64)
        position[eligible] = np.arange(len(eligible))
        prev_pos = position[current["row"].to_numpy()]
        prev_cls = current["label"].astype(str).map(class_index).to_numpy()
        known = (prev_pos >= 0) & pd.notna(prev_cls)
        previous = dict(zip(prev_pos[known].tolist(), prev_cls[known].astype(np.int64).tolist()))
        chosen = select_pseudo(verdict.accepted, verdict.priority, predicted, previous,
                               max_per_round=params["max_per_round"],
                               max_per_class=self._class_caps(context, list(model.classes), params))
        gate = precision_gate(context, model, proba[chosen].max(axis=1), params["min_precision"])
        if gate is not None and not gate["open"]:
            chosen = chosen[:0]
        classes = np.asarray(model.classes, dtype=object)
        ids = context.pool.ids[eligible[chosen]]
        confidence = proba[chosen, predicted[chosen]] if len(chosen) else np.zeros(0)
        labels = {str(o): (str(classes[c]), float(min(max(p, 0.0), 1.0)))
                  for o, c, p in zip(ids, predicted[chosen], confidence)}
        update = context.write_pseudo(labels, model.version, annotator=PSEUDO_ANNOTATOR)
        changed = bool(update.added or update.retracted)
        # A human-only teacher never learnt from its set: its student must, changed or not.
        untaught = pseudo_round == 0 and params["teacher"] == "human" and len(chosen) > 0
        again = (changed or untaught) and key is not None and pseudo_round < params["rounds"]
        if again:
            with self._cycle_lock:
                self._pending = (key, pseudo_round + 1)
        counts = pd.Series([v[0] for v in labels.values()], dtype=object).value_counts()
        self.last_round = PseudoRound(
            model_version=model.version, round=self.human_rounds, pseudo_round=pseudo_round,
            n_eligible=len(eligible), n_accepted=int(verdict.accepted.sum()), n_selected=len(chosen),
            added=update.added, retracted=update.retracted, kept=update.kept, retrain_requested=again,
            thresholds={**verdict.thresholds, **({"gate": gate} if gate else {})}, by_class={str(c): int(counts.get(c, 0)) for c in model.classes})
        # This model's own verdict, the newest (it replaces the one its training set came with).
        model.metrics["self_training"] = summary(gate, len(chosen), model.version)
        if again:
            context.request_retrain()

    def model_metrics(self, context: LoopContext, model: ModelVersion) -> dict:
        """Adds ``self_training``: the verdict of the newest check, under which this model trained.

        A model that judges the pool (a teacher) gets its own verdict in :meth:`after_model`.
        """
        metrics = super().model_metrics(context, model)
        last = self.last_round
        if last is not None:
            metrics["self_training"] = summary(last.thresholds.get("gate"), model.n_pseudo_labels,
                                               last.model_version)
        return metrics

    @staticmethod
    def _class_caps(context: LoopContext, classes: list[str], params: dict):
        """Per-class caps from ``max_per_class`` and ``max_ratio`` × the class's human labels."""
        if params["max_ratio"] is None:
            return params["max_per_class"]
        counts = context.labels("train")["label"].astype(str).value_counts()
        caps = np.array([int(params["max_ratio"] * counts.get(c, 0)) for c in classes], dtype=np.int64)
        if params["max_per_class"] is not None:
            caps = np.minimum(caps, params["max_per_class"])
        return caps

    # -- review (the dashboard's review panel) -------------------------------------------
    def pseudo_labels(self, context: LoopContext, *, latest_only: bool = False) -> pd.DataFrame:
        """Pseudo-labels in force, by class then confidence (``latest_only``: written by the newest round)."""
        version = self.last_round.model_version if latest_only and self.last_round else None
        return pseudo_labels(context, model_version=version)

    def pseudo_by_class(self, context: LoopContext, *, latest_only: bool = False) -> dict[str, pd.DataFrame]:
        """:meth:`pseudo_labels` split by class."""
        version = self.last_round.model_version if latest_only and self.last_round else None
        return pseudo_by_class(context, model_version=version)

    def accept(self, context: LoopContext, object_ids=None, *, annotator: str | None = None):
        """Accept pseudo-labels as human labels (all in force when ``object_ids`` is None)."""
        return accept_pseudo(context, object_ids, annotator=annotator)

    def reject(self, context: LoopContext, object_ids, *, annotator: str | None = None) -> int:
        """Reject pseudo-labels (retracted; never pseudo-labelled again)."""
        return reject_pseudo(context, object_ids, annotator=annotator)
