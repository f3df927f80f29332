"""The chapter 10 explorers: the sawtooth network of depth k, piece counting, and the
capacity grid (width x depth x weight decay against training and validation error)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nnlab
from nnlab.explore.ch10 import (
    SINE_TASK,
    CapacityGrid,
    bias_variance,
    capacity_grid,
    count_pieces,
    draw_capacity,
    fit_readout,
    random_features,
    sawtooth,
    sine_task,
    tent_network,
    train_regressor,
)

ROOT = Path(__file__).resolve().parents[1]
GRID_FILE = ROOT / "nnlab/_data/capacity_grid.npz"
X01 = np.linspace(0.0, 1.0, 2**10 + 1).reshape(-1, 1)  # every kink of t^k (k <= 9) is a grid point


@pytest.mark.parametrize("k", range(1, 9))
def test_the_tent_network_computes_the_sawtooth_with_2_to_the_k_pieces(k):
    net = tent_network(k)
    np.testing.assert_allclose(net(X01), sawtooth(X01, k), atol=1e-12)
    assert count_pieces(net(X01), X01) == 2**k
    assert sum(p.value.size for p in net.parameters()) == 6 * k + 1
    assert len([m for m in net if isinstance(m, nnlab.ReLU)]) == k


@pytest.mark.parametrize("width", [1, 3, 8, 20])
@pytest.mark.parametrize("seed", range(3))
def test_one_hidden_layer_of_m_relus_has_at_most_m_plus_1_pieces(width, seed):
    net = nnlab.mlp([1, width, 1], "relu", rng=seed)
    x = np.linspace(-3.0, 3.0, 20001).reshape(-1, 1)
    assert count_pieces(net(x), x) <= width + 1


def test_count_pieces_counts_kinks_and_refuses_bad_grids():
    x = np.linspace(-1.0, 1.0, 201)
    assert count_pieces(2.0 * x + 1.0, x) == 1
    assert count_pieces(np.abs(x), x) == 2
    assert count_pieces(np.maximum(np.abs(x) - 0.5, 0.0), x) == 3  # down, flat, up
    with pytest.raises(ValueError, match="increasing grid"):
        count_pieces(x, x[::-1])
    with pytest.raises(ValueError, match="same length"):
        count_pieces(x[:3], x)


def test_sine_task_sets_are_disjoint_deterministic_and_sized():
    a, b = sine_task(3), sine_task(3)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["X"].shape == (SINE_TASK["n_train"], 1) and a["X_val"].shape == (SINE_TASK["n_val"], 1)
    assert not np.intersect1d(a["X"], a["X_val"]).size
    bigger = sine_task(3, n_train=40)
    np.testing.assert_array_equal(bigger["X_val"], a["X_val"])  # validation set fixed across sizes


def test_train_regressor_reports_the_errors_of_the_network_it_returns():
    run = train_regressor(4, 2, 0.01, seed=1, epochs=30)
    data = sine_task(1)
    for split, value in (("", run.train_mse), ("_val", run.val_mse), ("_test", run.test_mse)):
        pred = run.net(data[f"X{split}"])
        assert value == pytest.approx(float(np.mean((pred - data[f"y{split}"]) ** 2)))
    assert run.history.epochs == 30
    again = train_regressor(4, 2, 0.01, seed=1, epochs=30)
    assert again.val_mse == run.val_mse


@pytest.mark.parametrize("decoupled, lam", [(False, 0.1), (True, 1.0)])
def test_weight_decay_shrinks_the_weights(decoupled, lam):
    norms = [sum(float(np.sum(p.value**2)) for p in
                 train_regressor(16, 1, wd, decoupled=decoupled, epochs=300).net.parameters())
             for wd in (0.0, lam)]
    assert norms[1] < 0.5 * norms[0]


def test_init_seed_changes_the_network_but_not_the_data():
    a = train_regressor(4, 1, seed=0, init_seed=0, epochs=5)
    b = train_regressor(4, 1, seed=0, init_seed=1, epochs=5)
    assert a.val_mse != b.val_mse
    assert train_regressor(4, 1, seed=0, epochs=5).val_mse == a.val_mse


def test_capacity_grid_averages_train_regressor_over_seeds(tmp_path):
    grid = capacity_grid((2, 3), (1,), (0.0, 0.1), seeds=(0, 1), epochs=5)
    assert grid.train.shape == grid.val.shape == grid.test.shape == (1, 2, 2)
    runs = [train_regressor(3, 1, 0.1, seed=s, epochs=5) for s in (0, 1)]
    assert grid.val[0, 1, 1] == pytest.approx(np.mean([r.val_mse for r in runs]))
    grid.save(tmp_path / "g.npz")
    loaded = CapacityGrid.load(tmp_path / "g.npz")
    assert loaded.widths == (2, 3) and loaded.decays == (0.0, 0.1)
    np.testing.assert_array_equal(loaded.val, grid.val)
    with pytest.raises(ValueError, match=r"width must be one of \[2, 3\]; got 4"):
        grid.index(4, 1, 0.0)


@pytest.fixture(scope="module")
def stored() -> CapacityGrid:
    return CapacityGrid.load(GRID_FILE)


def test_the_stored_grid_has_the_settings_of_its_generator_script(stored):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_capacity_grid", ROOT / "nnlab/_data/make_capacity_grid.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    s = script.SETTINGS
    assert (stored.widths, stored.depths, stored.decays) == (s["widths"], s["depths"], s["decays"])
    assert (stored.seeds, stored.epochs, stored.decoupled) == (s["seeds"], s["epochs"], s["decoupled"])


def test_the_stored_grid_is_what_capacity_grid_computes(stored):
    # One setting recomputed (all seeds): the notebook's grid is not hand-edited.
    w, d, lam = 4, 1, stored.decays[3]
    fresh = capacity_grid((w,), (d,), (lam,), seeds=stored.seeds, epochs=stored.epochs,
                          decoupled=stored.decoupled)
    i = stored.index(w, d, lam)
    for name in ("train", "val", "test"):
        assert getattr(fresh, name)[0, 0, 0] == pytest.approx(getattr(stored, name)[i], rel=1e-6)


def test_the_stored_grid_shows_under_and_over_fitting(stored):
    # What the chapter claims, read from the grid: training error falls with width; without
    # decay the widest deep nets fit the noise (train < noise variance < validation); a
    # moderate decay has a lower validation error than none; the largest underfits.
    noise = SINE_TASK["noise"] ** 2
    assert np.all(np.diff(stored.train[:, 1:, 0], axis=1).mean(axis=1) < 0)
    assert stored.train[-1, -1, 0] < noise < stored.val[-1, -1, 0]
    assert stored.val[:, :, 0].min() > stored.val.min()
    _, _, lam = stored.best()
    assert 0.0 < lam < max(stored.decays)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("k", [0, 3, 5])
def test_draw_capacity_draws_the_grid_it_is_given(stored, depth, k):
    decay = stored.decays[k]
    fig, ax = plt.subplots()
    try:
        numbers = draw_capacity(ax, stored, 8, depth, decay)
        i = stored.index(8, depth, decay)
        assert numbers["train"] == pytest.approx(stored.train[i])
        assert numbers["val"] == pytest.approx(stored.val[i])
        assert numbers["gap"] == pytest.approx(stored.val[i] - stored.train[i])
        np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), stored.val[i[0], :, i[2]])
        assert len(ax.get_lines()) == (5 if k == 0 else 6)
        legend = ax.get_legend()
        assert legend.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1  # outside: hides no point
    finally:
        plt.close(fig)


# --- bias, variance and double descent -------------------------------------------------------


def test_random_features_put_one_kink_per_unit_inside_the_input_range():
    layer = random_features(50, 0)
    linear = layer[0]
    kinks = -linear.bias.value / linear.weight.value[:, 0]
    assert np.all(np.abs(kinks) <= np.pi)
    x = np.linspace(-np.pi, np.pi, 4001).reshape(-1, 1)
    assert layer(x).shape == (4001, 50) and np.all(layer(x) >= 0)
    np.testing.assert_array_equal(random_features(50, 0)(x), layer(x))  # seeded


@pytest.mark.parametrize("width", [3, 15, 40])
def test_fit_readout_is_the_minimum_norm_least_squares_solution(width):
    rng = np.random.default_rng(width)
    H, y = rng.normal(size=(15, width)), rng.normal(size=(15, 1))
    a = fit_readout(H, y)
    A = np.hstack([H, np.ones((15, 1))])
    np.testing.assert_allclose(a, np.linalg.pinv(A) @ y, atol=1e-8)
    if width + 1 >= 15:  # enough parameters: it interpolates
        np.testing.assert_allclose(A @ a, y, atol=1e-8)


@pytest.mark.parametrize("width", [5, 40])
def test_fit_readout_with_a_ridge_solves_the_regularized_normal_equations(width):
    rng = np.random.default_rng(width)
    H, y = rng.normal(size=(15, width)), rng.normal(size=(15, 1))
    A = np.hstack([H, np.ones((15, 1))])
    expected = np.linalg.solve(A.T @ A + 0.1 * np.eye(width + 1), A.T @ y)
    np.testing.assert_allclose(fit_readout(H, y, 0.1), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="ridge"):
        fit_readout(H, y, -1.0)


@pytest.fixture(scope="module")
def decomposition():
    return bias_variance((2, 6, 14, 200), n_sets=60)


def test_bias_variance_noise_add_up_to_the_test_error(decomposition):
    bv = decomposition
    f = np.sin(bv.x_test).ravel()
    # exact: mean squared error against sin x = bias^2 + variance
    np.testing.assert_allclose(np.mean((bv.predictions - f) ** 2, axis=(1, 2)), bv.bias2 + bv.variance, rtol=1e-10)
    # in expectation: the test error against noisy targets adds the noise variance
    np.testing.assert_allclose(bv.test, bv.bias2 + bv.variance + bv.noise, rtol=0.1)


def test_bias_falls_with_width_and_wide_models_interpolate(decomposition):
    bv = decomposition
    assert bv.bias2[0] > bv.bias2[1]
    assert bv.train[-1] < 1e-10 < bv.train[0]
    # the double descent: the error near the interpolation threshold (width + 1 = 15) is
    # far above both the best narrow model and the widest one, and the widest is best
    assert bv.test[2] > 3 * max(bv.test[1], bv.test[3])
    assert bv.test[3] < bv.test[1]
