"""Pseudo-labelling loops in a real session: precedence, re-evaluation, retrain cycle, review."""
from __future__ import annotations

import time

import numpy as np
import pytest
from loop_fixtures import CLASSES, FITS, SCRIPT, confident, write_scripted

from alabel.core.config import SessionConfig
from alabel.core.errors import ConfigError, LabelStoreError
from alabel.core.loops import ActiveSelfPacedLoop, SelfPacedLoop, SelfTrainingLoop
from waiting import wait_for

from alabel.core.session import EvaluationSet, Session

N = 60
TRUTH = np.array(CLASSES)[np.arange(N) % 3]


@pytest.fixture(autouse=True)
def _script():
    """Start every test with a model that is sure of the truth on rows 0-29 and unsure elsewhere."""
    proba = np.full((N, 3), 1 / 3)
    proba[:30] = confident(30, TRUTH[:30])
    SCRIPT["proba"] = proba
    FITS.clear()
    yield


def _session(tmp_path, loop=None, background=False, held_out=True) -> Session:
    """A scripted session; rows 57-59 are held out (metrics on them, so no out-of-fold fits)."""
    overrides = {} if loop is None else {"loop": loop}
    config = SessionConfig.load(write_scripted(tmp_path, n=N, **overrides))
    rows = np.arange(57, 60)
    evaluation = EvaluationSet(rows=rows, labels=TRUTH[rows]) if held_out else None
    return Session(config, background=background, evaluation_set=evaluation)


def _teach(session, rows):
    session.teach_many([f"o{r}" for r in rows], list(TRUTH[rows]))


def _pseudo(session) -> dict[str, str]:
    frame = session.labels("train", sources=("pseudo",))
    return dict(zip(frame["object_id"], frame["label"]))


# -- config ------------------------------------------------------------------------------
@pytest.mark.parametrize("loop, key, message", [
    ({"type": "self-training", "params": {"tua": 0.9}}, "loop.params.tua", "did you mean 'tau'"),
    ({"type": "self_training", "params": {"policy": "flexmach"}}, "loop.params.policy", "did you mean 'flexmatch'"),
    ({"type": "self_training", "params": {"tau": 1.5}}, "loop.params.tau", "(0, 1]"),
    ({"type": "self_training", "params": {"teacher": "human", "rounds": 0}}, "loop.params.rounds", ">= 1"),
    ({"type": "self_paced", "params": {"mu": 0.5}}, "loop.params.mu", ">= 1"),
    ({"type": "aspl", "params": {"certify_batch": 0}}, "loop.params.certify_batch", ">= 1"),
    ({"type": "selftraining"}, "loop.type", "did you mean 'self_training'"),
])
def test_loop_config_errors_name_the_key(tmp_path, loop, key, message):
    with pytest.raises(ConfigError) as err:
        SessionConfig.load(write_scripted(tmp_path, loop=loop))
    assert key in str(err.value) and message in str(err.value)
    assert str(err.value).startswith(str(tmp_path / "config.yaml"))


def test_dash_and_underscore_spellings_build_the_same_loop():
    from alabel.core.config import LoopSpec

    for name, cls in [("self-training", SelfTrainingLoop), ("self_paced", SelfPacedLoop),
                      ("self-paced", SelfPacedLoop), ("aspl", ActiveSelfPacedLoop)]:
        assert type(LoopSpec(type=name).build()) is cls


def test_live_settings_are_validated_and_a_bad_change_changes_nothing(tmp_path):
    session = _session(tmp_path)
    assert session.loop.update_settings(tau=0.8, max_per_class=3)["tau"] == 0.8
    with pytest.raises(ConfigError, match="loop.tau"):
        session.loop.update_settings(tau=2.0, policy="flexmatch")
    assert session.loop.settings()["tau"] == 0.8 and session.loop.settings()["policy"] == "fixed"
    with pytest.raises(ConfigError, match="unknown parameter"):
        session.loop.update_settings(nonsense=1)


# -- pseudo-labels and human labels ------------------------------------------------------------
def test_teacher_writes_pseudo_labels_and_the_student_trains_on_them(tmp_path):
    session = _session(tmp_path)
    _teach(session, [0, 1, 2])
    model = session.wait_for_model()
    # v1: the teacher (3 human labels only); v2: the student (3 human + 27 pseudo-labels).
    assert [h["version"] for h in session.history] == [1, 2]
    assert FITS[0][0] == 3 and FITS[1][0] == 30
    assert model.version == 2 and model.n_labels == 3 and model.n_pseudo_labels == 27
    pseudo = _pseudo(session)
    assert set(pseudo) == {f"o{r}" for r in range(3, 30)}
    assert all(label == TRUTH[int(o[1:])] for o, label in pseudo.items())
    events = session.store.current(sources=["pseudo"])
    assert (events["annotator"] == "model").all() and (events["model_version"] == 1).all()
    assert events["confidence"].between(0.96, 0.98).all()


def test_a_loop_never_overrides_a_human_label(tmp_path):
    session = _session(tmp_path)
    # The model is sure row 3 is "a"; a person says "b" (and is right or wrong: theirs stands).
    SCRIPT["proba"][3] = confident(1, ["a"])[0]
    session.teach("o3", "b")
    _teach(session, [0, 1, 2])
    session.wait_for_model()
    assert "o3" not in _pseudo(session)
    current = session.labels(split=None, sources=None).set_index("object_id")
    assert current.loc["o3", "label"] == "b" and current.loc["o3", "source"] == "human"
    # The student trained on the human label for o3, never on a pseudo-label for it.
    student_labels = FITS[-1][1]
    assert student_labels[:4] == ["b", "a", "b", "c"] and len(student_labels) == 4 + 26
    # A human label given later to a pseudo-labelled object wins at once and the loop drops its own.
    assert _pseudo(session)["o10"] == "b"
    session.teach("o10", "c")
    assert session.labels().set_index("object_id").loc["o10", "label"] == "c"
    session.wait_for_model()
    assert "o10" not in _pseudo(session)
    assert session.labels().set_index("object_id").loc["o10", "label"] == "c"


def test_pseudo_labels_are_re_evaluated_every_round(tmp_path):
    session = _session(tmp_path)
    _teach(session, [0, 1, 2])
    session.wait_for_model()
    assert {"o10", "o11", "o20"} <= set(_pseudo(session))
    # The model changes its mind: unsure about row 10, another class for row 11, row 40 now sure.
    SCRIPT["proba"][10] = [0.4, 0.3, 0.3]
    SCRIPT["proba"][11] = confident(1, ["a"])[0]
    SCRIPT["proba"][40] = confident(1, [TRUTH[40]])[0]
    _teach(session, [5])
    session.wait_for_model()
    pseudo = _pseudo(session)
    assert "o10" not in pseudo, "retracted: the new model is no longer sure"
    assert pseudo["o11"] == "a", "replaced by the new model's class"
    assert pseudo["o40"] == TRUTH[40]
    history = session.store.history("o10")
    assert history["kind"].tolist() == ["label", "retract"]
    # retracted: o10 (unsure now), o11's old class, o5 (a person labelled it); added: o11, o40
    assert session.loop.last_round.retracted == 3 and session.loop.last_round.added == 2


def test_by_default_a_class_has_no_more_pseudo_labels_than_human_labels(tmp_path):
    session = _session(tmp_path, loop={"type": "self_training"})
    SCRIPT["proba"][:30] = confident(30, TRUTH[:30], p=0.99)
    _teach(session, [0, 1, 2, 3])  # a, b, c, a
    session.wait_for_model()
    values = list(_pseudo(session).values())
    assert {c: values.count(c) for c in CLASSES} == {"a": 2, "b": 1, "c": 1}


def test_caps_and_ratio_limit_the_pseudo_labels(tmp_path):
    session = _session(tmp_path, loop={"type": "self_training",
                                       "params": {"tau": 0.9, "max_per_round": 10, "max_ratio": 2.0}})
    _teach(session, [0, 1, 2, 3])  # human labels of rows 0-3: a, b, c, a
    session.wait_for_model()
    pseudo = _pseudo(session)
    counts = {c: list(pseudo.values()).count(c) for c in CLASSES}
    # ratio 2 per human label of the class: a 4, b 2, c 2 (8 <= 10 new per round).
    assert counts == {"a": 4, "b": 2, "c": 2}
    assert session.loop.last_round.by_class == counts


# -- the retrain cycle -------------------------------------------------------------------
def test_no_endless_retrain_cycle_with_a_background_trainer(tmp_path):
    loop = {"type": "self_training", "params": {"tau": 0.9, "teacher": "self", "rounds": 3,
                                                  "max_ratio": None}}
    with _session(tmp_path, loop=loop, background=True) as session:
        published = []

        def on_event(kind, payload):
            if kind == "model":
                published.append(payload.version)
                # A model that changes its mind at every fit keeps the pseudo set changing:
                # only the round limit stops the cycle.
                SCRIPT["proba"][30 + len(published)] = confident(1, ["a"])[0]
        session.subscribe(on_event)
        _teach(session, [0, 1, 2])
        session.wait_for_model(timeout=30)
        assert wait_for(lambda: not session.trainer.busy, timeout=30)
        assert published == [1, 2, 3, 4], "one fit on new human labels, then at most `rounds` more"
        time.sleep(0.3)  # a runaway cycle would have started another retrain by now
        assert published == [1, 2, 3, 4] and not session.trainer.busy
        _teach(session, [4])
        session.wait_for_model(timeout=30)
        assert wait_for(lambda: not session.trainer.busy, timeout=30)
        assert published == [1, 2, 3, 4, 5, 6, 7, 8]


def test_an_unchanged_pseudo_set_asks_for_no_more_retrains(tmp_path):
    session = _session(tmp_path, loop={"type": "self_training",
                                       "params": {"tau": 0.9, "teacher": "self", "rounds": 5,
                                                  "max_ratio": None}})
    _teach(session, [0, 1, 2])
    session.retrain()
    # v1 wrote 27 pseudo-labels -> v2 trained on them and confirmed the same set -> stop.
    assert [h["version"] for h in session.history] == [1, 2]
    assert session.loop.last_round.kept == 27 and not session.loop.last_round.retrain_requested


def test_student_keeps_the_teachers_set_and_a_retrain_without_new_labels_starts_no_cycle(tmp_path):
    session = _session(tmp_path)
    _teach(session, [0, 1, 2])
    session.retrain()
    before = session.store.revision
    session.request_retrain()  # e.g. a settings change: same human labels
    session.retrain()
    assert len(session.history) == 3, "one retrain, no new teacher/student pair"
    assert session.model.n_pseudo_labels == 27
    assert session.store.revision == before, "the student writes nothing"


def test_a_live_settings_change_applied_at_once_re_judges_the_pool(tmp_path):
    session = _session(tmp_path)
    SCRIPT["proba"][30:57] = confident(27, TRUTH[30:57], p=0.85)
    _teach(session, [0, 1, 2])
    session.retrain()
    assert len(_pseudo(session)) == 27 and len(session.history) == 2
    session.loop.update_settings(tau=0.8)
    session.request_retrain()
    session.retrain()
    # a new teacher (same human labels) accepted the p=0.85 rows too, and its student learnt them
    assert len(session.history) == 4
    assert len(_pseudo(session)) == 54 and session.model.n_pseudo_labels == 54


# -- review ----------------------------------------------------------------------------------
def test_review_lists_pseudo_labels_by_class_and_accept_turns_them_into_human_labels(tmp_path):
    session = _session(tmp_path)
    SCRIPT["proba"][12] = confident(1, ["a"], p=0.99)[0]
    _teach(session, [0, 1, 2])
    session.wait_for_model()
    frame = session.pseudo_labels()
    assert frame["label"].tolist() == sorted(frame["label"], key=CLASSES.index)
    by_class = session.loop.pseudo_by_class(session.loop_context)
    assert set(by_class) == set(CLASSES)
    assert by_class["a"]["object_id"].iloc[0] == "o12", "highest confidence first"
    assert by_class["a"]["confidence"].is_monotonic_decreasing
    events = session.accept_pseudo(["o12", "o13"], annotator="alice")
    assert [e.source for e in events] == ["human", "human"]
    human = session.labels().set_index("object_id")
    assert human.loc["o12", "label"] == "a" and human.loc["o12", "annotator"] == "alice"
    with pytest.raises(LabelStoreError, match="no pseudo-label"):
        session.accept_pseudo(["o0"])
    model = session.wait_for_model()
    assert model.n_labels == 5


def test_aspl_batch_recertification_accepts_all_but_the_rejected(tmp_path):
    session = _session(tmp_path, loop={"type": "aspl", "params": {"certify_batch": 6, "max_ratio": None}})
    _teach(session, [0, 1, 2])
    session.wait_for_model()
    batch = session.certification_batch()
    assert len(batch) == 6 and set(batch["label"]) == set(CLASSES), "every class is shown"
    wrong = batch["object_id"].iloc[0]
    result = session.certify(batch["object_id"], reject=[wrong], annotator="alice")
    assert result == {"accepted": 5, "rejected": 1}
    human = session.labels(sources=("human",))
    assert set(batch["object_id"]) - {wrong} <= set(human["object_id"])
    assert wrong not in set(human["object_id"]) and wrong not in _pseudo(session)
    # Later rounds never pseudo-label a rejected object again, even though the model is sure of it.
    _teach(session, [3])
    session.wait_for_model()
    _teach(session, [4])
    session.wait_for_model()
    assert wrong not in _pseudo(session)
    with pytest.raises(LabelStoreError, match="not in the batch"):
        session.certify(["o20"], reject=["o21"])


def test_rejections_must_be_signed_by_a_person(tmp_path):
    session = _session(tmp_path)
    _teach(session, [0, 1, 2])
    session.wait_for_model()
    with pytest.raises(LabelStoreError, match="person"):
        session.reject_pseudo(["o10"], annotator="model")


# -- self-paced ------------------------------------------------------------------------------
def test_self_paced_age_grows_each_round_of_human_labels(tmp_path):
    session = _session(tmp_path, loop={"type": "self_paced",
                                          "params": {"lam": 0.02, "mu": 2.0, "max_ratio": None}})
    SCRIPT["proba"][30:60] = confident(30, TRUTH[30:60], p=0.95)  # loss 0.051: harder than rows 0-29
    _teach(session, [0, 1, 2])
    session.wait_for_model()
    # round 1: lambda 0.02 < 0.0305 (=-log 0.97): nothing passes
    assert session.loop.last_round.thresholds["lambda"] == pytest.approx(0.02)
    assert len(_pseudo(session)) == 0
    _teach(session, [3])
    session.wait_for_model()
    # round 2: lambda 0.04: the easy rows (p=0.97) join, the harder ones (p=0.95) not yet
    assert set(_pseudo(session)) == {f"o{r}" for r in range(4, 30)}
    _teach(session, [4])
    session.wait_for_model()
    # round 3: lambda 0.08 > 0.051: the harder rows join too
    assert {f"o{r}" for r in range(30, 57)} <= set(_pseudo(session)), "held-out rows 57-59 never"


# -- counts, metrics, stopping -------------------------------------------------------------
def test_out_of_fold_metrics_judge_human_labels_only(tmp_path):
    session = _session(tmp_path, held_out=False)
    _teach(session, list(range(12)))
    model = session.wait_for_model()
    assert model.n_pseudo_labels == 18
    assert model.metrics["evaluation"] == "out-of-fold" and model.metrics["n_evaluated"] == 12


def test_every_model_carries_stopping_guidance(tmp_path):
    session = _session(tmp_path, loop={"type": "active", "params": {"stop_window": 1}})
    _teach(session, [0, 1, 2])
    first = session.wait_for_model()
    assert first.metrics["stopping"]["changed_fraction"] is None
    _teach(session, [3])
    second = session.wait_for_model()
    stopping = second.metrics["stopping"]
    assert stopping["changed_fraction"] == 0.0 and stopping["kappa"] == 1.0 and stopping["stable"]
    assert session.loop.stopping.version == second.version
    assert session.history[-1]["metrics"]["stopping"]["stable"]


def test_auto_loop_is_self_training_that_switches_itself_on_and_off(tmp_path):
    session = _session(tmp_path, loop={"type": "auto", "params": {"max_ratio": None}})
    assert session.loop.settings()["policy"] == "flexmatch" and session.loop.settings()["min_precision"] == 0.9
    _teach(session, [0, 1, 2])
    session.retrain()
    assert _pseudo(session) == {} and not session.model.metrics["self_training"]["on"]
    _teach(session, list(range(3, 12)))  # twelve labels, each predicted right out of fold: on
    session.retrain()
    assert len(_pseudo(session)) == 18 and session.model.metrics["self_training"]["on"]
    SCRIPT["proba"][:13] = confident(13, np.roll(TRUTH[:13], 1))  # sure and wrong: off again
    _teach(session, [12])
    session.retrain()
    assert _pseudo(session) == {} and not session.model.metrics["self_training"]["on"]


def test_precision_gate_holds_pseudo_labels_back_until_the_human_labels_vouch_for_them(tmp_path):
    loop = {"type": "self_training", "params": {"tau": 0.9, "min_precision": 0.9, "max_ratio": None}}
    session = _session(tmp_path, loop=loop)
    _teach(session, [0, 1, 2])
    session.retrain()
    gate = session.loop.last_round.thresholds["gate"]
    assert gate == {"open": False, "precision": None, "n": 0, "min_precision": 0.9}, "three labels cannot vouch"
    assert _pseudo(session) == {}
    assert session.model.metrics["self_training"]["on"] is False  # the verdict is the model's to show
    # The scripted model is sure and right about rows 0-29: out of fold on 12 labels it is
    # right every time, so the gate opens.
    _teach(session, list(range(3, 12)))
    session.retrain()
    gate = session.loop.last_round.thresholds["gate"]
    assert gate["open"] and gate["precision"] == 1.0 and gate["n"] == 12
    assert len(_pseudo(session)) == 18
    verdict = session.model.metrics["self_training"]  # the student, trained on what the check let in
    assert verdict["on"] and verdict["pseudo_labels"] == 18 and verdict["check"]["precision"] == 1.0
    assert verdict["note"].startswith("ON: 18 pseudo-labels")
    # Now the model is sure and WRONG about every labelled row: the gate closes, pseudo-labels go.
    SCRIPT["proba"][:13] = confident(13, np.roll(TRUTH[:13], 1))
    _teach(session, [12])
    session.retrain()
    assert not session.loop.last_round.thresholds["gate"]["open"]
    assert _pseudo(session) == {}
    assert session.model.metrics["self_training"]["note"].startswith("OFF: out of fold")
