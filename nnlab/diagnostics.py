"""Looking inside a network: per-layer activation and gradient statistics.

Chapter 6 (vanishing and exploding gradients) asks two questions of a deep network
before it is trained: do the activations keep a healthy spread from layer to layer, or
do they collapse to zero, saturate, or die? And does the gradient reach the first layer,
or does it shrink (or grow) geometrically on the way back? :func:`activation_stats`
answers the first, :func:`gradient_norms` and :func:`gradient_ratio` the second.
Chapter 4 asks what backpropagation costs in memory: :func:`cached_bytes` adds up what
the forward pass keeps for the backward pass.

Everything here is pure computation; :mod:`nnlab.plot` draws the pictures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab._checks import as_array
from nnlab.layers import Linear, Residual, Sequential
from nnlab.module import Module

__all__ = ["LayerStats", "activation_stats", "gradient_norms", "gradient_ratio", "cached_bytes"]

# Thresholds used by the book: a unit is saturated where the derivative of its
# activation function is nearly zero (tanh' = 1 - a^2 < 0.02, sigmoid' = a(1-a) < 0.01).
TANH_SATURATION = 0.99
SIGMOID_SATURATION = 0.01


@dataclass(repr=False)
class LayerStats:
    """Statistics of one layer's output over a batch.

    Attributes
    ----------
    index : int
        Position of the layer in the Sequential.
    name : str
        ``"<index>: <ClassName>"``, e.g. ``"3: Tanh"``; used as the plot label.
    kind : str
        The layer's class name.
    values : np.ndarray, shape (n, width)
        The raw outputs, for histograms (a copy; the network keeps its own).
    mean, std : float
        Mean and standard deviation over all entries.
    zero_fraction : float
        Fraction of entries exactly 0 (ReLU's inactive units).
    dead_fraction : float
        Fraction of units (columns) that are exactly 0 for every example in the batch:
        "dead" ReLUs, which pass no gradient at all.
    saturated_fraction : float or None
        For ``Tanh``: fraction with \\|a\\| > 0.99; for ``Sigmoid``: fraction with
        a < 0.01 or a > 0.99. None for other layers, where saturation is not defined.
    """

    index: int
    name: str
    kind: str
    values: np.ndarray
    mean: float
    std: float
    zero_fraction: float
    dead_fraction: float
    saturated_fraction: float | None

    def __repr__(self) -> str:
        sat = "n/a" if self.saturated_fraction is None else f"{self.saturated_fraction:.3f}"
        return (
            f"LayerStats({self.name}, shape={self.values.shape}, mean={self.mean:.4g}, "
            f"std={self.std:.4g}, zero={self.zero_fraction:.3f}, dead={self.dead_fraction:.3f}, "
            f"saturated={sat})"
        )


def _saturated_fraction(kind: str, a: np.ndarray) -> float | None:
    if kind == "Tanh":
        return float(np.mean(np.abs(a) > TANH_SATURATION))
    if kind == "Sigmoid":
        return float(np.mean((a < SIGMOID_SATURATION) | (a > 1.0 - SIGMOID_SATURATION)))
    return None


def _is_activation(module: Module) -> bool:
    # By ancestry, so that a reader's subclass (class Leaky(nnlab.LeakyReLU)) counts too.
    return any(cls.__module__ == "nnlab.activations" for cls in type(module).__mro__)


def _check_sequential(model: Any, who: str) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(
            f"{who} expected a Sequential (e.g. from nnlab.mlp), whose layers it can visit "
            f"one by one; got {type(model).__name__}"
        )
    return model


def activation_stats(
    model: Sequential, X: Any, *, every_layer: bool = False, training: bool = True
) -> list[LayerStats]:
    """Run ``X`` through ``model`` layer by layer and describe each layer's output.

    Parameters
    ----------
    model : Sequential
        The network, e.g. from :func:`nnlab.mlp`.
    X : array_like, shape (n, d_in)
        A batch of inputs.
    every_layer : bool
        False (default): record the output of every activation-function layer
        (ReLU, Tanh, ...) and every :class:`Residual` block, i.e. the hidden
        representations h^(l) the chapter plots. True: record every layer's output,
        including the pre-activations of ``Linear`` and normalization layers.
    training : bool
        Run in training mode (as the network runs while it learns: batch normalization
        uses the batch's statistics) or in eval mode. Either way the model's mode and its
        buffers (e.g. running statistics) are left as they were. Dropout layers draw
        from their own generator.

    Returns
    -------
    list of LayerStats
        One per recorded layer, from input to output.

    See chapter 6 (activation statistics) and chapter 7 (how initialization sets them).
    """
    model = _check_sequential(model, "activation_stats")
    h = as_array(X, "activation_stats")
    was_training = model.training
    buffers = {name: np.array(b, copy=True) for name, b in model.named_buffers()}
    stats: list[LayerStats] = []
    model.train(training)
    try:
        for i, layer in enumerate(model):
            h = layer(h)
            if every_layer or _is_activation(layer) or isinstance(layer, Residual):
                kind = type(layer).__name__
                a = np.array(h, copy=True)
                stats.append(LayerStats(
                    index=i,
                    name=f"{i}: {kind}",
                    kind=kind,
                    values=a,
                    mean=float(a.mean()),
                    std=float(a.std()),
                    zero_fraction=float(np.mean(a == 0)),
                    dead_fraction=float(np.mean(np.all(a == 0, axis=0))),
                    saturated_fraction=_saturated_fraction(kind, a),
                ))
    finally:
        model.train(was_training)
        for name, b in model.named_buffers():
            np.copyto(b, buffers[name])
    return stats


def _named_modules(module: Module, prefix: str = "") -> Iterator[tuple[str, Module]]:
    """Yield ``(dotted_prefix, module)`` for ``module`` and all below it, depth first."""
    yield prefix, module
    for name, child in module.named_children():
        yield from _named_modules(child, f"{prefix}{name}.")


def gradient_norms(
    model: Module, loss_fn: Any, X: Any, y: Any, *, training: bool = True
) -> list[tuple[str, float]]:
    """The Frobenius norm ||dL/dW||_F of every Linear layer's weight, input to output.

    One forward and one backward pass on the batch ``(X, y)``. The gradients are
    computed from zero, and the parameters' previous ``.grad`` contents are put back
    afterwards, so calling this in the middle of training changes nothing (buffers such
    as batch-norm running statistics are restored too).

    Parameters
    ----------
    model : Module
    loss_fn : loss
        E.g. ``nnlab.CrossEntropyLoss()``.
    X : array_like, shape (n, d_in)
    y : array_like
        Targets, as ``loss_fn`` expects them.
    training : bool
        Run the passes in training mode (default) or eval mode.

    Returns
    -------
    list of (str, float)
        ``(parameter name, norm)``, e.g. ``("0.weight", 0.83)``, in forward order.

    See chapter 6: in a deep sigmoid network the norms shrink geometrically towards the
    input (vanishing gradients).
    """
    X = as_array(X, "gradient_norms")
    params = model.parameters()
    saved_grads = [p.grad.copy() for p in params]
    buffers = {name: np.array(b, copy=True) for name, b in model.named_buffers()}
    was_training = model.training
    model.train(training)
    try:
        model.zero_grad()
        loss_fn(model(X), y)
        model.backward(loss_fn.backward(), input_grad=False)
        norms = [
            (f"{prefix}weight", float(np.linalg.norm(module.weight.grad)))
            for prefix, module in _named_modules(model)
            if isinstance(module, Linear)
        ]
    finally:
        model.train(was_training)
        for p, g in zip(params, saved_grads):
            np.copyto(p.grad, g)
        for name, b in model.named_buffers():
            np.copyto(b, buffers[name])
    if not norms:
        raise ValueError(f"gradient_norms found no Linear layer in {type(model).__name__}")
    return norms


def gradient_ratio(model: Module, loss_fn: Any, X: Any, y: Any, *, training: bool = True) -> float:
    """||dL/dW_1|| / ||dL/dW_L||: the first Linear layer's gradient norm over the last's.

    Near 1 the gradient reaches the input layer intact; far below 1 it vanishes, far
    above it explodes. Same passes as :func:`gradient_norms`. See chapter 6.
    """
    norms = gradient_norms(model, loss_fn, X, y, training=training)
    first, last = norms[0][1], norms[-1][1]
    if last == 0.0:
        return float("nan") if first == 0.0 else float("inf")
    return first / last


# Arrays a module keeps from step to step whose size is a parameter's, not the batch's:
# workspaces, not values cached for the backward pass.
_WORKSPACES = frozenset({"_grad_buffer"})


def _root(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (``a`` itself unless it is a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def cached_bytes(module: Module) -> int:
    """Bytes of the arrays that ``module`` and its sub-modules keep for the backward pass.

    After a forward pass every module holds what its ``backward`` needs (``Linear`` its
    input, ``Tanh`` and ``Sigmoid`` their output, ``ReLU`` its mask, ...). This sums the
    ``nbytes`` of those arrays: every private numpy array attribute of every module in
    ``module.modules()``, parameters, buffers and step-to-step workspaces
    (``Linear``'s weight-gradient buffer) excluded. A block of memory is counted once,
    however many modules hold it: ``Linear`` caches as its input the very array the
    activation before it returned and cached, and a view counts as the array it views.

    For an MLP of depth L on a batch of N examples the result grows as
    N x (d_0 + d_1 + ... + d_{L-1}) x itemsize: batch times depth. See chapter 4
    (the memory cost of backpropagation).

    Parameters
    ----------
    module : Module
        A layer, a network or a loss, usually right after its forward pass.

    Returns
    -------
    int
        The number of bytes (0 before any forward pass).
    """
    if not isinstance(module, Module):
        raise TypeError(f"cached_bytes expected an nnlab Module; got {type(module).__name__}")
    seen: set[int] = set()
    total = 0
    for m in module.modules():
        for name, value in vars(m).items():
            if (
                not name.startswith("_")
                or name in _WORKSPACES
                or name in m._buffer_names
                or not isinstance(value, np.ndarray)
            ):
                continue
            root = _root(value)
            if id(root) not in seen:
                seen.add(id(root))
                total += root.nbytes
    return total
