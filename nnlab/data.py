"""Feeding data to a network: mini-batches, a train/validation split, standardisation.

These are the three chores of every training loop (chapter 5). The names follow the
libraries readers meet next: :func:`batches` plays the part of a PyTorch ``DataLoader``,
:func:`train_val_split` that of scikit-learn's ``train_test_split`` (same return order),
and :class:`Standardizer` that of scikit-learn's ``StandardScaler``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from nnlab._checks import as_array, as_rng, check_positive_int, check_real

__all__ = ["batches", "train_val_split", "Standardizer"]


def _check_pair(X: Any, y: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Return X and y as arrays with the same (non-zero) number of rows, or raise."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"{who} expected X and y with one row per example; got shapes {X.shape} and {y.shape}"
        )
    if len(X) != len(y):
        raise ValueError(
            f"{who} expected X and y with the same number of examples; "
            f"got len(X) = {len(X)} and len(y) = {len(y)}"
        )
    if len(X) == 0:
        raise ValueError(f"{who} expected at least one example; got X of shape {X.shape}")
    return X, y


def batches(
    X: Any,
    y: Any,
    batch_size: int,
    shuffle: bool = True,
    rng: Any = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield mini-batches ``(X_batch, y_batch)`` that together cover the data once (an epoch).

    Parameters
    ----------
    X : array_like, shape (n, ...)
        Inputs, one row per example.
    y : array_like, shape (n, ...)
        Targets, one row per example (class labels ``(n,)`` or values ``(n, k)``).
    batch_size : int
        Rows per batch, >= 1. The last batch holds the ``n % batch_size`` leftover rows
        when that is not zero (it is kept, so every example is seen once per epoch).
    shuffle : bool
        Visit the examples in a fresh random order, drawn from ``rng``. Without
        shuffling, batches come in the data's order.
    rng : numpy.random.Generator, int or None
        Source of the order. Pass the same Generator every epoch to get a new order
        each time; an int seed gives the same order each time.

    Yields
    ------
    X_batch : np.ndarray, shape (b, ...)
    y_batch : np.ndarray, shape (b, ...)
        With ``b = batch_size`` except possibly for the last batch. When shuffling, the
        batches are slices of a shuffled *copy*, so writing into them never changes the
        caller's arrays; without shuffling they are views of ``X`` and ``y``.

    Notes
    -----
    Shuffling matters: stochastic gradient descent assumes each mini-batch gradient is
    an unbiased estimate of the full gradient, which data sorted by class violates.
    See chapter 5.
    """
    batch_size = check_positive_int(batch_size, "batch_size", "batches")
    X, y = _check_pair(X, y, "batches")
    n = len(X)
    if shuffle:
        # One gather per epoch, then contiguous slices: cheaper than a gather per batch.
        order = as_rng(rng, "batches").permutation(n)
        X, y = X[order], y[order]
    for start in range(0, n, batch_size):
        stop = start + batch_size
        yield X[start:stop], y[start:stop]


def train_val_split(
    X: Any,
    y: Any,
    val_fraction: float = 0.2,
    rng: Any = None,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the data at random into a training and a validation set.

    Parameters
    ----------
    X : array_like, shape (n, ...)
    y : array_like, shape (n, ...)
    val_fraction : float
        Share of the examples held out for validation, in (0, 1). The validation set
        gets ``round(val_fraction * n)`` examples, but at least one and at most n - 1.
    rng : numpy.random.Generator, int or None
        Source of the split.
    stratify : bool
        Keep the class proportions of ``y`` (integer labels, shape ``(n,)``) in both
        sets: each class is split on its own, ``round(val_fraction * n_c)`` of its
        ``n_c`` examples going to validation.

    Returns
    -------
    X_train, X_val, y_train, y_val : np.ndarray
        Copies (never views of the inputs), in scikit-learn's ``train_test_split`` order.

    See chapter 5 (why we hold data out) and chapter 10 (what the gap means).
    """
    X, y = _check_pair(X, y, "train_val_split")
    val_fraction = check_real(
        val_fraction, "val_fraction", "train_val_split", low=0.0, high=1.0,
        low_inclusive=False, high_inclusive=False,
    )
    n = len(X)
    if n < 2:
        raise ValueError(f"train_val_split expected at least 2 examples to split; got {n}")
    gen = as_rng(rng, "train_val_split")
    if stratify:
        if y.ndim != 1:
            raise ValueError(
                f"train_val_split(stratify=True) expected class labels of shape (n,); got {y.shape}"
            )
        val_parts = []
        for label in np.unique(y):
            members = np.flatnonzero(y == label)
            n_val_class = int(round(val_fraction * len(members)))
            val_parts.append(gen.permutation(members)[:n_val_class])
        val_idx = np.concatenate(val_parts)
        if len(val_idx) == 0 or len(val_idx) == n:
            raise ValueError(
                f"train_val_split(stratify=True): val_fraction={val_fraction} leaves "
                f"{'no' if len(val_idx) == 0 else 'every'} example in the validation set; "
                "use a larger (smaller) fraction or stratify=False"
            )
        is_val = np.zeros(n, dtype=bool)
        is_val[val_idx] = True
        # Shuffle within each set too, so neither comes back sorted by class.
        train_idx = gen.permutation(np.flatnonzero(~is_val))
        val_idx = gen.permutation(val_idx)
    else:
        n_val = min(max(int(round(val_fraction * n)), 1), n - 1)
        order = gen.permutation(n)
        val_idx, train_idx = order[:n_val], order[n_val:]
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]


class Standardizer:
    """Rescale each feature to mean 0 and standard deviation 1: x' = (x - mu) / sigma.

    Fit the statistics on the training set only, then apply the same ``transform`` to
    the validation and test sets (fitting on them would leak information). Inputs of
    very different scales make the loss surface badly conditioned and gradient descent
    slow; see chapter 5. Mirrors scikit-learn's ``StandardScaler``.

    Attributes (after :meth:`fit`)
    -------------------------------
    mean_ : np.ndarray, shape (d,)
        mu, the mean of each feature.
    scale_ : np.ndarray, shape (d,)
        sigma, the (population) standard deviation of each feature, with 1 in place of
        0 for constant features, which are then only centred (dividing by 0 would
        give NaN).

    Examples
    --------
    >>> scaler = Standardizer()
    >>> X_train = scaler.fit_transform(X_train)   # doctest: +SKIP
    >>> X_val = scaler.transform(X_val)           # doctest: +SKIP
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        """Learn mu and sigma from ``X`` of shape ``(n, d)``; return self."""
        X = self._check(X, "fit", fitted=False)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        # A constant column can come out with a std of a few ulps instead of 0 from
        # rounding in the mean; treat anything at that level as constant, as sklearn does.
        tiny = 10 * np.finfo(X.dtype).eps * np.maximum(np.abs(self.mean_), 1.0)
        self.scale_ = np.where(std > tiny, std, 1.0).astype(X.dtype, copy=False)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return (X - mu) / sigma, a new array of the same shape ``(n, d)``."""
        X = self._check(X, "transform")
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X: Any) -> np.ndarray:
        """Fit to ``X``, then transform it."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform`: return X * sigma + mu."""
        X = self._check(X, "inverse_transform")
        return X * self.scale_ + self.mean_

    def _check(self, X: Any, method: str, fitted: bool = True) -> np.ndarray:
        who = f"Standardizer.{method}"
        X = as_array(X, who)
        if X.ndim != 2:
            raise ValueError(f"{who} expected input of shape (n, d); got {X.shape} ({X.ndim}-D)")
        if not fitted:
            if len(X) == 0:
                raise ValueError(f"{who} expected at least one row; got shape {X.shape}")
            return X
        if self.mean_ is None:
            raise RuntimeError(f"{who} called before fit(); fit on the training set first")
        if X.shape[1] != len(self.mean_):
            raise ValueError(
                f"{who} expected input of shape (n, {len(self.mean_)}) (as fitted); got {X.shape}"
            )
        return X

    def __repr__(self) -> str:
        state = "unfitted" if self.mean_ is None else f"n_features={len(self.mean_)}"
        return f"Standardizer({state})"
