"""Learning curve of a labelling session, replayed from the label journal.

Labels are taken in the order they were recorded; for a grid of label counts
the head is refitted on the first k labels and evaluated like a live model
(held-out test labels when there are any, else out of fold). The curve is
therefore exactly reproducible from the store, whatever models were trained
(or not) while labelling.
"""
from __future__ import annotations

import pandas as pd

from ..training.retrain import TrainingJob, evaluate


def label_grid(n: int) -> list[int]:
    """1-2-5 steps from 10 up to n, and n itself."""
    grid, base = [], 10
    while base < n:
        grid.extend(b for b in (base, 2 * base, 5 * base) if b < n)
        base *= 10
    return sorted(set(grid) | {n}) if n else []


def replay_learning_curve(session, *, progress: bool = False) -> pd.DataFrame:
    """Refit the session's head on growing prefixes of the train labels."""
    from tqdm import tqdm

    from ..heads import build_head

    train = session.labels("train").sort_values("time", kind="stable")
    X_eval, y_eval, evaluation = session._evaluation_data()
    rows = []
    for k in tqdm(label_grid(len(train)), disable=not progress, desc="learning curve", leave=False):
        prefix = train.iloc[:k]
        y = prefix["label"].astype(str).to_numpy()
        if len(set(y)) < 2:
            continue
        job = TrainingJob(version=0, head_spec=session.config.head, classes=session.classes,
                          seed=session.config.seed, X_train=session.pool.X[prefix["row"].to_numpy()],
                          y_train=y, label_revision=0, X_eval=X_eval, y_eval=y_eval,
                          evaluation=evaluation, folds=session.config.training.evaluation_folds,
                          where=session.config.source)
        head = build_head(job.head_spec, classes=job.classes, random_state=job.seed, where=job.where)
        head.fit(job.X_train, job.y_train)
        metrics = evaluate(head, job, lambda: None)
        if not metrics.get("n_evaluated"):
            continue
        rows.append({"seed": session.config.seed, "strategy": "session",
                     "head": session.config.head.get("type"), "labels": k,
                     "accuracy": metrics["accuracy"], "balanced_accuracy": metrics["balanced_accuracy"],
                     "macro_f1": metrics["macro_f1"], "evaluation": metrics["evaluation"],
                     "n_evaluated": metrics["n_evaluated"]})
    return pd.DataFrame(rows, columns=["seed", "strategy", "head", "labels", "accuracy",
                                       "balanced_accuracy", "macro_f1", "evaluation", "n_evaluated"])
