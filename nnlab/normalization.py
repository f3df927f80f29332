"""Normalization layers: batch normalization and layer normalization.

Both standardise their input, x_hat = (x - mean) / sqrt(var + eps), then apply a
learned affine map y = gamma * x_hat + beta. They differ in what the mean and the
variance are taken over: each feature across the batch (:class:`BatchNorm1d`), or each
example across its features (:class:`LayerNorm`). See chapter 8 (Normalization).

The backward pass of both is the same formula, derived in chapter 8. Because the mean
and the variance depend on every input they are computed from, dL/dx_i collects three
terms: the direct path through x_i, the path through the mean and the path through the
variance. With n the number of values averaged and dx_hat = dL/dx_hat = g * gamma::

    dL/dx = (1/n) * inv_std * (n dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))

where the sums run over the same axis as the statistics and inv_std = 1/sqrt(var + eps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlab._checks import as_array, check_finite, check_positive_int, check_real
from nnlab.layers import check_grad_out
from nnlab.module import Module, Parameter

__all__ = ["BatchNorm1d", "LayerNorm"]


def _float_dtype(dtype: Any, who: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{who}: dtype must be a floating type; got {dtype}")
    return dtype


def _check_input(module: Module, x: Any, width: int, dtype: np.dtype) -> np.ndarray:
    """Return x as a ``(batch, width)`` array of ``dtype``, or raise naming ``module``."""
    x = as_array(x, repr(module), dtype=dtype)
    if x.ndim != 2 or x.shape[1] != width:
        hint = " (for one example, use x.reshape(1, -1))" if x.ndim == 1 else ""
        raise ValueError(
            f"{module!r} expected input of shape (batch, {width}); got {x.shape}{hint}"
        )
    if x.dtype != dtype:
        # As in PyTorch: mixing dtypes would silently upcast a float32 network.
        raise TypeError(
            f"{module!r} has {dtype} parameters and expected {dtype} input; got {x.dtype}. "
            f"Convert with x.astype(np.{dtype})"
        )
    check_finite(x, repr(module))
    return x


class BatchNorm1d(Module):
    """Batch normalization [Ioffe & Szegedy 2015] of each feature over the batch.

    In training mode, with the batch mean mu and the biased batch variance sigma^2 of
    each feature (column)::

        y = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta

    and the running statistics move towards the batch ones, as in PyTorch::

        running_mean <- (1 - momentum) running_mean + momentum mu
        running_var  <- (1 - momentum) running_var  + momentum sigma^2 N / (N - 1)

    (the running variance uses the unbiased estimate). In eval mode the running
    statistics replace mu and sigma^2, so the output of an example no longer depends
    on the rest of its batch. Matches ``torch.nn.BatchNorm1d``. See chapter 8.

    Parameters
    ----------
    num_features : int
        C, the number of features (columns) of the input.
    eps : float
        eps >= 0, added to the variance so that the division is safe.
    momentum : float
        In [0, 1]: the weight of the new batch in the running statistics.
    dtype : numpy dtype
        float64 (default) or float32, for the parameters, the buffers and the input.

    Attributes
    ----------
    weight, bias : Parameter
        gamma (ones) and beta (zeros), shape ``(C,)``.
    running_mean, running_var : np.ndarray
        Buffers (saved by ``state_dict``, not trained), shape ``(C,)``; zeros and ones.

    Shapes: input ``(N, C)``, output ``(N, C)``; training needs N > 1.
    """

    _buffer_names = ("running_mean", "running_var")

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        *,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features", "BatchNorm1d")
        self.eps = check_real(eps, "eps", "BatchNorm1d", low=0.0)
        self.momentum = check_real(momentum, "momentum", "BatchNorm1d", low=0.0, high=1.0)
        dtype = _float_dtype(dtype, "BatchNorm1d")
        self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
        self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        self.running_mean: np.ndarray = np.zeros(self.num_features, dtype=dtype)
        self.running_var: np.ndarray = np.ones(self.num_features, dtype=dtype)
        # Cached by forward for backward: x_hat, 1/sqrt(var + eps), and which statistics
        # were used (the mode may change between forward and backward).
        self._x_hat: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None
        self._used_batch_stats = False

    def forward(self, x: Any) -> np.ndarray:
        """y = gamma * x_hat + beta. x: ``(N, C)`` -> ``(N, C)``."""
        x = _check_input(self, x, self.num_features, self.weight.dtype)
        n = x.shape[0]
        if self.training:
            if n == 1:
                raise ValueError(
                    f"{self!r}: Expected more than 1 value per channel when training, got input "
                    f"size {x.shape}; use a batch of at least 2 examples, or call .eval()"
                )
            mean = x.mean(axis=0)
            x_hat = x - mean  # centred for now; scaled to x_hat below, in place
            var = np.mean(x_hat * x_hat, axis=0)  # biased: what the batch is normalised with
            m = self.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += (m * n / (n - 1)) * var  # unbiased, as PyTorch keeps it
        else:
            x_hat = x - self.running_mean
            var = self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat *= inv_std
        self._x_hat, self._inv_std, self._used_batch_stats = x_hat, inv_std, self.training
        y = x_hat * self.weight.value
        y += self.bias.value
        return y

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dgamma += sum_n g x_hat, dbeta += sum_n g; return dL/dx (see the module docstring).

        In training mode the batch statistics depend on x, which adds the mean and
        variance terms; in eval mode they are constants and dL/dx = g gamma inv_std.
        """
        if self._x_hat is None:
            raise self._no_forward_error()
        x_hat, inv_std = self._x_hat, self._inv_std
        g = check_grad_out(self, grad_out, x_hat.shape)
        self.weight.grad += np.sum(g * x_hat, axis=0)
        self.bias.grad += g.sum(axis=0)
        if not input_grad:
            return None
        dx_hat = g * self.weight.value
        if not self._used_batch_stats:
            dx_hat *= inv_std
            return dx_hat
        # x_hat_i = (x_i - mu) inv_std, and mu, var depend on every x_j of the column:
        # dmu/dx_i = 1/N, dvar/dx_i = 2 (x_i - mu)/N. The direct, mean and variance paths
        # sum to dx = (1/N) inv_std (N dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat)) (chapter 8).
        n = x_hat.shape[0]
        dx = n * dx_hat
        dx -= dx_hat.sum(axis=0)
        dx -= x_hat * np.sum(dx_hat * x_hat, axis=0)
        dx *= inv_std / n
        return dx

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Module):
    """Layer normalization [Ba et al. 2016] of each example over its features.

    With the mean mu and the biased variance sigma^2 of each example (row)::

        y = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta

    The same in training and eval mode, and fine with a batch of one. Matches
    ``torch.nn.LayerNorm`` over the last dimension. See chapter 8.

    Parameters
    ----------
    normalized_shape : int or (int,)
        C, the number of features of the input (PyTorch also accepts a 1-tuple).
    eps : float
        eps >= 0, added to the variance.
    dtype : numpy dtype
        float64 (default) or float32.

    Attributes
    ----------
    weight, bias : Parameter
        gamma (ones) and beta (zeros), shape ``(C,)``.

    Shapes: input ``(N, C)``, output ``(N, C)``.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int],
        eps: float = 1e-5,
        *,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, (tuple, list)):
            if len(normalized_shape) != 1:
                raise ValueError(
                    "LayerNorm normalises over the last dimension only: normalized_shape must "
                    f"be an int or a 1-tuple (C,); got {tuple(normalized_shape)}"
                )
            normalized_shape = normalized_shape[0]
        width = check_positive_int(normalized_shape, "normalized_shape", "LayerNorm")
        self.normalized_shape: tuple[int] = (width,)
        self.eps = check_real(eps, "eps", "LayerNorm", low=0.0)
        dtype = _float_dtype(dtype, "LayerNorm")
        self.weight = Parameter(np.ones(width, dtype=dtype))
        self.bias = Parameter(np.zeros(width, dtype=dtype))
        self._x_hat: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        """y = gamma * x_hat + beta, statistics per row. x: ``(N, C)`` -> ``(N, C)``."""
        x = _check_input(self, x, self.normalized_shape[0], self.weight.dtype)
        x_hat = x - x.mean(axis=1, keepdims=True)  # centred; scaled to x_hat in place below
        var = np.mean(x_hat * x_hat, axis=1, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat *= inv_std
        self._x_hat, self._inv_std = x_hat, inv_std
        y = x_hat * self.weight.value
        y += self.bias.value
        return y

    def backward(self, grad_out: Any, input_grad: bool = True) -> np.ndarray | None:
        """dgamma += sum_n g x_hat, dbeta += sum_n g; return dL/dx (see the module docstring)."""
        if self._x_hat is None:
            raise self._no_forward_error()
        x_hat, inv_std = self._x_hat, self._inv_std
        g = check_grad_out(self, grad_out, x_hat.shape)
        self.weight.grad += np.sum(g * x_hat, axis=0)
        self.bias.grad += g.sum(axis=0)
        if not input_grad:
            return None
        # Batch norm's formula with the roles of the axes swapped: the statistics, and so
        # the sums, now run over the features of each example (chapter 8).
        dx_hat = g * self.weight.value
        c = x_hat.shape[1]
        dx = c * dx_hat
        dx -= dx_hat.sum(axis=1, keepdims=True)
        dx -= x_hat * np.sum(dx_hat * x_hat, axis=1, keepdims=True)
        dx *= inv_std / c
        return dx

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"
