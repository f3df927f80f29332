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
    gradient_noise,
    make_optimizer,
    minibatch_gradients,
    regression_data,
    trajectory,
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
