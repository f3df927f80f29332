"""Tests of nnlab.train.fit: learning, early stopping, divergence, arguments, output."""

from __future__ import annotations

import time

import numpy as np
import pytest

import nnlab
from nnlab.data import Standardizer, train_val_split
from nnlab.datasets import load_digits, moons, sine
from nnlab.train import DivergenceError, History, evaluate, fit


@pytest.fixture(scope="module")
def digits():
    """Standardised digits, split 80/20 with the class proportions kept."""
    X, y = load_digits()
    X_tr, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.2, rng=0, stratify=True)
    scaler = Standardizer().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_val), y_tr, y_val


def _finite(model) -> bool:
    return all(np.isfinite(p.value).all() for p in model.parameters())


def test_fit_learns_digits_to_95_percent_validation_accuracy_quickly(digits):
    X_tr, X_val, y_tr, y_val = digits
    model = nnlab.mlp([64, 64, 10], rng=0)
    optimizer = nnlab.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    history = fit(model, nnlab.CrossEntropyLoss(), optimizer, X_tr, y_tr,
                  X_val=X_val, y_val=y_val, epochs=20, batch_size=32, rng=0, progress=False)
    elapsed = time.perf_counter() - start
    assert elapsed < 30.0, f"20 epochs on the digits took {elapsed:.1f} s"
    assert history.val_accuracy[-1] >= 0.95, history.summary()
    assert len(history.train_loss) == len(history.val_loss) == len(history.train_accuracy) == 20
    assert history.train_loss[-1] < history.train_loss[0] / 5
    assert not history.stopped_early and not history.diverged
    assert history.best_epoch == int(np.argmin(history.val_loss))
    # The recorded validation numbers are those of the returned model.
    loss, accuracy = evaluate(model, nnlab.CrossEntropyLoss(), X_val, y_val)
    assert loss == pytest.approx(history.val_loss[-1], rel=1e-12)
    assert accuracy == history.val_accuracy[-1]


def test_fit_is_reproducible_for_a_seed(digits):
    X_tr, _, y_tr, _ = digits

    def run(seed):
        model = nnlab.mlp([64, 16, 10], rng=0)
        fit(model, nnlab.CrossEntropyLoss(), nnlab.optim.SGD(model.parameters(), lr=0.1),
            X_tr[:300], y_tr[:300], epochs=2, rng=seed, progress=False)
        return model.state_dict()

    a, b, c = run(1), run(1), run(2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_early_stopping_restores_the_best_epochs_weights(digits):
    X_tr, X_val, y_tr, y_val = digits
    # 150 training examples and a wide layer over-fit within a few epochs, so the
    # validation loss turns up and patience runs out long before 100 epochs.
    model = nnlab.mlp([64, 128, 10], rng=0)
    optimizer = nnlab.optim.Adam(model.parameters(), lr=1e-2)
    history = fit(model, nnlab.CrossEntropyLoss(), optimizer, X_tr[:150], y_tr[:150],
                  X_val=X_val, y_val=y_val, epochs=100, batch_size=16, rng=0,
                  patience=3, progress=False)
    assert history.stopped_early
    assert history.epochs == history.best_epoch + 1 + 3
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert history.val_loss[-1] > history.val_loss[history.best_epoch]
    loss, _ = evaluate(model, nnlab.CrossEntropyLoss(), X_val, y_val)
    assert loss == pytest.approx(history.val_loss[history.best_epoch], rel=1e-12)
    assert "Stopped early" in history.message
    assert f"epoch {history.best_epoch + 1}" in history.message


def test_divergence_raises_with_epoch_batch_and_learning_rate_advice(digits):
    X_tr, _, y_tr, _ = digits

    def run(epochs, on_divergence="raise"):
        model = nnlab.mlp([64, 64, 10], rng=0)
        optimizer = nnlab.optim.SGD(model.parameters(), lr=1e3)
        fit(model, nnlab.CrossEntropyLoss(), optimizer, X_tr, y_tr, epochs=epochs, rng=0,
            progress=False, on_divergence=on_divergence)
        return model

    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+, batch \d+") as info:
        run(epochs=5)
    error = info.value
    assert isinstance(error, RuntimeError)
    assert "lr=1000 -> lr=100" in str(error)
    assert error.history.diverged
    failing_epoch = error.history.epochs + 1
    assert f"epoch {failing_epoch}, batch" in str(error)
    # The returned weights are those at the start of the failing epoch, i.e. after the
    # completed epochs: the same as a run that stops there (same seeds, same batches).
    if failing_epoch > 1:
        completed = run(epochs=failing_epoch - 1).state_dict()
        diverged = run(epochs=5, on_divergence="stop").state_dict()
        assert all(np.array_equal(diverged[k], completed[k]) for k in completed)


def test_divergence_stop_returns_history_and_finite_weights(digits):
    X_tr, X_val, y_tr, y_val = digits
    model = nnlab.mlp([64, 64, 10], rng=0)
    optimizer = nnlab.optim.SGD(model.parameters(), lr=1e3, momentum=0.9)
    history = fit(model, nnlab.CrossEntropyLoss(), optimizer, X_tr, y_tr, X_val=X_val,
                  y_val=y_val, epochs=5, rng=0, progress=False, on_divergence="stop")
    assert history.diverged and not history.stopped_early
    assert "diverged at epoch" in history.message and "smaller learning rate" in history.message
    assert _finite(model)
    assert all(np.isfinite(b).all() for b in optimizer.momentum_buffer)
    assert model.training, "fit leaves the model in the mode it found it in"


def test_divergence_is_detected_in_regression_too():
    X, y = sine(n_samples=64, rng=0)
    model = nnlab.mlp([1, 32, 1], rng=0)
    history = fit(model, nnlab.MSELoss(), nnlab.optim.SGD(model.parameters(), lr=50.0), X, y,
                  epochs=50, batch_size=8, rng=0, progress=False, on_divergence="stop")
    assert history.diverged and _finite(model)
    assert history.train_accuracy == [] and history.val_loss == []


def test_fit_does_not_warn_while_diverging(digits, recwarn):
    X_tr, _, y_tr, _ = digits
    model = nnlab.mlp([64, 64, 10], rng=0)
    fit(model, nnlab.CrossEntropyLoss(), nnlab.optim.SGD(model.parameters(), lr=1e3),
        X_tr, y_tr, epochs=3, rng=0, progress=False, on_divergence="stop")
    assert [w for w in recwarn if issubclass(w.category, RuntimeWarning)] == []


def test_progress_false_prints_nothing_and_true_shows_a_bar(capsys):
    X, y = moons(n_samples=64, rng=0)
    model = nnlab.mlp([2, 8, 2], rng=0)
    fit(model, nnlab.CrossEntropyLoss(), nnlab.optim.Adam(model.parameters()), X, y,
        epochs=3, rng=0, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    fit(model, nnlab.CrossEntropyLoss(), nnlab.optim.Adam(model.parameters()), X, y,
        X_val=X, y_val=y, epochs=3, rng=0, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "val_loss=" in err


def test_binary_accuracy_with_bce_logits():
    X, y = moons(n_samples=200, noise=0.1, rng=0)
    model = nnlab.mlp([2, 32, 32, 1], rng=0)
    history = fit(model, nnlab.BCEWithLogitsLoss(), nnlab.optim.Adam(model.parameters(), lr=1e-2),
                  X, y.reshape(-1, 1).astype(np.float64), epochs=30, rng=0, progress=False)
    assert history.train_accuracy[-1] >= 0.95
    pred = model(X) > 0
    assert history.train_accuracy[-1] == pytest.approx(np.mean(pred.ravel() == y), abs=0.05)


def test_fit_restores_eval_mode():
    X, y = moons(n_samples=32, rng=0)
    model = nnlab.mlp([2, 8, 2], dropout=0.5, rng=0).eval()
    fit(model, nnlab.CrossEntropyLoss(), nnlab.optim.SGD(model.parameters(), lr=0.1), X, y,
        X_val=X, y_val=y, epochs=1, rng=0, progress=False)
    assert not any(m.training for m in model.modules())


def test_cross_entropy_with_float_labels_raises_a_clear_error():
    X, y = moons(n_samples=32, rng=0)
    model = nnlab.mlp([2, 8, 2], rng=0)
    with pytest.raises(TypeError, match="CrossEntropyLoss expected integer class labels"):
        fit(model, nnlab.CrossEntropyLoss(), nnlab.optim.SGD(model.parameters(), lr=0.1),
            X, y.astype(np.float64), epochs=1, progress=False)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"epochs": 2.0}, TypeError, "epochs must be an int"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": -1}, ValueError, "batch_size must be >= 1"),
        ({"y": np.zeros(31, dtype=np.int64)}, ValueError, r"len\(X\) = 32 and len\(y\) = 31"),
        ({"X_val": np.zeros((4, 2))}, ValueError, "got X_val without y_val"),
        ({"y_val": np.zeros(4, dtype=np.int64)}, ValueError, "got y_val without X_val"),
        ({"patience": 3}, ValueError, "patience .* needs a validation set"),
        ({"on_divergence": "ignore"}, ValueError, "on_divergence must be"),
        ({"X": np.full((32, 2), np.nan)}, ValueError, "finite training input"),
        ({"X_val": np.zeros((4, 2)), "y_val": np.zeros(5, dtype=np.int64)}, ValueError,
         r"len\(X\) = 4 and len\(y\) = 5"),
        ({"scheduler": "cosine"}, TypeError, "scheduler with step\\(\\).*got str"),
        ({"scheduler": nnlab.optim.StepLR(nnlab.optim.SGD([nnlab.Parameter(np.zeros(1))], lr=1.0), 2)},
         ValueError, "learning rate of another optimizer"),
    ],
)
def test_fit_validates_its_arguments(kwargs, error, match):
    X, y = moons(n_samples=32, rng=0)
    model = nnlab.mlp([2, 4, 2], rng=0)
    args = {"X": X, "y": y, **kwargs}
    X, y = args.pop("X"), args.pop("y")
    with pytest.raises(error, match=match):
        fit(model, nnlab.CrossEntropyLoss(), nnlab.optim.SGD(model.parameters(), lr=0.1), X, y,
            progress=False, **args)


def test_history_repr_and_summary_are_readable():
    history = History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], train_accuracy=[0.5, 0.8],
                      val_accuracy=[0.4, 0.75], best_epoch=1, message="Completed 2 epoch(s).")
    assert repr(history) == (
        "History(epochs=2, train_loss=0.5, val_loss=0.7, val_accuracy=0.75, best_epoch=1, "
        "stopped_early=False, diverged=False)"
    )
    text = history.summary()
    assert "best val loss    0.7 at epoch 2 (accuracy 75.00%)" in text
    assert "Completed 2 epoch(s)." in text
    assert str(history) == text


# --- learning-rate schedulers ------------------------------------------------------------


def test_fit_steps_the_scheduler_once_per_epoch_after_the_optimizer(digits):
    X_tr, X_val, y_tr, y_val = digits
    X_tr, y_tr = X_tr[:200], y_tr[:200]

    def schedule(optimizer):
        warmup = nnlab.optim.LinearLR(optimizer, start_factor=0.2, total_iters=2)
        cosine = nnlab.optim.CosineAnnealingLR(optimizer, T_max=4, eta_min=0.001)
        return nnlab.optim.SequentialLR(optimizer, [warmup, cosine], milestones=[2])

    model = nnlab.mlp([64, 16, 10], rng=0)
    optimizer = nnlab.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = schedule(optimizer)
    history = fit(model, nnlab.CrossEntropyLoss(), optimizer, X_tr, y_tr, X_val=X_val, y_val=y_val,
                  epochs=6, batch_size=32, rng=0, scheduler=scheduler, progress=False)

    # The same loop by hand: every batch of an epoch at that epoch's rate, then step().
    twin = nnlab.mlp([64, 16, 10], rng=0)
    opt = nnlab.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    sched = schedule(opt)
    criterion, gen, rates = nnlab.CrossEntropyLoss(), np.random.default_rng(0), []
    for _ in range(6):
        rates.append(opt.lr)
        for xb, yb in nnlab.data.batches(X_tr, y_tr, 32, shuffle=True, rng=gen):
            opt.zero_grad()
            criterion(twin(xb), yb)
            twin.backward(criterion.backward(), input_grad=False)
            opt.step()
        sched.step()
    assert history.lr == rates
    cosine = [0.001 + 0.099 * (1 + np.cos(np.pi * k / 4)) / 2 for k in (1, 2, 3)]
    np.testing.assert_allclose(rates, [0.02, 0.06, 0.1, *cosine], rtol=1e-12)
    assert scheduler.last_epoch == 6 and optimizer.lr == pytest.approx(0.001)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.value, b.value)


def test_history_lr_is_constant_without_a_scheduler():
    X, y = moons(n_samples=32, rng=0)
    model = nnlab.mlp([2, 4, 2], rng=0)
    history = fit(model, nnlab.CrossEntropyLoss(), nnlab.optim.SGD(model.parameters(), lr=0.1),
                  X, y, epochs=3, rng=0, progress=False)
    assert history.lr == [0.1, 0.1, 0.1]


def test_a_diverging_epoch_with_a_scheduler_restores_the_rate_of_its_start(digits):
    X_tr, _, y_tr, _ = digits
    model = nnlab.mlp([64, 64, 10], rng=0)
    optimizer = nnlab.optim.SGD(model.parameters(), lr=1e3)
    scheduler = nnlab.optim.StepLR(optimizer, step_size=1, gamma=2.0)
    history = fit(model, nnlab.CrossEntropyLoss(), optimizer, X_tr, y_tr, epochs=5, rng=0,
                  scheduler=scheduler, progress=False, on_divergence="stop")
    assert history.diverged and len(history.lr) == history.epochs
    assert optimizer.lr == 1e3 * 2.0 ** history.epochs  # the rate of the failing epoch
