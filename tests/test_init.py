"""Initializers: variances from chapter 7, determinism, and no global random state."""

from __future__ import annotations

import hypothesis
import hypothesis.strategies
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
    "name", ["normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "orthogonal"]
)
def test_deterministic_for_a_seed_and_for_a_generator(name) -> None:
    f = getattr(init, name)
    np.testing.assert_array_equal(f((5, 4), rng=7), f((5, 4), rng=7))
    np.testing.assert_array_equal(
        f((5, 4), rng=np.random.default_rng(7)), f((5, 4), rng=np.random.default_rng(7))
    )
    assert not np.array_equal(f((5, 4), rng=7), f((5, 4), rng=8))


@pytest.mark.parametrize(
    "name", ["normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "orthogonal"]
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


# --- orthogonal ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (7, 3), (1, 4), (4, 1), (2, 3, 4)])
@pytest.mark.parametrize("gain", [1.0, 0.5, 2.0])
def test_orthogonal_has_orthonormal_rows_or_columns(shape, gain) -> None:
    w = init.orthogonal(shape, gain=gain, rng=0)
    assert w.shape == shape and w.dtype == np.float64
    m = w.reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(m, compute_uv=False), gain, rtol=1e-12)


def test_orthogonal_entries_have_variance_one_over_the_larger_side() -> None:
    w = init.orthogonal((200, 800), rng=1)
    assert w.var() == pytest.approx(1 / 800, rel=0.02)
    assert init.orthogonal((300, 300), rng=1).var() == pytest.approx(1 / 300, rel=0.02)


def test_orthogonal_is_deterministic_and_respects_dtype() -> None:
    np.testing.assert_array_equal(init.orthogonal((4, 6), rng=3), init.orthogonal((4, 6), rng=3))
    assert not np.array_equal(init.orthogonal((4, 6), rng=3), init.orthogonal((4, 6), rng=4))
    assert init.orthogonal((4, 6), rng=0, dtype=np.float32).dtype == np.float32
    assert init.get_initializer("orthogonal") is init.orthogonal


def test_orthogonal_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.orthogonal(5, rng=0)
    with pytest.raises(ValueError, match="gain must be in"):
        init.orthogonal((3, 3), gain=-1.0, rng=0)
    with pytest.raises(ValueError, match="shape must be a non-empty tuple"):
        init.orthogonal((0, 3), rng=0)


def _ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two CDFs."""
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, x, side="right") / len(a)
    cdf_b = np.searchsorted(b, x, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(
    rows=hypothesis.strategies.integers(1, 12),
    cols=hypothesis.strategies.integers(1, 12),
    seed=hypothesis.strategies.integers(0, 2**31 - 1),
    gain=hypothesis.strategies.floats(0.1, 3.0),
)
def test_property_orthogonal_keeps_every_vector_norm_times_gain(rows, cols, seed, gain) -> None:
    w = init.orthogonal((rows, cols), gain=gain, rng=seed)
    x = np.random.default_rng(seed + 1).standard_normal(cols if rows >= cols else rows)
    # A tall W keeps ||W x||; a wide W keeps ||W^T x||.
    y = w @ x if rows >= cols else w.T @ x
    assert np.linalg.norm(y) == pytest.approx(gain * np.linalg.norm(x), rel=1e-10)


@pytest.mark.torch
def test_orthogonal_has_the_distribution_of_torchs(torch) -> None:
    # Not bitwise (different generators): the distributions of the trace and of one entry
    # of 3000 draws of 4 x 4 matrices agree by a two-sample Kolmogorov-Smirnov test
    # (critical value 0.050 at level 0.001). QR WITHOUT the sign correction fails it
    # (statistic ~0.4), so the test can tell.
    n = 3000
    rng = np.random.default_rng(0)
    ours = np.array([init.orthogonal((4, 4), rng=rng) for _ in range(n)])
    torch.manual_seed(0)
    draw = lambda: torch.nn.init.orthogonal_(torch.empty(4, 4, dtype=torch.float64))  # noqa: E731
    theirs = np.array([draw().numpy() for _ in range(n)])
    unsigned = np.array([np.linalg.qr(rng.standard_normal((4, 4)))[0] for _ in range(n)])
    critical = 1.95 * np.sqrt(2 / n)
    trace = lambda w: np.trace(w, axis1=1, axis2=2)  # noqa: E731
    assert _ks_statistic(trace(ours), trace(theirs)) < critical
    assert _ks_statistic(ours[:, 0, 0], theirs[:, 0, 0]) < critical
    assert _ks_statistic(trace(unsigned), trace(theirs)) > 4 * critical
    # And torch's matrices are orthogonal in the same sense: singular values all 1.
    np.testing.assert_allclose(np.linalg.svd(theirs, compute_uv=False), 1.0, atol=1e-12)


def test_pytorch_linear_default_is_he_uniform_with_slope_sqrt5() -> None:
    # kaiming_uniform_(w, a=sqrt(5)) = U(+-sqrt(6 / ((1 + 5) fan_in))): Var W = 1 / (3 fan_in).
    w = init.he_uniform(SHAPE, negative_slope=np.sqrt(5.0), rng=0)
    assert w.var() == pytest.approx(1 / (3 * FAN_IN), rel=0.02)
    assert np.abs(w).max() <= 1 / np.sqrt(FAN_IN)


@pytest.mark.torch
def test_pytorch_linear_default_variances(torch) -> None:
    torch.manual_seed(0)
    layer = torch.nn.Linear(FAN_IN, FAN_OUT, dtype=torch.float64)
    assert layer.weight.detach().numpy().var() == pytest.approx(1 / (3 * FAN_IN), rel=0.02)
    bias = layer.bias.detach().numpy()
    assert np.abs(bias).max() <= 1 / np.sqrt(FAN_IN)
    assert bias.var() == pytest.approx(1 / (3 * FAN_IN), rel=0.15)  # 1000 draws only
