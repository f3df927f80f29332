"""Small data sets for the book: 2-D toy problems, a 1-D regression, and 8x8 digits.

The 2-D sets are drawn so that their decision boundary can be plotted and seen
(chapters 1-2: a linear model fails on them, one hidden layer succeeds); the sine is
the regression example of chapter 3; the digits are a real, small classification
problem, shipped inside the package so nothing is downloaded.

Every generator is deterministic for a given ``rng`` seed, returns ``X`` as float64
of shape ``(n_samples, n_features)``, and class labels ``y`` as int64 of shape
``(n_samples,)`` (the sine returns ``y`` of shape ``(n_samples, 1)``). Examples come
shuffled, as from scikit-learn's ``make_moons``.
"""

from __future__ import annotations

import hashlib
import io
from importlib import resources
from typing import Any

import numpy as np

from nnlab._checks import as_rng, check_positive_int, check_real

__all__ = ["spirals", "moons", "circles", "xor", "sine", "load_digits", "DIGITS_SHA256"]

#: SHA-256 of ``nnlab/_data/digits.npz``; see ``nnlab/_data/README.md`` for its source.
DIGITS_SHA256 = "8f3d6af40534f759516a2c3929383ed7c650426ef688ac809b1afcacea0bf697"


def _split_evenly(n_samples: int, n_classes: int) -> np.ndarray:
    """Class sizes summing to ``n_samples``, differing by at most one."""
    sizes = np.full(n_classes, n_samples // n_classes)
    sizes[: n_samples % n_classes] += 1
    return sizes


def _shuffled(
    X: np.ndarray, y: np.ndarray, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    order = gen.permutation(len(X))
    return X[order], y[order].astype(np.int64)


def _check_common(n_samples: Any, noise: Any, who: str, minimum: int) -> tuple[int, float]:
    n = check_positive_int(n_samples, "n_samples", who, minimum=minimum)
    noise = check_real(noise, "noise", who, low=0.0)
    return n, noise


def spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n spiral).

    Arm k holds points at radius r in [0, 1] and angle
    theta = 4 r + 2 pi k / K + noise * N(0, 1), i.e. x = r (sin theta, cos theta).
    No linear classifier separates them; a small MLP does (chapters 1-2).

    Parameters
    ----------
    n_samples : int
        Total number of points, shared as evenly as possible among the arms.
    n_classes : int
        Number of arms K, >= 2.
    noise : float
        Standard deviation of the angular noise, in radians.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    X : np.ndarray, shape (n_samples, 2), float64
    y : np.ndarray, shape (n_samples,), int64 in [0, n_classes)
    """
    n, noise = _check_common(n_samples, noise, "spirals", minimum=1)
    n_classes = check_positive_int(n_classes, "n_classes", "spirals", minimum=2)
    gen = as_rng(rng, "spirals")
    Xs, ys = [], []
    for k, size in enumerate(_split_evenly(n, n_classes)):
        r = np.linspace(0.0, 1.0, size)
        theta = 4.0 * r + 2.0 * np.pi * k / n_classes + noise * gen.standard_normal(size)
        Xs.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        ys.append(np.full(size, k))
    return _shuffled(np.concatenate(Xs), np.concatenate(ys), gen)


def moons(
    n_samples: int = 200, noise: float = 0.1, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``).

    Class 0: (cos t, sin t); class 1: (1 - cos t, 1/2 - sin t), t in [0, pi], plus
    Gaussian noise of standard deviation ``noise`` on each coordinate.

    Returns
    -------
    X : np.ndarray, shape (n_samples, 2), float64
    y : np.ndarray, shape (n_samples,), int64 in {0, 1}
    """
    n, noise = _check_common(n_samples, noise, "moons", minimum=2)
    gen = as_rng(rng, "moons")
    n0, n1 = _split_evenly(n, 2)
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
    X = np.concatenate([
        np.column_stack([np.cos(t0), np.sin(t0)]),
        np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)]),
    ])
    X += noise * gen.standard_normal(X.shape)
    y = np.repeat([0, 1], [n0, n1])
    return _shuffled(X, y, gen)


def circles(
    n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (class 1) inside a large one (class 0), as ``make_circles``.

    Class 0 lies on the unit circle, class 1 on the circle of radius ``factor``;
    Gaussian noise of standard deviation ``noise`` is added to each coordinate.

    Returns
    -------
    X : np.ndarray, shape (n_samples, 2), float64
    y : np.ndarray, shape (n_samples,), int64 in {0, 1}
    """
    n, noise = _check_common(n_samples, noise, "circles", minimum=2)
    factor = check_real(factor, "factor", "circles", low=0.0, high=1.0,
                        low_inclusive=False, high_inclusive=False)
    gen = as_rng(rng, "circles")
    n0, n1 = _split_evenly(n, 2)
    # endpoint=False: 0 and 2 pi are the same point, which would be drawn twice.
    t0 = np.linspace(0.0, 2.0 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2.0 * np.pi, n1, endpoint=False)
    X = np.concatenate([
        np.column_stack([np.cos(t0), np.sin(t0)]),
        factor * np.column_stack([np.cos(t1), np.sin(t1)]),
    ])
    X += noise * gen.standard_normal(X.shape)
    y = np.repeat([0, 1], [n0, n1])
    return _shuffled(X, y, gen)


def xor(
    n_samples: int = 200, noise: float = 0.25, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: four Gaussian clusters at (+-1, +-1).

    The label is 1 when the cluster centre's two coordinates have different signs,
    y = [sign(c_1) != sign(c_2)]: the classic problem a single linear layer cannot
    solve (Minsky & Papert, 1969), and one hidden layer can (chapter 1).

    Parameters
    ----------
    n_samples : int
        Total number of points, shared evenly among the four clusters.
    noise : float
        Standard deviation of each cluster.

    Returns
    -------
    X : np.ndarray, shape (n_samples, 2), float64
    y : np.ndarray, shape (n_samples,), int64 in {0, 1}
    """
    n, noise = _check_common(n_samples, noise, "xor", minimum=4)
    gen = as_rng(rng, "xor")
    centres = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    sizes = _split_evenly(n, 4)
    X = np.repeat(centres, sizes, axis=0) + noise * gen.standard_normal((n, 2))
    y = np.repeat([0, 0, 1, 1], sizes)
    return _shuffled(X, y, gen)


def sine(
    n_samples: int = 100, noise: float = 0.1, rng: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D regression problem: y = sin(x) + noise * N(0, 1), x ~ U(-pi, pi).

    Returns
    -------
    X : np.ndarray, shape (n_samples, 1), float64
        Inputs, in random order.
    y : np.ndarray, shape (n_samples, 1), float64
        Targets; a column, as ``MSELoss`` expects for a network with one output.

    See chapter 3 (mean squared error) and chapter 10 (over-fitting a noisy curve).
    """
    n, noise = _check_common(n_samples, noise, "sine", minimum=1)
    gen = as_rng(rng, "sine")
    x = gen.uniform(-np.pi, np.pi, size=(n, 1))
    y = np.sin(x) + noise * gen.standard_normal((n, 1))
    return x, y


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits (1797 images), read from the copy inside nnlab.

    The test set of the UCI "Optical Recognition of Handwritten Digits" data
    (Alpaydin & Kaynak, 1998; CC BY 4.0), as distributed with scikit-learn; see
    ``nnlab/_data/README.md``. Nothing is downloaded. The file's SHA-256 is checked
    against :data:`DIGITS_SHA256` before use.

    Returns
    -------
    X : np.ndarray, shape (1797, 64), float64
        Raw pixel values 0..16 (an 8x8 image per row, row-major). Standardise before
        training (:class:`nnlab.data.Standardizer`).
    y : np.ndarray, shape (1797,), int64
        The digit, 0..9.
    """
    raw = resources.files("nnlab").joinpath("_data").joinpath("digits.npz").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGITS_SHA256:
        raise RuntimeError(
            f"load_digits: nnlab/_data/digits.npz is corrupted (SHA-256 {digest}, expected "
            f"{DIGITS_SHA256}); reinstall nnlab or rebuild it with nnlab/_data/make_digits.py"
        )
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    return images.astype(np.float64), labels.astype(np.int64)
