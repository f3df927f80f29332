"""Activation functions: the nonlinearities between affine layers.

Each activation phi comes twice. As a pure function with its derivative, e.g.
``sigmoid(z)`` and ``sigmoid_grad(z)`` (the elementwise phi'(z) at the pre-activation
z), for the book's plots and derivations; and as a :class:`~nnlab.module.Module`
(``Sigmoid()``) whose ``backward`` returns ``grad_out * phi'(z)``. Softmax is not
elementwise, so instead of a derivative it has :func:`softmax_backward`, the product
of its Jacobian with an upstream gradient.

Names follow PyTorch (``nnlab.ReLU`` is ``torch.nn.ReLU``). See chapter 2.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

import numpy as np

from nnlab._checks import as_array, check_real
from nnlab.layers import check_grad_out
from nnlab.module import Module

__all__ = [
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "Softmax",
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "gelu",
    "gelu_grad",
    "softmax",
    "log_softmax",
    "softmax_backward",
]

_GELU_APPROXIMATIONS = ("none", "tanh")


# --- pure functions and their derivatives -------------------------------------------


def relu(z: np.ndarray) -> np.ndarray:
    """ReLU(z) = max(z, 0), elementwise. Any shape. See chapter 2."""
    return np.maximum(z, 0)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """ReLU'(z) = 1 if z > 0 else 0 (PyTorch's choice at the kink z = 0). See chapter 2."""
    return (z > 0).astype(z.dtype)


def leaky_relu(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """LeakyReLU(z) = z if z > 0 else negative_slope * z, elementwise. See chapter 2."""
    # float(): a numpy float64 slope would upcast a float32 z (NEP 50).
    return np.where(z > 0, z, z * float(negative_slope))


def leaky_relu_grad(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """LeakyReLU'(z) = 1 if z > 0 else negative_slope (as PyTorch at z = 0). See chapter 2."""
    return np.where(z > 0, 1, float(negative_slope)).astype(z.dtype, copy=False)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """sigma(z) = 1 / (1 + exp(-z)), elementwise, in [0, 1]. See chapter 2.

    Written with e = exp(-|z|), which lies in (0, 1] and never overflows:
    sigma(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0. So sigma(1000) is
    exactly 1 and sigma(-1000) exactly 0, with no overflow warning.
    """
    e = np.exp(-np.abs(z))
    r = 1 / (1 + e)
    return np.where(z >= 0, r, e * r)


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """sigma'(z) = sigma(z) (1 - sigma(z)) = sigma(z) sigma(-z). See chapter 2.

    Computed as e / (1 + e)^2 with e = exp(-|z|): the two factors are sigma(|z|) and
    sigma(-|z|), so no 1 - sigma cancels to zero for large z.
    """
    e = np.exp(-np.abs(z))
    return e / ((1 + e) * (1 + e))


def tanh(z: np.ndarray) -> np.ndarray:
    """tanh(z) = (e^z - e^-z) / (e^z + e^-z), elementwise, in [-1, 1]. See chapter 2."""
    return np.tanh(z)


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """tanh'(z) = 1 - tanh(z)^2. See chapter 2."""
    t = np.tanh(z)
    return 1 - t * t


# Rational Chebyshev approximations of erf and erfc by W. J. Cody, "Rational Chebyshev
# approximations for the error function", Math. Comp. 23 (1969) 631-637 (the coefficients
# of his Fortran routine CALERF). Relative error below 1e-16 in float64; numpy has no erf
# of its own and scipy is not a dependency. Polynomials are listed highest degree first.
_ERF_NUM = (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02,
            3.77485237685302021e02, 3.20937758913846947e03)  # fmt: skip
_ERF_DEN = (1.0, 2.36012909523441209e01, 2.44024637934444173e02,
            1.28261652607737228e03, 2.84423683343917062e03)  # fmt: skip
_ERFC_MID_NUM = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00,
                 6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02,
                 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03)  # fmt: skip
_ERFC_MID_DEN = (1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
                 1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
                 3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_ERFC_TAIL_NUM = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
                  1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)  # fmt: skip
_ERFC_TAIL_DEN = (1.0, 2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
                  6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip
_ERFC_UNDERFLOW = 26.55  # erfc(y) < 2**-1074, the smallest float64, beyond this


def _polyval(coefficients: tuple[float, ...], t: np.ndarray) -> np.ndarray:
    """Horner's rule, in place; Python-float coefficients keep t's dtype."""
    acc = t * coefficients[0]
    acc += coefficients[1]
    for c in coefficients[2:]:
        acc *= t
        acc += c
    return acc


def _exp_minus_square(y: np.ndarray) -> np.ndarray:
    """exp(-y^2) for 0 <= y < 27, accurate although exp amplifies errors in y^2.

    The rounding error of y*y, multiplied by y^2 (about 700 near the underflow), would
    cost ten bits. So y^2 is split as a^2 + (y - a)(y + a) with a = y rounded to a
    multiple of 1/16, whose square is exact (Cody's device). Adding and subtracting
    1.5 * 2**(mantissa bits - 4) is that rounding, done by the floating-point unit.
    """
    shift = 1.5 * 2.0 ** (np.finfo(y.dtype).nmant - 4)
    a = (y + shift) - shift
    return np.exp(-a * a) * np.exp(-(y - a) * (y + a))


def _erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function erfc(x) = 1 - erf(x), accurate in both tails.

    Three ranges of |x|, each with its own rational approximation; the elements of a
    range are gathered by flat index (much faster than boolean masks when ranges mix).
    """
    x = np.asarray(x)
    flat = x.ravel()
    y = np.abs(flat)
    # Beyond the tail range erfc underflows: 0, or 2 = 2 - 0 for negative x.
    out = np.zeros_like(y)
    out[flat <= -_ERFC_UNDERFLOW] = 2
    # NaN fails every comparison with True, so it lands in the small range and stays NaN.
    small = np.flatnonzero(~(y > 0.46875))
    mid = np.flatnonzero((y > 0.46875) & (y <= 4))
    tail = np.flatnonzero((y > 4) & (y < _ERFC_UNDERFLOW))

    xs = flat[small]
    x2 = xs * xs
    out[small] = 1 - xs * _polyval(_ERF_NUM, x2) / _polyval(_ERF_DEN, x2)

    ym = y[mid]
    erfc_m = _exp_minus_square(ym) * _polyval(_ERFC_MID_NUM, ym) / _polyval(_ERFC_MID_DEN, ym)
    out[mid] = np.where(flat[mid] < 0, 2 - erfc_m, erfc_m)  # erfc(-y) = 2 - erfc(y)

    yt = y[tail]
    r = 1 / (yt * yt)
    series = r * _polyval(_ERFC_TAIL_NUM, r) / _polyval(_ERFC_TAIL_DEN, r)
    erfc_t = _exp_minus_square(yt) * (1 / math.sqrt(math.pi) - series) / yt
    out[tail] = np.where(flat[tail] < 0, 2 - erfc_t, erfc_t)
    return out.reshape(x.shape)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """Phi(z) = P(N(0, 1) <= z) = erfc(-z / sqrt(2)) / 2, accurate as Phi -> 0 too."""
    return 0.5 * _erfc(z * -math.sqrt(0.5))


def _normal_pdf(z: np.ndarray) -> np.ndarray:
    """phi(z) = exp(-z^2 / 2) / sqrt(2 pi)."""
    # phi is exactly 0 in float64 beyond |z| = 39; clipping keeps z^2 from overflowing.
    z = np.clip(z, -40, 40)
    return np.exp(-0.5 * z * z) * (1 / math.sqrt(2 * math.pi))


_GELU_K = math.sqrt(2 / math.pi)
_GELU_C = 0.044715
_GELU_TANH_SATURATED = 100  # tanh(sqrt(2/pi) (z + 0.044715 z^3)) is exactly +-1 beyond


def _gelu_tanh_inner(z: np.ndarray) -> np.ndarray:
    # Clipping changes nothing (tanh is already +-1 there) but keeps z^3 finite.
    z = np.clip(z, -_GELU_TANH_SATURATED, _GELU_TANH_SATURATED)
    return np.tanh(_GELU_K * (z + _GELU_C * (z * z * z)))


def gelu(z: np.ndarray, approximate: str = "none") -> np.ndarray:
    """GELU(z) = z Phi(z), with Phi the standard normal CDF [Hendrycks & Gimpel 2016].

    ``approximate="none"``: Phi(z) = (1 + erf(z / sqrt 2)) / 2, exactly.
    ``approximate="tanh"``: Phi(z) ~ (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) / 2.
    Elementwise, any shape. See chapter 2.
    """
    if approximate == "none":
        return z * _normal_cdf(z)
    if approximate == "tanh":
        return 0.5 * z * (1 + _gelu_tanh_inner(z))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh'; got {approximate!r}")


def gelu_grad(z: np.ndarray, approximate: str = "none") -> np.ndarray:
    """GELU'(z), elementwise. See chapter 2.

    Exact: Phi(z) + z phi(z), with phi the standard normal density.
    Tanh approximation, with t = tanh(u) and u = sqrt(2/pi) (z + 0.044715 z^3):
    (1 + t) / 2 + z (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 z^2) / 2.
    """
    if approximate == "none":
        return _normal_cdf(z) + z * _normal_pdf(z)
    if approximate == "tanh":
        t = _gelu_tanh_inner(z)
        zc = np.clip(z, -_GELU_TANH_SATURATED, _GELU_TANH_SATURATED)  # 1 - t^2 is 0 beyond
        du_dz = _GELU_K * (1 + 3 * _GELU_C * (zc * zc))
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * du_dz
    raise ValueError(f"gelu_grad: approximate must be 'none' or 'tanh'; got {approximate!r}")


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(z)_i = exp(z_i) / sum_j exp(z_j), along ``axis``. Same shape as z. See chapter 3.

    Subtracting max_j z_j first leaves the result unchanged (it cancels in the ratio)
    but makes every exponent <= 0: nothing overflows, and softmax([1000, 0]) = [1, 0].
    """
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z)_i = z_i - log sum_j exp(z_j), along ``axis``; all <= 0. See chapter 3.

    The log-sum-exp is computed as m + log sum_j exp(z_j - m) with m = max_j z_j, so it
    neither overflows nor takes the log of an underflowed 0: log_softmax([1000, 0]) is
    exactly [0, -1000].
    """
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_backward(s: np.ndarray, grad_out: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vector-Jacobian product of softmax: dL/dz = s * (g - sum_j g_j s_j), along ``axis``.

    ``s`` is the softmax output, ``grad_out`` = g = dL/ds, both the same shape. This is
    g^T J (= J^T g = J g, since J is symmetric) with J = ds/dz = diag(s) - s s^T, the
    reverse-mode step of backpropagation, without ever forming the C x C Jacobian.
    See chapter 3 (the softmax Jacobian, derived).
    """
    return s * (grad_out - (grad_out * s).sum(axis=axis, keepdims=True))


# --- modules ----------------------------------------------------------------------------


class ReLU(Module):
    """ReLU(x) = max(x, 0), elementwise. Any shape in, same shape out. See chapter 2."""

    def __init__(self) -> None:
        super().__init__()
        self._mask: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        x = as_array(x, "ReLU")
        self._mask = x > 0
        return np.maximum(x, 0)

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx = grad_out * [x > 0]."""
        if self._mask is None:
            raise self._no_forward_error()
        grad_out = check_grad_out(self, grad_out, self._mask.shape)
        return grad_out * self._mask if input_grad else None


class LeakyReLU(Module):
    """LeakyReLU(x) = x if x > 0 else negative_slope * x, elementwise. See chapter 2.

    Parameters
    ----------
    negative_slope : float
        The slope for x <= 0 (PyTorch's default 0.01), so negative units still learn.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_real(negative_slope, "negative_slope", "LeakyReLU")
        self._mask: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        x = as_array(x, repr(self))
        self._mask = x > 0
        return np.where(self._mask, x, x * self.negative_slope)

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx = grad_out * (1 if x > 0 else negative_slope)."""
        if self._mask is None:
            raise self._no_forward_error()
        grad_out = check_grad_out(self, grad_out, self._mask.shape)
        if not input_grad:
            return None
        return np.where(self._mask, grad_out, grad_out * self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """sigma(x) = 1 / (1 + exp(-x)), elementwise, computed stably. See chapter 2."""

    def __init__(self) -> None:
        super().__init__()
        self._out: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        self._out = sigmoid(as_array(x, "Sigmoid"))
        return self._out

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx = grad_out * s (1 - s), with s the cached output."""
        if self._out is None:
            raise self._no_forward_error()
        grad_out = check_grad_out(self, grad_out, self._out.shape)
        if not input_grad:
            return None
        s = self._out
        return grad_out * s * (1 - s)


class Tanh(Module):
    """tanh(x), elementwise. See chapter 2."""

    def __init__(self) -> None:
        super().__init__()
        self._out: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        self._out = np.tanh(as_array(x, "Tanh"))
        return self._out

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx = grad_out * (1 - t^2), with t the cached output."""
        if self._out is None:
            raise self._no_forward_error()
        grad_out = check_grad_out(self, grad_out, self._out.shape)
        if not input_grad:
            return None
        t = self._out
        return grad_out * (1 - t * t)


class GELU(Module):
    """GELU(x) = x Phi(x), elementwise; see :func:`gelu`. See chapter 2.

    Parameters
    ----------
    approximate : {"none", "tanh"}
        ``"none"`` uses the exact normal CDF (via erf), ``"tanh"`` the tanh
        approximation of the original paper, as ``torch.nn.GELU``.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if not isinstance(approximate, str):
            raise TypeError(
                f"GELU: approximate must be a str, 'none' or 'tanh'; got {approximate!r} "
                f"({type(approximate).__name__})"
            )
        if approximate not in _GELU_APPROXIMATIONS:
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh'; got {approximate!r}")
        self.approximate = approximate
        self._x: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        self._x = as_array(x, repr(self))
        return gelu(self._x, self.approximate)

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx = grad_out * GELU'(x), with x the cached input."""
        if self._x is None:
            raise self._no_forward_error()
        grad_out = check_grad_out(self, grad_out, self._x.shape)
        return grad_out * gelu_grad(self._x, self.approximate) if input_grad else None

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """softmax along ``dim``: each slice along it becomes a probability vector. See chapter 3.

    For classification, feed logits to :class:`nnlab.CrossEntropyLoss` instead: it
    fuses log-softmax with the loss, which is both more stable and cheaper.

    Parameters
    ----------
    dim : int
        The axis to normalise over (default -1, the class axis of ``(batch, C)``).
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, Integral):
            raise TypeError(f"Softmax: dim must be an int; got {dim!r} ({type(dim).__name__})")
        self.dim = int(dim)
        self._out: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        x = as_array(x, repr(self))
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(
                f"{self!r} expected input with a dimension {self.dim}; got shape {x.shape} "
                f"({x.ndim}-D)"
            )
        self._out = softmax(x, axis=self.dim)
        return self._out

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx = s * (g - sum(g * s)) along ``dim``, with s the cached output."""
        if self._out is None:
            raise self._no_forward_error()
        grad_out = check_grad_out(self, grad_out, self._out.shape)
        return softmax_backward(self._out, grad_out, axis=self.dim) if input_grad else None

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
