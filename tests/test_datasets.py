"""Tests of nnlab.datasets: the synthetic sets and the shipped digits."""

from __future__ import annotations

import hashlib
import re
import socket
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from nnlab import datasets

CLASSIFICATION = [
    (datasets.spirals, {"n_classes": 3}, 3),
    (datasets.spirals, {"n_classes": 5}, 5),
    (datasets.moons, {}, 2),
    (datasets.circles, {}, 2),
    (datasets.xor, {}, 2),
]


@pytest.mark.parametrize("make, kwargs, n_classes", CLASSIFICATION)
def test_classification_sets_shapes_dtypes_and_balance(make, kwargs, n_classes):
    X, y = make(n_samples=101, rng=0, **kwargs)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make, kwargs, n_classes", CLASSIFICATION)
def test_classification_sets_are_deterministic_for_a_seed_and_shuffled(make, kwargs, n_classes):
    X1, y1 = make(n_samples=60, rng=7, **kwargs)
    X2, y2 = make(n_samples=60, rng=7, **kwargs)
    X3, _ = make(n_samples=60, rng=8, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert not np.all(np.diff(y1) >= 0), "examples come shuffled, not sorted by class"


def test_noise_free_sets_have_the_stated_geometry():
    X, y = datasets.circles(n_samples=40, noise=0.0, factor=0.3, rng=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    X, y = datasets.xor(n_samples=40, noise=0.0, rng=0)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(np.int64))
    X, y = datasets.moons(n_samples=40, noise=0.0, rng=0)
    np.testing.assert_allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1.0, X[y == 1, 1] - 0.5), 1.0)
    X, y = datasets.spirals(n_samples=30, n_classes=3, noise=0.0, rng=0)
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-12)


def test_xor_defeats_a_linear_classifier():
    # A least-squares linear fit on XOR is no better than chance: the point of chapter 1.
    X, y = datasets.xor(n_samples=400, noise=0.1, rng=0)
    A = np.column_stack([X, np.ones(len(X))])
    w, *_ = np.linalg.lstsq(A, 2.0 * y - 1.0, rcond=None)
    accuracy = np.mean((A @ w > 0) == (y == 1))
    assert accuracy < 0.65


def test_sine_regression():
    X, y = datasets.sine(n_samples=50, noise=0.0, rng=0)
    assert X.shape == (50, 1) and y.shape == (50, 1)
    assert X.dtype == y.dtype == np.float64
    np.testing.assert_allclose(y, np.sin(X))
    assert X.min() >= -np.pi and X.max() <= np.pi
    X2, y2 = datasets.sine(n_samples=50, noise=0.1, rng=0)
    assert 0.05 < np.std(y2 - np.sin(X2)) < 0.15


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: datasets.moons(n_samples=0), ValueError, "n_samples must be >= 2"),
        (lambda: datasets.spirals(n_samples=10, n_classes=1), ValueError, "n_classes must be >= 2"),
        (lambda: datasets.circles(factor=1.5), ValueError, "factor must be in"),
        (lambda: datasets.xor(noise=-1.0), ValueError, "noise must be in"),
        (lambda: datasets.sine(n_samples=3.0), TypeError, "n_samples must be an int"),
        (lambda: datasets.moons(rng="seed"), TypeError, "rng must be"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_generators_do_not_touch_numpy_global_rng():
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    for make in (datasets.spirals, datasets.moons, datasets.circles, datasets.xor, datasets.sine):
        make(rng=None)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def _digits_file() -> bytes:
    return resources.files("nnlab").joinpath("_data").joinpath("digits.npz").read_bytes()


def test_load_digits_shapes_values_and_class_counts():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 16.0
    np.testing.assert_array_equal(X, np.round(X))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_checksum_matches_the_readme_and_the_constant():
    digest = hashlib.sha256(_digits_file()).hexdigest()
    assert digest == datasets.DIGITS_SHA256
    readme = Path(datasets.__file__).with_name("_data").joinpath("README.md").read_text()
    assert re.search(r"SHA-256 \| `([0-9a-f]{64})`", readme).group(1) == digest
    assert "CC BY 4.0" in readme and "Alpaydin" in readme


def test_load_digits_refuses_a_corrupted_file(monkeypatch):
    monkeypatch.setattr(datasets, "DIGITS_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="corrupted"):
        datasets.load_digits()


def test_load_digits_never_touches_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_digits tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    X, y = datasets.load_digits()
    assert len(X) == len(y) == 1797


def test_load_digits_matches_scikit_learn_copy():
    sk_datasets = pytest.importorskip("sklearn.datasets")
    X_sk, y_sk = sk_datasets.load_digits(return_X_y=True)
    X, y = datasets.load_digits()
    np.testing.assert_array_equal(X, X_sk)
    np.testing.assert_array_equal(y, y_sk)
