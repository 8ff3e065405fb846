"""Torch heads on the CPU: fitting, determinism, warm start, hooks, classes, persistence.

The shared head contract tests cover the scikit-learn contract; these check
what only the torch heads promise. Data: scikit-learn's bundled digits.
"""
import fractions
import threading

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

from alabel.core.errors import ConfigError, DataError
from alabel.core.heads import build_head, load_head, save_head
from alabel.core.heads.kernels import stats
from alabel.core.heads.torch_heads import LinearProbeHead, PrototypeHead, TorchMLPHead
from alabel.core.training.retrain import TrainingCancelled

FAST = dict(max_epochs=15, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    return X[:600].astype(np.float32), names[y[:600]], X[600:900].astype(np.float32), names[y[600:900]]


def heads():
    return [LinearProbeHead(**FAST), TorchMLPHead(hidden=32, **FAST), PrototypeHead(random_state=0)]


@pytest.mark.parametrize("head", heads(), ids=lambda h: h.type_name)
def test_fit_predict_on_cpu(head, digits):
    X, y, Xt, yt = digits
    head.fit(X, y)
    assert head.device_.type == "cpu"  # 'auto' without CUDA
    proba = head.predict_proba(Xt)
    assert proba.shape == (len(Xt), 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # Nearest class mean is a weaker model than a trained one on digits.
    assert (head.predict(Xt) == yt).mean() > (0.75 if isinstance(head, PrototypeHead) else 0.85)
    assert list(head.classes_) == sorted(set(y))


@pytest.mark.parametrize("head", heads(), ids=lambda h: h.type_name)
def test_seeded_fits_are_identical(head, digits):
    X, y, Xt, _ = digits
    a = clone(head).fit(X[:200], y[:200]).predict_proba(Xt)
    b = clone(head).fit(X[:200], y[:200]).predict_proba(Xt)
    np.testing.assert_array_equal(a, b)
    if not isinstance(head, PrototypeHead):
        c = clone(head).set_params(random_state=1).fit(X[:200], y[:200]).predict_proba(Xt)
        assert not np.array_equal(a, c)


def test_fitting_leaves_torch_global_rng_and_threads_alone(digits):
    X, y, _, _ = digits
    torch.manual_seed(123)
    expected = torch.rand(3)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    TorchMLPHead(num_threads=1, **FAST).fit(X[:100], y[:100])
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_num_threads_caps_torch_during_fit(digits):
    X, y, _, _ = digits
    seen = []
    head = LinearProbeHead(num_threads=1, **FAST)
    head.fit(X[:100], y[:100], progress_callback=lambda *a: seen.append(torch.get_num_threads()))
    assert seen and set(seen) == {1}


# --------------------------------------------------------------------------- hooks
def test_progress_callback_called_once_per_epoch(digits):
    X, y, _, _ = digits
    calls = []
    head = TorchMLPHead(hidden=16, max_epochs=7, random_state=0)
    head.fit(X[:300], y[:300], progress_callback=lambda *args: calls.append(args))
    assert [c[:2] for c in calls] == [(e, 7) for e in range(1, 8)]
    losses = [c[2] for c in calls]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    # Set as an attribute instead of a fit argument.
    calls.clear()
    head2 = LinearProbeHead(max_epochs=3, random_state=0)
    head2.progress_callback = lambda *args: calls.append(args)
    head2.fit(X[:50], y[:50])
    assert [c[0] for c in calls] == [1, 2, 3]


def test_cancellation_raises_and_leaves_head_unfitted(digits):
    X, y, _, _ = digits
    cancel = threading.Event()
    epochs = []

    def progress(epoch, total, loss):
        epochs.append(epoch)
        if epoch == 2:
            cancel.set()

    head = LinearProbeHead(max_epochs=50, random_state=0)
    with pytest.raises(TrainingCancelled, match="before epoch 3/50"):
        head.fit(X[:100], y[:100], progress_callback=progress, cancel_event=cancel)
    assert epochs == [1, 2]
    assert not hasattr(head, "net_")


def test_cancel_already_set_stops_before_the_first_epoch(digits):
    X, y, _, _ = digits
    cancel = threading.Event()
    cancel.set()
    head = TorchMLPHead(**FAST)
    head.cancel_event = cancel
    with pytest.raises(TrainingCancelled, match="before epoch 1/"):
        head.fit(X[:100], y[:100])


# --------------------------------------------------------------------------- warm start
def test_warm_start_continues_from_previous_weights(digits):
    X, y, _, _ = digits
    first = LinearProbeHead(max_epochs=20, warm_start=True, random_state=0).fit(X[:200], y[:200])
    before = first.net_.out_w.detach().clone()
    # A tiny learning rate makes the warm fit's end weights its start weights.
    warm = clone(first).set_params(lr=1e-12).warm_start_from(first).fit(X[:210], y[:210])
    assert warm.fit_kind_ == "warm" and warm.fits_since_full_ == 1
    assert warm.n_epochs_ == 2 < first.n_epochs_  # warm_epochs defaults to max_epochs // 10
    torch.testing.assert_close(warm.net_.out_w, before, rtol=0, atol=1e-9)
    assert torch.equal(first.net_.out_w, before)  # the previous head is untouched
    cold = clone(first).set_params(lr=1e-12, warm_start=False).fit(X[:210], y[:210])
    assert cold.fit_kind_ == "full" and (cold.net_.out_w - before).abs().max() > 0.05
    assert "_warm_source" not in warm.__dict__  # no chain of old heads kept alive


def test_warm_start_refit_in_place_and_scheduled_full_retrain(digits):
    X, y, _, _ = digits
    head = TorchMLPHead(hidden=16, max_epochs=10, warm_start=True, full_retrain_every=3, random_state=0)
    kinds, notes = [], []
    for n in (100, 110, 120, 130, 140):
        head.fit(X[:n], y[:n])
        kinds.append((head.fit_kind_, head.n_epochs_))
        notes.append(list(head.fit_notes_))
    assert kinds == [("full", 10), ("warm", 1), ("warm", 1), ("full", 10), ("warm", 1)]
    assert notes[3] == ["scheduled full retrain (every 3 fits)"] and notes[4] == []


def test_warm_start_falls_back_when_classes_change(digits):
    X, y, _, _ = digits
    keep = np.isin(y, ["zero", "one", "two"])
    small = LinearProbeHead(warm_start=True, **FAST).fit(X[keep], y[keep])
    head = clone(small).warm_start_from(small).fit(X[:200], y[:200])
    assert head.fit_kind_ == "full"
    assert any("classes changed" in note for note in head.fit_notes_)


def test_warm_start_off_ignores_previous_head(digits):
    X, y, _, _ = digits
    first = LinearProbeHead(**FAST).fit(X[:100], y[:100])
    again = clone(first).warm_start_from(first).fit(X[:100], y[:100])
    assert again.fit_kind_ == "full"
    np.testing.assert_array_equal(again.predict_proba(X[:20]), first.predict_proba(X[:20]))


# --------------------------------------------------------------------------- classes
@pytest.mark.parametrize("cls", [LinearProbeHead, TorchMLPHead, PrototypeHead])
def test_explicit_classes_keep_the_output_layer_stable(cls, digits):
    X, y, Xt, _ = digits
    classes = ["two", "one", "zero", "nine"]
    keep = np.isin(y, ["zero", "one"])
    head = cls(classes=classes, random_state=0).fit(X[keep][:60], y[keep][:60])
    assert list(head.classes_) == classes
    proba = head.predict_proba(Xt)
    assert proba.shape == (len(Xt), 4)
    assert (proba[:, [0, 3]] == 0).all()  # no label yet: probability exactly 0
    scores = head.score_pool(Xt)
    assert set(np.unique(scores["argmax"])) <= {1, 2}
    np.testing.assert_allclose(scores["top1"], proba.max(axis=1), rtol=1e-5)
    # A later round brings "two": same columns, now with probability.
    keep3 = np.isin(y, ["zero", "one", "two"])
    head.fit(X[keep3][:90], y[keep3][:90])
    assert list(head.classes_) == classes and head.predict_proba(Xt)[:, 0].max() > 0.5


def test_single_class_predicts_it(digits):
    X, y, Xt, _ = digits
    ones = y == "one"
    head = TorchMLPHead(classes=["zero", "one"], **FAST).fit(X[ones][:5], y[ones][:5])
    np.testing.assert_array_equal(head.predict_proba(Xt[:3]), [[0.0, 1.0]] * 3)
    assert head.mc_predict_proba(Xt[:3], n_samples=2).shape == (2, 3, 2)
    scores = head.score_pool(Xt[:3])
    assert (scores["argmax"] == 1).all() and (scores["top1"] == 1).all()


# --------------------------------------------------------------------------- missing values, weights
def test_nan_features_are_imputed_with_indicators(digits):
    X, y, Xt, _ = digits
    X = X.copy()
    X[::3, 10] = np.nan  # partly missing: median + indicator
    X[:, 20] = np.nan  # all missing: imputed with 0, still flagged
    head = LinearProbeHead(**FAST).fit(X, y)
    assert head.standardiser_.n_outputs == X.shape[1] + 2
    Xt = Xt.copy()
    Xt[:5, 33] = np.nan  # never missing at fit: imputed, no indicator
    assert np.isfinite(head.predict_proba(Xt)).all()
    assert np.isfinite(head.score_pool(Xt)["entropy"]).all()


def test_balanced_class_weight_raises_minority_recall():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (380, 2)), rng.normal(1.2, 1, (20, 2))]).astype(np.float32)
    y = np.array(["major"] * 380 + ["minor"] * 20)
    plain = LinearProbeHead(max_epochs=60, random_state=0).fit(X, y)
    balanced = LinearProbeHead(max_epochs=60, class_weight="balanced", random_state=0).fit(X, y)
    minority = y == "minor"
    assert (balanced.predict(X[minority]) == "minor").mean() > (plain.predict(X[minority]) == "minor").mean() + 0.3


def test_prototype_sample_weight_equals_repetition(digits):
    X, y, Xt, _ = digits
    w = np.tile([1.0, 2.0, 0.0], 100)[:150]
    weighted = PrototypeHead().fit(X[:150], y[:150], sample_weight=w)
    reps = np.repeat(np.arange(150), w.astype(int))
    repeated = PrototypeHead().fit(X[reps], y[reps])
    np.testing.assert_allclose(weighted.predict_proba(Xt), repeated.predict_proba(Xt), rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- prototype
def test_prototype_at_few_labels_per_class(digits):
    X, y, Xt, yt = digits
    for per_class in (1, 3, 5):
        idx = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)])
        head = PrototypeHead().fit(X[idx], y[idx])
        assert (head.predict(Xt) == yt).mean() > (0.45 if per_class == 1 else 0.55)  # chance: 0.1
        if per_class == 1:
            assert head.beta_ == 1.0 and any("single label" in n for n in head.fit_notes_)
        else:
            assert 0 < head.beta_ < 1e4 and head.beta_ != 1.0
    fixed = PrototypeHead(temperature=0.5).fit(X[:100], y[:100])
    assert fixed.beta_ == 2.0


def test_prototype_partial_fit_accumulates_means(digits):
    X, y, _, _ = digits
    classes = sorted(set(y))
    inc = PrototypeHead(temperature=1.0)
    inc.partial_fit(X[:100], y[:100], classes=classes)
    inc.partial_fit(X[100:200], y[100:200])
    whole = PrototypeHead(temperature=1.0).fit(X[:200], y[:200])
    # Means of the first batch's standardised space, over both batches.
    Z = inc.standardiser_.transform(X[:200])
    for k, c in enumerate(classes):
        np.testing.assert_allclose(inc.means_[k], Z[y[:200] == c].mean(axis=0), rtol=1e-5, atol=1e-6)
    assert (inc.predict(X[:200]) == whole.predict(X[:200])).mean() > 0.9


def test_net_partial_fit_trains_one_epoch_per_call(digits):
    X, y, Xt, yt = digits
    head = LinearProbeHead(random_state=0)
    with pytest.raises(Exception, match="first call needs the full class list"):
        head.partial_fit(X[:50], y[:50])
    for _ in range(30):
        head.partial_fit(X, y, classes=sorted(set(y)))
    assert head.fit_kind_ == "partial" and head.n_epochs_ == 1 and head.n_partial_ == 30
    assert (head.predict(Xt) == yt).mean() > 0.85


# --------------------------------------------------------------------------- MC dropout
def test_mc_dropout_samples_differ_and_are_reproducible(digits):
    X, y, Xt, _ = digits
    head = TorchMLPHead(hidden=32, dropout=0.3, **FAST).fit(X, y)
    samples = head.mc_predict_proba(Xt[:40], n_samples=6)
    assert samples.shape == (6, 40, 10)
    np.testing.assert_allclose(samples.sum(axis=2), 1.0, rtol=1e-12)
    flat = samples.reshape(6, -1)
    assert all(not np.array_equal(flat[i], flat[j]) for i in range(6) for j in range(i + 1, 6))
    np.testing.assert_array_equal(samples, head.mc_predict_proba(Xt[:40], n_samples=6))
    # The mean of the samples is close to the deterministic prediction.
    assert np.abs(samples.mean(axis=0) - head.predict_proba(Xt[:40])).mean() < 0.1
    without = TorchMLPHead(hidden=32, dropout=0.0, **FAST).fit(X, y).mc_predict_proba(Xt[:5], n_samples=3)
    np.testing.assert_array_equal(without[0], without[2])


# --------------------------------------------------------------------------- pool scoring
@pytest.mark.parametrize("head", heads(), ids=lambda h: h.type_name)
def test_score_pool_agrees_with_predict_proba(head, digits, tmp_path):
    X, y, Xt, _ = digits
    head.fit(X, y)
    path = tmp_path / "pool.npy"
    np.save(path, Xt)
    pool = np.load(path, mmap_mode="r")
    type(head).score_chunk_rows = 128  # several chunks
    try:
        stats.reset()
        scores = head.score_pool(pool)
        assert stats.pool_torch == 3  # the chunked torch kernel on CPU
        stats.reset()
        fused = head.score_pool(Xt, backend="triton")  # the Triton kernel, interpreted
        assert stats.pool_triton == 3
    finally:
        del type(head).score_chunk_rows
    proba = head.predict_proba(Xt)
    srt = np.sort(proba, axis=1)
    for got in (scores, fused):
        np.testing.assert_allclose(got["top1"], srt[:, -1], rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(got["top2"], srt[:, -2], rtol=1e-4, atol=1e-7)
        entropy = -(proba * np.log(np.clip(proba, 1e-300, None))).sum(axis=1)
        np.testing.assert_allclose(got["entropy"], entropy, atol=1e-4)
        np.testing.assert_array_equal(got["argmax"], proba.argmax(axis=1))


def test_training_loss_uses_the_fused_cross_entropy(digits):
    X, y, _, _ = digits
    stats.reset()
    LinearProbeHead(max_epochs=2, batch_size=100, random_state=0).fit(X[:200], y[:200])
    assert stats.ce_forward_torch == stats.ce_backward_torch == 4  # 2 epochs × 2 batches, CPU path


# --------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("head", heads() + [LinearProbeHead(classes=["zero", "one", "x"], class_weight={"zero": 2.0})],
                         ids=lambda h: h.type_name)
def test_save_load_round_trip(head, digits, tmp_path):
    X, y, Xt, _ = digits
    keep = np.isin(y, ["zero", "one"]) if head.classes else slice(None)
    head.fit(X[keep], y[keep])
    save_head(head, tmp_path / "h")
    assert sorted(p.name for p in (tmp_path / "h").iterdir()) == ["head.json", "torch_head.json", "torch_head.pt"]
    loaded = load_head(tmp_path / "h")
    assert type(loaded) is type(head)
    assert loaded.get_params() == head.get_params()
    np.testing.assert_array_equal(loaded.classes_, head.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(Xt), head.predict_proba(Xt))
    for key, value in head.score_pool(Xt).items():
        np.testing.assert_array_equal(loaded.score_pool(Xt)[key], value)


def test_load_refuses_pickled_objects(digits, tmp_path):
    X, y, _, _ = digits
    save_head(LinearProbeHead(**FAST).fit(X[:50], y[:50]), tmp_path / "h")
    # A state file carrying an arbitrary Python object must not be unpickled.
    torch.save({"payload": fractions.Fraction(1, 3)}, tmp_path / "h" / "torch_head.pt")
    with pytest.raises(DataError, match="unreadable torch head"):
        load_head(tmp_path / "h")


def test_load_reports_missing_state_file(digits, tmp_path):
    X, y, _, _ = digits
    save_head(PrototypeHead().fit(X[:50], y[:50]), tmp_path / "h")
    (tmp_path / "h" / "torch_head.pt").unlink()
    with pytest.raises(DataError, match="torch_head.pt: not found"):
        load_head(tmp_path / "h")


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize("spec,message", [
    ({"type": "mlp_torch", "dropout": 1.5}, r"head\.dropout: must be a number in \[0, 1\)"),
    ({"type": "linear_probe", "max_epochs": 0}, r"head\.max_epochs: must be an integer >= 1"),
    ({"type": "linear_probe", "device": "tpu"}, r"head\.device: 'tpu' is not a torch device"),
    ({"type": "linear_probe", "class_weight": "even"}, r"head\.class_weight: must be null, 'balanced'"),
    ({"type": "mlp_torch", "hiden": 64}, r"head\.hiden: unknown key .*did you mean 'hidden'"),
    ({"type": "prototype", "temperature": -1}, r"head\.temperature: must be null \(learned\) or a number > 0"),
    ({"type": "linear_prob"}, r"did you mean 'linear_probe'"),
])
def test_spec_errors_name_the_key(spec, message):
    with pytest.raises(ConfigError, match=message):
        build_head(spec, classes=["a", "b"], random_state=0)


def test_build_head_from_spec():
    head = build_head({"type": "mlp_torch", "hidden": [64, 32], "warm_start": True}, classes=["a", "b"],
                      random_state=3)
    assert isinstance(head, TorchMLPHead)
    assert head.get_params()["hidden"] == [64, 32] and head.classes == ["a", "b"] and head.random_state == 3


def test_invalid_params_fail_in_fit(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        LinearProbeHead(lr=0).fit(X[:20], y[:20])


def test_bald_strategy_queries_with_mc_dropout(digits):
    from alabel.core.strategies.base import PoolContext, build_strategy

    X, y, Xt, _ = digits
    head = TorchMLPHead(hidden=32, dropout=0.3, **FAST).fit(X[:100], y[:100])
    strategy = build_strategy({"type": "bald", "params": {"n_samples": 8}}, head=head)
    context = PoolContext(X=Xt, candidates=np.arange(len(Xt)), rng=np.random.default_rng(0), model=head)
    picked = strategy.select(context, 5)
    assert len(picked.indices) == 5 and (np.diff(picked.scores) <= 0).all() and picked.scores[0] > 0
    with pytest.raises(ConfigError, match="strategy 'bald' needs"):
        build_strategy({"type": "bald"}, head=LinearProbeHead())


def test_thread_cap_restored_when_users_overlap():
    from alabel.core.heads.nets.train import torch_threads

    before = torch.get_num_threads()
    fit, predict = torch_threads(1), torch_threads(1)
    fit.__enter__()
    predict.__enter__()  # e.g. a prediction while a background fit runs: does not wait
    fit.__exit__(None, None, None)
    assert torch.get_num_threads() == 1  # still capped for the remaining user
    predict.__exit__(None, None, None)
    assert torch.get_num_threads() == before
