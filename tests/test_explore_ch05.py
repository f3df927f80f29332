"""The chapter 5 explorers: nnlab optimizers on 2-D surfaces, and mini-batch gradient noise."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.explore.ch05 import (
    DEFAULT_LR,
    OPTIMIZERS,
    SURFACES,
    draw_gradient_noise,
    draw_optimizer,
    draw_trajectories,
    filter_normalized_direction,
    gradient_noise,
    interpolate_loss,
    loss_surface,
    make_optimizer,
    minibatch_gradients,
    regression_data,
    saddle_escape,
    trajectory,
    update_ratios,
)
from nnlab.gradcheck import numerical_gradient


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_surface_gradients_agree_with_central_differences(name):
    surf = SURFACES[name]
    rng = np.random.default_rng(0)
    for _ in range(5):
        point = rng.uniform([surf.xlim[0], surf.ylim[0]], [surf.xlim[1], surf.ylim[1]])
        numerical = numerical_gradient(lambda p: float(surf.f(p[0], p[1])), point.copy())
        np.testing.assert_allclose(surf.grad(*point), numerical, rtol=1e-6, atol=1e-6)
    # The advertised minimum is a stationary point, and the lowest point of a fine grid.
    np.testing.assert_allclose(surf.grad(*surf.minimum), (0.0, 0.0), atol=1e-12)
    X, Y = np.meshgrid(np.linspace(*surf.xlim, 301), np.linspace(*surf.ylim, 301))
    assert surf.f(*surf.minimum) <= surf.f(X, Y).min() + 1e-12


@pytest.mark.parametrize("surface", sorted(SURFACES))
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("lr_factor", [0.1, 1.0, 30.0])
def test_trajectory_is_the_nnlab_optimizer_step_by_step(surface, optimizer, lr_factor):
    lr = DEFAULT_LR[surface][optimizer] * lr_factor
    t = trajectory(surface, optimizer, lr, steps=40)
    # Replay with the optimizer directly: the same points, bit for bit.
    p = nnlab.Parameter(np.array(SURFACES[surface].start))
    opt = make_optimizer(optimizer, [p], lr)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, len(t.points)):
            opt.zero_grad()
            p.grad += SURFACES[surface].grad(*p.value)
            opt.step()
            np.testing.assert_array_equal(t.points[k], p.value)
    assert np.all(np.isfinite(t.points)) and np.all(np.isfinite(t.losses))
    assert len(t.points) == 41 or t.diverged
    np.testing.assert_allclose(t.losses, SURFACES[surface].f(t.points[:, 0], t.points[:, 1]))


@pytest.mark.parametrize("surface", sorted(SURFACES))
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_default_learning_rates_make_progress(surface, optimizer):
    steps = 300 if surface == "rosenbrock" else 50
    t = trajectory(surface, optimizer, steps=steps)
    assert not t.diverged
    assert t.final_loss < 0.5 * t.losses[0]


def test_learning_rate_regimes_on_the_quadratic():
    # GD on f = (x^2 + 20 y^2)/2 converges iff lr < 2/20: slow, fast, diverging.
    slow, good = trajectory("quadratic", "SGD", 0.01), trajectory("quadratic", "SGD", 0.09)
    assert good.final_loss < 1e-2 < slow.final_loss
    assert trajectory("quadratic", "SGD", 0.11, steps=200).diverged
    assert not trajectory("quadratic", "SGD", 0.099, steps=200).diverged


def test_momentum_escapes_the_shallow_minimum_where_sgd_stays():
    sgd = trajectory("two minima", "SGD", steps=100)
    momentum = trajectory("two minima", "momentum", steps=100)
    assert sgd.points[-1, 0] > 0 > momentum.points[-1, 0]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="surface"):
        trajectory("bowl")
    with pytest.raises(ValueError, match="optimizer"):
        trajectory("quadratic", "Adagrad", 0.1)
    with pytest.raises(ValueError, match="lr"):
        trajectory("quadratic", "SGD", -1.0)
    with pytest.raises(ValueError, match="one lr per optimizer"):
        draw_trajectories(plt.figure().add_subplot(), "quadratic", ["SGD", "Adam"], [0.1, 0.2, 0.3])
    plt.close("all")


@pytest.mark.parametrize("batch_size", [1, 3, 16, 64, 256])
def test_minibatch_gradients_average_to_the_full_gradient(batch_size):
    X, y = regression_data()
    G, g = minibatch_gradients(batch_size, n_draws=256 // batch_size * 4, data=(X, y))
    # Whole epochs of batches cover every example equally: their mean is exactly g.
    if 256 % batch_size == 0:
        np.testing.assert_allclose(G.mean(axis=0), g, atol=1e-10)
    # g is the gradient of the mean squared error, by hand.
    residual = 0.0 * X - y  # the model is at w = b = 0
    np.testing.assert_allclose(g, [np.mean(2 * residual * X), np.mean(2 * residual)])


def test_noise_follows_sigma2_over_b_with_the_finite_population_correction():
    r = gradient_noise(n_draws=400)
    assert r.measured[-1] == pytest.approx(0.0, abs=1e-20)  # B = N: no noise at all
    ratio = r.measured[:-1] / r.predicted[:-1]
    assert np.all((ratio > 0.8) & (ratio < 1.2)), ratio
    assert np.all(np.diff(r.measured) < 0)


@pytest.mark.parametrize("batch_size", [1, 8, 64])
def test_draw_functions_draw(batch_size):
    fig, axes = plt.subplots(1, 3)
    G, g = draw_gradient_noise(axes[0], batch_size)
    assert G.shape == (200, 2) and g.shape == (2,)
    runs = draw_trajectories(axes[1], "rosenbrock", steps=30)
    assert [r.optimizer for r in runs] == list(OPTIMIZERS)
    t = draw_optimizer(axes[2], "two minima", "Adam", 0.1, 20)
    assert len(t.points) == 21
    assert "B = " in axes[0].get_title() and len(axes[1].get_legend().get_texts()) == 4
    plt.close(fig)


def test_diverging_and_wandering_paths_are_drawn_underneath():
    fig, ax = plt.subplots()
    runs = draw_trajectories(ax, "quadratic", ["SGD"], [0.01, 0.05, 0.09, 0.105], steps=50)
    assert np.abs(runs[-1].points[:, 1]).max() > 100  # lr 0.105 > 2/20 leaves the window, growing
    paths = [line for line in ax.get_lines() if line.get_label().startswith("lr=")]
    wild = next(line for line in paths if line.get_label().startswith("lr=0.105"))
    assert wild.get_zorder() < min(line.get_zorder() for line in paths if line is not wild)
    assert wild.get_alpha() < 1 and all(line.get_alpha() in (None, 1.0) for line in paths if line is not wild)
    # Each path differs from the others in line style and marker, not only in colour.
    assert len({line.get_linestyle() for line in paths}) == len({line.get_marker() for line in paths}) == 4
    # The legend keeps the order of the learning rates.
    assert [t.get_text().split(":")[0] for t in ax.get_legend().get_texts()] == [
        "lr=0.01", "lr=0.05", "lr=0.09", "lr=0.105"]
    fig2, ax2 = plt.subplots()
    valley = {t.optimizer: t for t in draw_trajectories(ax2, "rosenbrock", steps=300)}
    lines = {line.get_label().split(",")[0]: line for line in ax2.get_lines() if "lr=" in line.get_label()}
    # RMSprop bounces between the walls: it goes underneath momentum, which gets furthest.
    assert lines["RMSprop"].get_zorder() < lines["momentum"].get_zorder()
    assert min(valley, key=lambda n: valley[n].final_loss) == "momentum"
    plt.close("all")


def _digits_net(seed=0):
    X, y = nnlab.datasets.load_digits()
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    return X[:200], y[:200], nnlab.mlp([64, 16, 10], rng=seed)


@pytest.mark.parametrize("lr", [0.01, 0.1])
def test_update_ratios_are_the_relative_change_of_each_weight(lr):
    X, y, net = _digits_net()
    twin = nnlab.mlp([64, 16, 10], rng=0)
    ratios = update_ratios(net, nnlab.CrossEntropyLoss(), nnlab.optim.SGD(net.parameters(), lr),
                           X, y, batch_size=50, epochs=2, rng=0)
    assert list(ratios) == ["0.weight", "2.weight"] and all(len(r) == 8 for r in ratios.values())
    # Replay the first step by hand: ||lr * g|| / ||W|| for plain SGD.
    loss_fn = nnlab.CrossEntropyLoss()
    xb, yb = next(nnlab.data.batches(X, y, 50, shuffle=True, rng=np.random.default_rng(0)))
    loss_fn(twin(xb), yb)
    twin.backward(loss_fn.backward(), input_grad=False)
    w = twin[0].weight
    expected = lr * np.linalg.norm(w.grad) / np.linalg.norm(w.value)
    assert ratios["0.weight"][0] == pytest.approx(expected, rel=1e-12)


def test_update_ratios_scale_with_the_sgd_learning_rate():
    means = {}
    for lr in [0.001, 0.1]:
        X, y, net = _digits_net()
        r = update_ratios(net, nnlab.CrossEntropyLoss(), nnlab.optim.SGD(net.parameters(), lr), X, y, rng=0)
        means[lr] = r["0.weight"].mean()
    assert 30 < means[0.1] / means[0.001] < 300


def test_interpolation_ends_at_the_two_states_and_restores_the_weights():
    X, y, net = _digits_net()
    start = net.state_dict()
    nnlab.fit(net, nnlab.CrossEntropyLoss(), nnlab.optim.Adam(net.parameters(), lr=0.01), X, y,
              epochs=3, rng=0, progress=False)
    end = net.state_dict()
    losses = interpolate_loss(net, start, end, nnlab.CrossEntropyLoss(), X, y, [0.0, 0.5, 1.0])
    fresh = nnlab.mlp([64, 16, 10], rng=0)
    assert losses[0] == pytest.approx(nnlab.train.evaluate(fresh, nnlab.CrossEntropyLoss(), X, y)[0], rel=1e-12)
    assert losses[2] == pytest.approx(nnlab.train.evaluate(net, nnlab.CrossEntropyLoss(), X, y)[0], rel=1e-12)
    assert losses[2] < losses[1] < losses[0]
    assert all(np.array_equal(net.state_dict()[k], end[k]) for k in end)


def test_filter_normalized_direction_matches_each_rows_norm():
    _, _, net = _digits_net()
    d = filter_normalized_direction(net, rng=3)
    for name, p in net.named_parameters():
        if name.endswith("weight"):
            np.testing.assert_allclose(np.linalg.norm(d[name], axis=1), np.linalg.norm(p.value, axis=1))
        else:
            assert not d[name].any()
    d2 = filter_normalized_direction(net, rng=4)
    assert not np.allclose(d["0.weight"], d2["0.weight"])


def test_loss_surface_is_centred_on_the_current_weights():
    X, y, net = _digits_net()
    nnlab.fit(net, nnlab.CrossEntropyLoss(), nnlab.optim.Adam(net.parameters(), lr=0.01), X, y,
              epochs=5, rng=0, progress=False)
    before = net.state_dict()
    grid = np.linspace(-1, 1, 5)
    surface = loss_surface(net, nnlab.CrossEntropyLoss(), X, y, grid, grid[:3], rng=0)
    assert surface.shape == (3, 5)
    centre = loss_surface(net, nnlab.CrossEntropyLoss(), X, y, [0.0], [0.0], rng=0)[0, 0]
    assert centre == pytest.approx(nnlab.train.evaluate(net, nnlab.CrossEntropyLoss(), X, y)[0], rel=1e-12)
    assert all(np.array_equal(net.state_dict()[k], before[k]) for k in before)


@pytest.mark.parametrize("y0", [1e-1, 1e-3, 1e-6, 1e-9])
def test_saddle_escape_takes_log_of_the_distance_to_the_ridge(y0):
    steps = saddle_escape(y0, lr=0.1)
    assert abs(steps - np.log(1 / y0) / np.log(1.2)) < 3
    assert saddle_escape(-y0, lr=0.1) == steps  # symmetric in y
    assert saddle_escape(0.0, lr=0.1, max_steps=500) == 500


def test_saddle_escape_rejects_bad_arguments():
    with pytest.raises(ValueError, match="lr"):
        saddle_escape(0.1, lr=0.0)
    with pytest.raises(ValueError, match="max_steps"):
        saddle_escape(0.1, max_steps=0)
