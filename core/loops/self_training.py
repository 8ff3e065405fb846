"""Self-training: confident predictions become pseudo-labels the head retrains on.

Which predictions count as confident is the ``policy`` (see
:mod:`core.loops.thresholds`): ``fixed`` τ, class-aware ``flexmatch``,
self-adaptive ``freematch`` or CEAL's shrinking ``entropy`` threshold. The
human still answers the query strategy's questions every round.
"""
from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from ..errors import ConfigError
from ..registry import concrete_descendants
from ..params import Param, fraction, number, text
from .pseudo import PseudoLabelLoop
from .thresholds import Acceptance, ThresholdPolicy, build_policy


class SelfTrainingLoop(PseudoLabelLoop):
    """Active queries plus pseudo-labels above a threshold policy."""

    type_name = "self_training"
    params_spec: ClassVar[dict[str, Param]] = {
        **PseudoLabelLoop.params_spec,
        # A name or a dotted path to a user's policy, so not a closed choice: _check_together
        # resolves it (with a "did you mean"); the review panel offers the registered ones.
        "policy": text("fixed", "how confident a prediction must be: fixed, flexmatch, freematch or entropy",
                       known=tuple(concrete_descendants(ThresholdPolicy)), label="Threshold policy"),
        "tau": fraction(0.95, "confidence threshold τ (fixed), upper threshold (flexmatch)", low_open=True,
                        label="Confidence threshold τ"),
        "min_threshold": fraction(0.5, "floor on the adaptive thresholds (flexmatch, freematch)",
                                  label="Lowest adaptive threshold"),
        "momentum": fraction(0.7, "EMA momentum of freematch's estimates (one step per model version)",
                             high_open=True, label="FreeMatch momentum"),
        "delta": number(0.2, "initial entropy threshold δ_0 in nats (entropy policy)", low=0,
                        label="Entropy threshold δ₀ (nats)"),
        "delta_decay": number(0.005, "how much δ shrinks per round of new human labels (entropy policy)",
                              low=0, label="δ decay per round"),
    }

    def __init__(self, **params):
        super().__init__(**params)
        self._policy: ThresholdPolicy | None = None

    @classmethod
    def _check_together(cls, params: dict, where: str, key: str) -> None:
        super()._check_together(params, where, key)
        names = concrete_descendants(ThresholdPolicy)
        if "." not in params["policy"] and params["policy"] not in names:
            build_policy(params["policy"], where=where)  # raises with "did you mean"
        if params["min_threshold"] > params["tau"] and params["policy"] == "flexmatch":
            raise ConfigError(f"{where}: {key}.min_threshold: must not exceed tau ({params['tau']}) "
                              "for the flexmatch policy")

    def acceptance(self, proba, classes, params) -> Acceptance:
        if self._policy is None or self._policy.type_name != params["policy"]:
            self._policy = build_policy(params["policy"])  # a live policy change starts fresh
        return self._policy.accept(proba, classes, params, max(self.human_rounds - 1, 0))


class GatedSelfTrainingLoop(SelfTrainingLoop):
    """Self-training that switches itself on and off: ``loop.type: auto``.

    Pseudo-labels (class-aware flexmatch thresholds, at most one per human label of the class,
    a teacher trained on people only) are written only while the check of
    :mod:`core.loops.gate` passes: out of fold on the human labels, predictions as confident as
    the pseudo-labels were right at least ``min_precision`` (0.9) of the time. Otherwise it is
    the plain active loop. Measured on the tuning group of bench/datasets.md
    (bench/RESULTS.md, issue 15): the check opened on penguins and breast_cancer (pseudo-labels
    97-100 % right) and stayed shut on seattle_weather and chile_vote, where the model is right
    about 50-65 % of the time.
    """

    type_name = "auto"
    params_spec: ClassVar[dict[str, Param]] = {
        **SelfTrainingLoop.params_spec,
        "policy": replace(SelfTrainingLoop.params_spec["policy"], default="flexmatch"),
        "min_precision": replace(SelfTrainingLoop.params_spec["min_precision"], default=0.9),
    }
