"""Tests of nnlab.data: mini-batches, the train/validation split, standardisation."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.data import Standardizer, batches, train_val_split


def _data(n: int = 10, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(n * d, dtype=np.float64).reshape(n, d)
    y = np.arange(n)
    return X, y


@pytest.mark.parametrize("n, batch_size", [(10, 3), (10, 5), (10, 10), (10, 64), (1, 1)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_example_once_and_keep_the_last_partial_batch(n, batch_size, shuffle):
    X, y = _data(n)
    got = list(batches(X, y, batch_size, shuffle=shuffle, rng=0))
    sizes = [len(xb) for xb, _ in got]
    expected_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    assert sizes == expected_sizes
    seen = np.concatenate([yb for _, yb in got])
    assert sorted(seen.tolist()) == list(range(n))
    for xb, yb in got:  # rows and labels stay paired
        np.testing.assert_array_equal(xb, X[yb])
    if not shuffle:
        np.testing.assert_array_equal(seen, y)


def test_batches_shuffle_depends_on_rng_only():
    X, y = _data(50)
    order = lambda rng: np.concatenate([yb for _, yb in batches(X, y, 7, rng=rng)])  # noqa: E731
    np.testing.assert_array_equal(order(3), order(3))
    assert not np.array_equal(order(3), order(4))
    assert not np.array_equal(order(3), y)
    gen = np.random.default_rng(0)
    assert not np.array_equal(order(gen), order(gen)), "one Generator gives a new order each epoch"


def test_batches_do_not_touch_numpy_global_rng():
    X, y = _data(20)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    list(batches(X, y, 4, rng=None))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_shuffled_batches_do_not_alias_the_callers_data():
    X, y = _data(10)
    X_before, y_before = X.copy(), y.copy()
    for xb, yb in batches(X, y, 4, shuffle=True, rng=0):
        assert not np.shares_memory(xb, X) and not np.shares_memory(yb, y)
        xb[...] = -1
        yb[...] = -1
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_batches_keep_dtype():
    X = np.ones((6, 2), dtype=np.float32)
    y = np.zeros(6, dtype=np.int64)
    xb, yb = next(batches(X, y, 4, rng=0))
    assert xb.dtype == np.float32 and yb.dtype == np.int64


@pytest.mark.parametrize("batch_size", [0, -3])
def test_batches_rejects_non_positive_batch_size(batch_size):
    X, y = _data()
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        next(batches(X, y, batch_size))


def test_batches_rejects_non_integer_batch_size():
    X, y = _data()
    with pytest.raises(TypeError, match="batch_size must be an int"):
        next(batches(X, y, 2.5))


def test_batches_rejects_mismatched_lengths_and_names_both():
    X, _ = _data(10)
    with pytest.raises(ValueError, match=r"len\(X\) = 10 and len\(y\) = 9"):
        next(batches(X, np.arange(9), 4))


def test_train_val_split_sizes_disjoint_and_paired():
    X, y = _data(100)
    X_tr, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.25, rng=0)
    assert (len(X_tr), len(X_val), len(y_tr), len(y_val)) == (75, 25, 75, 25)
    assert set(y_tr.tolist()).isdisjoint(y_val.tolist())
    assert sorted(np.concatenate([y_tr, y_val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(X_tr, X[y_tr])
    np.testing.assert_array_equal(X_val, X[y_val])
    assert not np.shares_memory(X_tr, X)
    again = train_val_split(X, y, val_fraction=0.25, rng=0)
    np.testing.assert_array_equal(again[3], y_val)


def test_train_val_split_keeps_one_example_on_each_side():
    X, y = _data(3)
    X_tr, X_val, _, _ = train_val_split(X, y, val_fraction=0.01, rng=0)
    assert (len(X_tr), len(X_val)) == (2, 1)
    X_tr, X_val, _, _ = train_val_split(X, y, val_fraction=0.99, rng=0)
    assert (len(X_tr), len(X_val)) == (1, 2)


def test_train_val_split_stratify_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100.0).reshape(100, 1)
    _, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.2, rng=1, stratify=True)
    assert np.bincount(y_val).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]
    np.testing.assert_array_equal(y[X_val[:, 0].astype(int)], y_val)
    assert not np.all(np.diff(y_val) >= 0), "the validation set comes back shuffled, not sorted"


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_train_val_split_rejects_bad_fraction(fraction):
    X, y = _data()
    with pytest.raises(ValueError, match="val_fraction must be in"):
        train_val_split(X, y, val_fraction=fraction)


def test_train_val_split_rejects_mismatched_lengths():
    X, _ = _data(10)
    with pytest.raises(ValueError, match=r"len\(X\) = 10 and len\(y\) = 8"):
        train_val_split(X, np.arange(8))


def test_standardizer_gives_zero_mean_unit_std_and_inverts(rng):
    X = rng.normal(loc=[5.0, -3.0, 100.0], scale=[0.1, 2.0, 50.0], size=(200, 3))
    scaler = Standardizer()
    Z = scaler.fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-12)
    np.testing.assert_allclose(scaler.mean_, X.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, X.std(axis=0))


def test_standardizer_applies_the_training_statistics_to_new_data(rng):
    X_train = rng.normal(size=(50, 2)) * 3 + 1
    X_new = rng.normal(size=(7, 2))
    scaler = Standardizer().fit(X_train)
    expected = (X_new - X_train.mean(axis=0)) / X_train.std(axis=0)
    np.testing.assert_allclose(scaler.transform(X_new), expected)


def test_standardizer_only_centres_constant_features():
    X = np.column_stack([np.full(5, 0.1), np.arange(5.0), np.zeros(5)])
    Z = Standardizer().fit_transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(Z[:, 2], 0.0)


def test_standardizer_matches_sklearn(rng):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    X = rng.normal(size=(30, 4)) * [1, 10, 0.01, 3]
    X[:, 3] = 7.0
    np.testing.assert_allclose(
        Standardizer().fit_transform(X), preprocessing.StandardScaler().fit_transform(X), atol=1e-12
    )


def test_standardizer_keeps_float32():
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert Standardizer().fit_transform(X).dtype == np.float32


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(np.ones((2, 2)))
    scaler = Standardizer().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"expected input of shape \(n, 2\)"):
        scaler.transform(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        Standardizer().fit(np.ones(4))
