"""Self-paced learning (SPL) and active self-paced learning (ASPL).

SPL (Kumar et al. 2010) trains on the samples whose loss is below an age
parameter λ that grows each round (λ ← μλ): easy samples first, harder ones
as the model matures. Here the samples are the pool's predictions: a row
joins as a pseudo-label when the loss of its predicted class,
``−log p(ŷ)``, is below ``λ_t = λ_0 μ^t`` (t counts rounds of new human
labels), easiest first under the caps. Human labels are always trained on:
a person's answer is never paced out (suspicious ones go to the label-noise
queue instead).

ASPL (Lin et al. 2018) runs the same self-paced pseudo-labelling while the
human answers the low-confidence queries (the session's uncertainty
strategy; ``least_confidence`` is the paper's choice), and offers the
pseudo-labels back for batch re-certification: accept all, reject some.
Human labels override pseudo-labels and stay fixed.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from ..strategies.base import Param, integer, number
from .pseudo import PseudoLabelLoop
from .decisions import accept_pseudo, pseudo_labels, reject_pseudo
from .thresholds import Acceptance, self_paced_age

from .context import LoopContext


class SelfPacedLoop(PseudoLabelLoop):
    """Pseudo-labels whose loss is under the growing age λ (SPL)."""

    type_name = "self_paced"
    params_spec: ClassVar[dict[str, Param]] = {
        **PseudoLabelLoop.params_spec,
        "lam": Param(0.05, number(0.0), "a number >= 0",
                     "initial age λ_0: a row joins when -log p(predicted class) < λ "
                     "(0.05 ≈ confidence above 0.95)"),
        "mu": Param(1.1, number(1.0), "a number >= 1", "growth of λ per round of new human labels"),
    }

    def age(self, params: dict | None = None) -> float:
        """The current λ."""
        params = params or self.settings()
        return self_paced_age(max(self.human_rounds - 1, 0), float(params["lam"]), float(params["mu"]))

    def acceptance(self, proba, classes, params) -> Acceptance:
        lam = self.age(params)
        with np.errstate(divide="ignore"):
            loss = -np.log(proba.max(axis=1)) if len(proba) else np.zeros(0)
        return Acceptance(accepted=loss < lam, priority=-loss,
                          thresholds={"policy": "self_paced", "lambda": round(lam, 6),
                                      "min_confidence": round(float(np.exp(-lam)), 6)})


class ActiveSelfPacedLoop(SelfPacedLoop):
    """ASPL: self-paced pseudo-labels, human queries, batch re-certification."""

    type_name = "aspl"
    params_spec: ClassVar[dict[str, Param]] = {
        **SelfPacedLoop.params_spec,
        "certify_batch": Param(50, integer(1), "an integer >= 1",
                               "pseudo-labels offered per re-certification batch"),
    }

    def certification_batch(self, context: LoopContext, n: int | None = None) -> pd.DataFrame:
        """Pseudo-labels to re-certify: up to ``n`` (default ``certify_batch``), grouped by class.

        Taken round-robin over the classes so every class is seen, lowest
        confidence first within a class (the likeliest mistakes); the newest
        round's pseudo-labels come before older ones.
        """
        n = n or self.settings()["certify_batch"]
        frame = pseudo_labels(context)
        if frame.empty:
            return frame
        newest = self.last_round.model_version if self.last_round else None
        frame = frame.assign(_new=(frame["model_version"] == newest).to_numpy())
        frame = frame.sort_values(["_new", "confidence"], ascending=[False, True], kind="stable")
        frame = frame.assign(_turn=frame.groupby("label", sort=False).cumcount())
        picked = frame.sort_values("_turn", kind="stable").head(n)
        order = {c: i for i, c in enumerate(context.classes)}
        picked = picked.assign(_cls=picked["label"].map(order))
        picked = picked.sort_values(["_cls", "confidence"], kind="stable")
        return picked.drop(columns=["_new", "_turn", "_cls"]).reset_index(drop=True)

    def certify(self, context: LoopContext, batch, *, reject=(), annotator: str | None = None) -> dict:
        """Re-certify a batch: reject ``reject``, accept the rest as human labels.

        Parameters
        ----------
        batch : iterable of object ids
            The batch shown (e.g. ``certification_batch(context)["object_id"]``).
        reject : iterable of object ids
            Those the person judged wrong.

        Returns
        -------
        dict
            ``{"accepted": n, "rejected": m}``.
        """
        reject = {str(o) for o in reject}
        batch = [str(o) for o in batch]
        unknown = sorted(reject - set(batch))
        if unknown:
            from ..errors import LabelStoreError

            raise LabelStoreError(f"certify: rejected objects {unknown[:5]} are not in the batch")
        rejected = reject_pseudo(context, sorted(reject), annotator=annotator) if reject else 0
        accepted = accept_pseudo(context, [o for o in batch if o not in reject], annotator=annotator)
        return {"accepted": len(accepted), "rejected": rejected}
