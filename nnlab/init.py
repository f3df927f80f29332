"""Weight initializers: pure functions of a shape and an explicit random generator.

A weight matrix has shape ``(fan_out, fan_in)`` = ``(out_features, in_features)``, as in
:class:`nnlab.Linear` and PyTorch. The variances come from keeping the variance of the
signal constant from layer to layer; chapter 7 (Initialization) derives them:

- Xavier/Glorot [Glorot & Bengio 2010]: Var W = 2 / (fan_in + fan_out).
- He/Kaiming [He et al. 2015]: Var W = 2 / fan_in, for ReLU layers.

A uniform distribution U(-a, a) has variance a^2 / 3, so each ``*_uniform`` uses
a = sqrt(3 Var W).

- Orthogonal [Saxe et al. 2014]: W with orthonormal rows or columns (W^T W = I), so
  every singular value is ``gain`` and a linear layer keeps the norm of every vector.

nnlab's default for :class:`nnlab.Linear` (He uniform, zero bias) is NOT PyTorch's:
``torch.nn.Linear`` draws ``kaiming_uniform_(w, a=sqrt(5))``, i.e. Var W = 1 / (3 fan_in),
and a bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)); see chapter 7.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import numpy as np

from nnlab._checks import as_rng, check_real

__all__ = [
    "zeros",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "orthogonal",
    "fans",
    "get_initializer",
    "Initializer",
]

Shape = Union[int, tuple[int, ...]]
Initializer = Callable[..., np.ndarray]


def _shape(shape: Shape) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not shape or any(not isinstance(n, (int, np.integer)) or n < 1 for n in shape):
        raise ValueError(f"init: shape must be a non-empty tuple of positive ints; got {shape!r}")
    return tuple(int(n) for n in shape)


def fans(shape: Shape) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of the given shape.

    For a matrix ``(out_features, in_features)`` these are ``in_features`` and
    ``out_features``; a vector counts as one input to each of its entries.
    """
    shape = _shape(shape)
    if len(shape) == 1:
        return 1, shape[0]
    return shape[1], shape[0]


def zeros(shape: Shape, *, rng: Any = None, dtype: Any = np.float64) -> np.ndarray:
    """All zeros. Fine for biases; for weights it fails by symmetry (chapter 7).

    ``rng`` is accepted, and unused, so that every initializer has the same signature.
    """
    return np.zeros(_shape(shape), dtype=dtype)


def normal(
    shape: Shape, std: float = 1.0, *, rng: Any = None, dtype: Any = np.float64
) -> np.ndarray:
    """Draw from N(0, std^2): W_ij ~ N(0, std^2)."""
    std = check_real(std, "std", "init.normal", low=0.0)
    gen = as_rng(rng, "init.normal")
    return (std * gen.standard_normal(_shape(shape))).astype(dtype, copy=False)


def _uniform(shape: tuple[int, ...], variance: float, rng: Any, dtype: Any, who: str) -> np.ndarray:
    bound = np.sqrt(3.0 * variance)  # U(-a, a) has variance a^2 / 3
    gen = as_rng(rng, who)
    return gen.uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def _normal(shape: tuple[int, ...], variance: float, rng: Any, dtype: Any, who: str) -> np.ndarray:
    gen = as_rng(rng, who)
    return (np.sqrt(variance) * gen.standard_normal(shape)).astype(dtype, copy=False)


def xavier_uniform(
    shape: Shape, gain: float = 1.0, *, rng: Any = None, dtype: Any = np.float64
) -> np.ndarray:
    """Xavier/Glorot uniform: U(-a, a) with Var W = gain^2 * 2 / (fan_in + fan_out).

    See chapter 7, and ``torch.nn.init.xavier_uniform_``.
    """
    shape = _shape(shape)
    gain = check_real(gain, "gain", "init.xavier_uniform", low=0.0)
    fan_in, fan_out = fans(shape)
    return _uniform(shape, gain**2 * 2.0 / (fan_in + fan_out), rng, dtype, "init.xavier_uniform")


def xavier_normal(
    shape: Shape, gain: float = 1.0, *, rng: Any = None, dtype: Any = np.float64
) -> np.ndarray:
    """Xavier/Glorot normal: N(0, gain^2 * 2 / (fan_in + fan_out)).

    See chapter 7, and ``torch.nn.init.xavier_normal_``.
    """
    shape = _shape(shape)
    gain = check_real(gain, "gain", "init.xavier_normal", low=0.0)
    fan_in, fan_out = fans(shape)
    return _normal(shape, gain**2 * 2.0 / (fan_in + fan_out), rng, dtype, "init.xavier_normal")


def he_uniform(
    shape: Shape, negative_slope: float = 0.0, *, rng: Any = None, dtype: Any = np.float64
) -> np.ndarray:
    """He/Kaiming uniform: U(-a, a) with Var W = 2 / ((1 + negative_slope^2) fan_in).

    ``negative_slope`` is that of a leaky ReLU (0 for ReLU). See chapter 7, and
    ``torch.nn.init.kaiming_uniform_(w, a=negative_slope, nonlinearity="leaky_relu")``.
    """
    shape = _shape(shape)
    slope = check_real(negative_slope, "negative_slope", "init.he_uniform")
    fan_in, _ = fans(shape)
    return _uniform(shape, 2.0 / ((1.0 + slope**2) * fan_in), rng, dtype, "init.he_uniform")


def he_normal(
    shape: Shape, negative_slope: float = 0.0, *, rng: Any = None, dtype: Any = np.float64
) -> np.ndarray:
    """He/Kaiming normal: N(0, 2 / ((1 + negative_slope^2) fan_in)).

    See chapter 7, and ``torch.nn.init.kaiming_normal_``.
    """
    shape = _shape(shape)
    slope = check_real(negative_slope, "negative_slope", "init.he_normal")
    fan_in, _ = fans(shape)
    return _normal(shape, 2.0 / ((1.0 + slope**2) * fan_in), rng, dtype, "init.he_normal")


def orthogonal(
    shape: Shape, gain: float = 1.0, *, rng: Any = None, dtype: Any = np.float64
) -> np.ndarray:
    """A (semi-)orthogonal matrix times ``gain``: W^T W = gain^2 I (or W W^T, if wider than tall).

    The QR decomposition A = QR of a Gaussian matrix A, with the signs of Q's columns
    fixed by those of diag(R), so that Q is uniformly (Haar) distributed over the
    orthogonal matrices (Mezzadri 2007), as in ``torch.nn.init.orthogonal_``. A shape
    with more than two dimensions is treated as ``(shape[0], prod(shape[1:]))``.

    Parameters
    ----------
    shape : int or tuple of int
        ``(fan_out, fan_in)`` for a Linear weight; at least 2 dimensions.
    gain : float
        Every singular value of the result, >= 0.
    rng : Generator, int or None
    dtype : numpy dtype

    Returns
    -------
    np.ndarray, shape ``shape``
        Rows orthonormal (times ``gain``) if ``shape[0] <= prod(shape[1:])``, columns otherwise.
        Entries have variance gain^2 / max(rows, cols). See chapter 7 (dynamical isometry).
    """
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(f"init.orthogonal: shape must have at least 2 dimensions; got {shape!r}")
    gain = check_real(gain, "gain", "init.orthogonal", low=0.0)
    gen = as_rng(rng, "init.orthogonal")
    rows, cols = shape[0], int(np.prod(shape[1:]))
    a = gen.standard_normal((rows, cols))
    if rows < cols:
        a = a.T  # QR of the tall matrix: Q then has orthonormal columns
    q, r = np.linalg.qr(a)
    # np.linalg.qr (like LAPACK) fixes no sign: multiplying column j by sign(R_jj) makes
    # the decomposition unique, and Q uniformly distributed.
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(dtype, copy=False)


_BY_NAME: dict[str, Initializer] = {
    "zeros": zeros,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "orthogonal": orthogonal,
}


def get_initializer(init: str | Initializer) -> Initializer:
    """Return the initializer named ``init`` (e.g. ``"he_normal"``), or ``init`` if callable.

    A callable must accept ``(shape, *, rng, dtype)`` and return an array of that shape.
    """
    if callable(init):
        return init
    if isinstance(init, str) and init in _BY_NAME:
        return _BY_NAME[init]
    raise ValueError(f"init must be one of {sorted(_BY_NAME)} or a callable; got {init!r}")
