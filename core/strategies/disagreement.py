"""Query by committee and BALD: query where posterior samples disagree.

The committee strategies score the members' probabilities of a committee head
(``member_probas``); BALD scores MC-dropout passes of a torch head
(``mc_predict_proba``) or, failing that, the committee members, which are
samples of the same kind. Before the first model they pick at random.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, NotReadyError
from . import scores
from ..params import integer
from .base import PoolContext, QueryStrategy, Selection, describe_top


class CommitteeStrategy(QueryStrategy):
    """Score = ``score_function(member_probas)`` over the candidates."""

    requires: ClassVar[str] = "member_probas"

    def _select(self, context: PoolContext, n: int) -> Selection:
        if context.model is None:
            return self._random(context, n, f"no model yet: random pick ({self.type_name} starts with the first model)")
        probas = self._samples(context)
        values = self._score(probas)
        names = context.class_names(probas.shape[2])
        return self._top(context, values, n, lambda pos: self._reason(probas[:, pos], values[pos], names))

    def _samples(self, context: PoolContext) -> np.ndarray:
        model = context.model
        if not hasattr(model, "member_probas"):
            raise NotReadyError(
                f"strategy {self.type_name!r} needs a committee head (head.type: committee); "
                f"head {getattr(model, 'type_name', type(model).__name__)!r} has no member_probas()"
            )
        return np.asarray(model.member_probas(context.X[context.candidates]))

    @classmethod
    def _requirement(cls) -> str:
        return "a committee head (head.type: committee)"

    def _score(self, probas: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _reason(self, samples: np.ndarray, value: float, names: list[str]) -> str:
        raise NotImplementedError


class VoteEntropyStrategy(CommitteeStrategy):
    """Query the rows where the members' votes (argmax classes) are most split."""

    type_name: ClassVar[str] = "vote_entropy"

    def _score(self, probas):
        return scores.vote_entropy(probas)

    def _reason(self, samples, value, names):
        votes = np.bincount(samples.argmax(axis=1), minlength=len(names))
        cast = ", ".join(f"{names[j]} x{votes[j]}" for j in np.argsort(-votes, kind="stable") if votes[j])
        return f"vote entropy {value:.2f}: members voted {cast}"


class KLMaxDisagreementStrategy(CommitteeStrategy):
    """Query the rows where one member departs most from the consensus (KL divergence)."""

    type_name: ClassVar[str] = "kl_max_disagreement"

    def _score(self, probas):
        return scores.kl_max_disagreement(probas)

    def _reason(self, samples, value, names):
        return f"max KL {value:.2f} of a member from the consensus {describe_top(samples.mean(axis=0), names)}"


class BALDStrategy(CommitteeStrategy):
    """BALD (mutual information) over MC-dropout passes or committee members.

    Parameters
    ----------
    n_samples : int, default 20
        Stochastic forward passes per candidate (heads with ``mc_predict_proba``).
    """

    type_name: ClassVar[str] = "bald"
    requires: ClassVar[str] = "mc_predict_proba"
    params_spec = {
        "n_samples": integer(20, "MC-dropout passes per candidate", low=2, label="MC-dropout samples"),
    }

    @classmethod
    def check_head(cls, head: Any, *, where: str = "config.yaml", key: str = "strategy.type") -> None:
        if not (hasattr(head, "mc_predict_proba") or hasattr(head, "member_probas")):
            name = getattr(head, "type_name", type(head).__name__)
            raise ConfigError(f"{where}: {key}: strategy 'bald' needs {cls._requirement()}; head {name!r} has neither")

    @classmethod
    def _requirement(cls) -> str:
        return "a head with mc_predict_proba() (e.g. mlp_torch) or a committee head"

    def _samples(self, context):
        model = context.model
        rows = context.X[context.candidates]
        if hasattr(model, "mc_predict_proba"):
            return np.asarray(model.mc_predict_proba(rows, n_samples=self.params["n_samples"]))
        if hasattr(model, "member_probas"):
            return np.asarray(model.member_probas(rows))
        raise NotReadyError(
            f"strategy 'bald' needs {self._requirement()}; "
            f"head {getattr(model, 'type_name', type(model).__name__)!r} has neither"
        )

    def _score(self, probas):
        return scores.bald(probas)

    def _reason(self, samples, value, names):
        mean = samples.mean(axis=0)
        return (f"mutual information {value:.2f} over {len(samples)} samples: "
                f"mean prediction {describe_top(mean, names)}")
