"""Initializers: variances from chapter 7, determinism, and no global random state."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import init

SHAPE = (1000, 1000)  # (fan_out, fan_in): a million draws pin a variance to ~0.3%
FAN_OUT, FAN_IN = SHAPE


@pytest.mark.parametrize(
    "name, kwargs, variance",
    [
        ("xavier_uniform", {}, 2.0 / (FAN_IN + FAN_OUT)),
        ("xavier_normal", {}, 2.0 / (FAN_IN + FAN_OUT)),
        ("he_uniform", {}, 2.0 / FAN_IN),
        ("he_normal", {}, 2.0 / FAN_IN),
        ("he_normal", {"negative_slope": 0.2}, 2.0 / (1.04 * FAN_IN)),
        ("xavier_uniform", {"gain": 2.0}, 4.0 * 2.0 / (FAN_IN + FAN_OUT)),
        ("normal", {"std": 0.3}, 0.09),
    ],
)
def test_empirical_variance_matches_the_formula(name, kwargs, variance) -> None:
    w = getattr(init, name)(SHAPE, **kwargs, rng=0)
    assert w.shape == SHAPE and w.dtype == np.float64
    assert w.var() == pytest.approx(variance, rel=0.02)
    assert abs(w.mean()) < 5 * np.sqrt(variance / w.size)


def test_rectangular_fans_use_in_and_out_features() -> None:
    # (out, in) = (200, 800): xavier sees both, he only fan_in = 800.
    assert init.fans((200, 800)) == (800, 200)
    assert init.xavier_normal((200, 800), rng=1).var() == pytest.approx(2 / 1000, rel=0.03)
    assert init.he_normal((200, 800), rng=1).var() == pytest.approx(2 / 800, rel=0.03)


@pytest.mark.parametrize(
    "name, bound",
    [
        ("xavier_uniform", np.sqrt(6.0 / (FAN_IN + FAN_OUT))),
        ("he_uniform", np.sqrt(6.0 / FAN_IN)),
    ],
)
def test_uniform_schemes_stay_within_their_bound_and_reach_it(name, bound) -> None:
    w = getattr(init, name)(SHAPE, rng=0)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound


def test_zeros_is_all_zeros() -> None:
    w = init.zeros((3, 2))
    assert w.shape == (3, 2) and not w.any()


@pytest.mark.parametrize(
    "name", ["normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]
)
def test_deterministic_for_a_seed_and_for_a_generator(name) -> None:
    f = getattr(init, name)
    np.testing.assert_array_equal(f((5, 4), rng=7), f((5, 4), rng=7))
    np.testing.assert_array_equal(
        f((5, 4), rng=np.random.default_rng(7)), f((5, 4), rng=np.random.default_rng(7))
    )
    assert not np.array_equal(f((5, 4), rng=7), f((5, 4), rng=8))


@pytest.mark.parametrize(
    "name", ["normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]
)
def test_never_touches_numpys_global_random_state(name) -> None:
    np.random.seed(123)
    before = np.random.get_state()
    getattr(init, name)((10, 10), rng=None)
    getattr(init, name)((10, 10), rng=3)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_respected(dtype) -> None:
    assert init.he_normal((4, 3), rng=0, dtype=dtype).dtype == dtype


@pytest.mark.parametrize("shape", [(0, 3), (3, -1), (), (2.5, 3), "ab"])
def test_bad_shapes_raise(shape) -> None:
    with pytest.raises(ValueError, match="shape must be a non-empty tuple of positive ints"):
        init.he_uniform(shape, rng=0)


def test_bad_rng_raises() -> None:
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init.xavier_normal((3, 3), rng="seed")


def test_get_initializer_by_name_and_callable() -> None:
    assert init.get_initializer("he_normal") is init.he_normal
    assert init.get_initializer(init.zeros) is init.zeros
    with pytest.raises(ValueError, match="init must be one of"):
        init.get_initializer("kaiming")
