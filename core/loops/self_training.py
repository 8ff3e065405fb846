"""Self-training: confident predictions become pseudo-labels the head retrains on.

Which predictions count as confident is the ``policy`` (see
:mod:`core.loops.thresholds`): ``fixed`` τ, class-aware ``flexmatch``,
self-adaptive ``freematch`` or CEAL's shrinking ``entropy`` threshold. The
human still answers the query strategy's questions every round.
"""
from __future__ import annotations

from typing import ClassVar

from ..errors import ConfigError
from ..registry import concrete_descendants
from ..strategies.base import Param, number, unit_interval
from .pseudo import PseudoLabelLoop
from .thresholds import Acceptance, ThresholdPolicy, build_policy


def _policy_name(v) -> bool:
    return isinstance(v, str) and bool(v)


class SelfTrainingLoop(PseudoLabelLoop):
    """Active queries plus pseudo-labels above a threshold policy."""

    type_name = "self_training"
    params_spec: ClassVar[dict[str, Param]] = {
        **PseudoLabelLoop.params_spec,
        "policy": Param("fixed", _policy_name, "a threshold policy name",
                        "how confident a prediction must be: fixed, flexmatch, freematch or entropy"),
        "tau": Param(0.95, unit_interval(low_open=True), "a number in (0, 1]",
                     "confidence threshold τ (fixed), upper threshold (flexmatch)"),
        "min_threshold": Param(0.5, unit_interval(), "a number in [0, 1]",
                               "floor on the adaptive thresholds (flexmatch, freematch)"),
        "momentum": Param(0.7, unit_interval(high_open=True), "a number in [0, 1)",
                          "EMA momentum of freematch's estimates (one step per model version)"),
        "delta": Param(0.2, number(0.0), "a number >= 0",
                       "initial entropy threshold δ_0 in nats (entropy policy)"),
        "delta_decay": Param(0.005, number(0.0), "a number >= 0",
                             "how much δ shrinks per round of new human labels (entropy policy)"),
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
