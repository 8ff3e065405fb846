"""The loop base class and its registry lookup."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from ..config_types import check_params
from ..registry import resolve

if TYPE_CHECKING:  # pragma: no cover
    from ..config import LoopSpec
    from ..session import ModelVersion, Session


class Loop:
    """What happens around each retrain and each query.

    The plain active loop only asks the human. Other loops (self-training,
    self-paced) add pseudo-labels after each retrain through ``after_model``.
    ``params`` are validated against ``PARAMS`` (name → type) at config load.
    """

    type_name: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, type | tuple[type, ...]]] = {}

    def __init__(self, **params):
        self.params = params

    def training_set(self, session: Session) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Pool rows, labels and sample weights the next retrain learns from.

        Called in the trainer's thread when a retrain is prepared. The active
        loop trains on the current human/catalogue/import train labels; loops
        that add pseudo-labels (self-training, self-paced) override this.
        """
        train: pd.DataFrame = session.labels("train")
        return train["row"].to_numpy(), train["label"].astype(str).to_numpy(), None

    def after_model(self, session: Session, model: ModelVersion) -> None:
        """Called in the trainer's thread when a new model version is published."""


def validate_loop(spec: LoopSpec, where: str) -> type[Loop]:
    cls = resolve(Loop, spec.type, key="loop.type", where=where)
    check_params(spec.params, cls.PARAMS, where, "loop.params")
    return cls


def build_loop(spec: LoopSpec, where: str = "config.yaml") -> Loop:
    return validate_loop(spec, where)(**spec.params)
