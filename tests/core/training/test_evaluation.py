"""Evaluation never makes a label wait: cancellable mid-fit, deferred while labels arrive."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from alabel.core.heads import build_head
from alabel.core.training import retrain, trainer
from alabel.core.training.retrain import TrainingCancelled, TrainingJob, TrainingResult


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    X = rng.normal(size=(n, 4)).astype(np.float32) + (y == "b")[:, None] * 1.5
    return X, y


def job(head_spec, n=120):
    X, y = data(n)
    return TrainingJob(version=1, head_spec=head_spec, classes=["a", "b", "c"], seed=0, X_train=X,
                       y_train=y, label_revision=1, folds=3)


def test_a_forest_grown_in_steps_is_the_forest_of_one_fit():
    X, y = data()
    whole = build_head({"type": "random_forest", "params": {"n_estimators": 35}}, classes=None, random_state=0)
    stepped = build_head({"type": "random_forest", "params": {"n_estimators": 35}}, classes=None, random_state=0)
    whole.fit(X, y)
    checks = []
    retrain.fit_cancellable(stepped, X, y, None, lambda: checks.append(1))
    assert len(checks) == 4, "checked before each step of 10 trees"
    np.testing.assert_array_equal(whole.predict_proba(X), stepped.predict_proba(X))
    assert stepped.params == {"n_estimators": 35}, "the head's own parameters are given back"


def test_an_evaluation_stops_within_a_fit_step(monkeypatch):
    """The first fold's forest is not fitted to its end once a label has arrived."""
    stop = threading.Event()
    sizes = []
    real_fit = RandomForestClassifier.fit

    def fit(self, *args, **kwargs):
        sizes.append(self.n_estimators)
        stop.set()  # a label arrives while the first fold's forest grows
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(RandomForestClassifier, "fit", fit)
    the_job = job({"type": "random_forest", "params": {"n_estimators": 200}})
    head = build_head(the_job.head_spec, classes=the_job.classes, random_state=0)
    with pytest.raises(TrainingCancelled):
        retrain.evaluate_fitted(the_job, head, stop)
    assert sizes == [retrain.FIT_STEP], "stopped after one step of a fold's forest, not 200 trees"


def test_a_training_process_stops_its_evaluation_on_the_trainers_flag():
    stop = threading.Event()
    retrain.worker_initializer(None, stop)
    try:
        the_job = job({"type": "logistic_regression"})
        head = build_head(the_job.head_spec, classes=the_job.classes, random_state=0)
        assert "accuracy" in retrain.evaluate_fitted(the_job, head)
        stop.set()
        with pytest.raises(TrainingCancelled):
            retrain.evaluate_fitted(the_job, head)
    finally:
        retrain.worker_initializer(None, None)


def test_evaluation_waits_for_a_pause_in_the_labels(monkeypatch):
    fits, evaluations = [], []

    def fit_and_score(job, progress=None, cancel=None):
        fits.append(job.version)
        return TrainingResult(version=job.version, head=None, classes=["a"], label_revision=job.version,
                              n_labels=1, metrics={"pending": True}, proba=None, train_seconds=0.0)

    def evaluate_fitted(job, head, cancel=None):
        evaluations.append((job.version, time.monotonic()))
        return {"accuracy": 1.0}

    monkeypatch.setattr(trainer, "fit_and_score", fit_and_score)
    monkeypatch.setattr(trainer, "evaluate_fitted", evaluate_fitted)
    versions = iter(range(1, 1000))
    worker = trainer.BackgroundTrainer(lambda: job_stub(next(versions)), lambda result: None,
                                       coalesce_s=0.0, evaluation_delay_s=0.6)
    try:
        for _ in range(12):  # a label every 0.15 s: never a pause of 0.6 s
            worker.request()
            last_label = time.monotonic()
            time.sleep(0.15)
        assert evaluations == [], "no model was evaluated while labels kept arriving"
        assert len(fits) >= 2, "the labels were trained on meanwhile"
        assert worker.wait(timeout=20)
        assert [v for v, _ in evaluations] == [fits[-1]], "only the newest model is evaluated"
        assert evaluations[0][1] - last_label >= 0.59, "evaluated after a pause of evaluation_delay_s"
    finally:
        worker.close()


def job_stub(version: int) -> TrainingJob:
    return TrainingJob(version=version, head_spec={}, classes=["a"], seed=0, X_train=np.zeros((1, 1)),
                       y_train=np.array(["a"]), label_revision=version)
