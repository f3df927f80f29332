"""Chapter 3 explorer: drag the logits of one example and watch softmax cross-entropy.

For one example with logits z (C of them) and true class y, nnlab's
:class:`~nnlab.losses.CrossEntropyLoss` gives the probabilities p = softmax(z), the
loss -log p_y and the gradient dL/dz = p - onehot(y). :func:`logit_state` computes all
three from nnlab (the loss's forward and backward on a batch of one), so what the
explorer shows is exactly what a network trained with this loss receives;
:func:`draw_logits` draws them as grouped bars, the gradient as the difference of the
other two. See chapter 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlab._checks import as_array, check_finite
from nnlab.activations import softmax
from nnlab.losses import CrossEntropyLoss

__all__ = ["LogitState", "logit_state", "draw_logits"]


@dataclass(frozen=True)
class LogitState:
    """What :func:`logit_state` returns, for one example.

    Attributes
    ----------
    logits : np.ndarray
        z, shape ``(C,)``.
    label : int
        The true class y, in ``[0, C)``.
    probabilities : np.ndarray
        softmax(z), shape ``(C,)``, summing to 1.
    loss : float
        -log p_y, from ``CrossEntropyLoss``.
    gradient : np.ndarray
        dL/dz = p - onehot(y), shape ``(C,)``, from ``CrossEntropyLoss.backward()``.
    """

    logits: np.ndarray
    label: int
    probabilities: np.ndarray
    loss: float
    gradient: np.ndarray

    @property
    def one_hot(self) -> np.ndarray:
        """onehot(y), shape ``(C,)``: the distribution the loss pulls p towards."""
        target = np.zeros_like(self.probabilities)
        target[self.label] = 1.0
        return target


def logit_state(logits: Sequence[float] | np.ndarray, label: int) -> LogitState:
    """Probabilities, cross-entropy loss and its gradient for one example's logits.

    Parameters
    ----------
    logits : array_like, shape (C,)
        The scores z of C >= 2 classes; any finite reals.
    label : int
        The true class y, in ``[0, C)``.

    Returns
    -------
    LogitState
        p = softmax(z), L = -log p_y and dL/dz = p - onehot(y), the last two from
        ``nnlab.CrossEntropyLoss`` on the batch ``z[None, :]``.
    """
    z = as_array(logits, "logit_state")
    if z.ndim != 1 or z.size < 2:
        raise ValueError(f"logit_state expected logits of shape (C,) with C >= 2; got shape {z.shape}")
    check_finite(z, "logit_state", "logits")
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
        raise TypeError(f"logit_state expected an int label; got {type(label).__name__}")
    if not 0 <= label < z.size:
        raise ValueError(f"logit_state expected a label in [0, {z.size}); got {label}")
    criterion = CrossEntropyLoss()
    loss = criterion(z[None, :], np.array([label]))
    # The loss is a mean over a batch of one, so its gradient is the per-example one.
    gradient = criterion.backward()[0]
    return LogitState(
        logits=z, label=int(label), probabilities=softmax(z), loss=loss, gradient=gradient
    )


def draw_logits(ax: Any, z0: float, z1: float, z2: float, label: int = 0) -> LogitState:
    """Bars of p = softmax(z), onehot(y) and the gradient p - onehot(y), for three classes.

    The title gives the loss -log p_y. Returns the :class:`LogitState` drawn, so a caller
    (or a test) can read the numbers behind the picture.
    """
    state = logit_state([z0, z1, z2], label)
    classes = np.arange(3)
    width = 0.27
    # Fill and hatch differ as well as colour, so the three kinds of bar are told apart
    # without colour (and the legend names them).
    ax.bar(classes - width, state.probabilities, width, color="C0", edgecolor="black",
           label="p = softmax(z)")
    ax.bar(classes, state.one_hot, width, color="white", edgecolor="0.35", hatch="///",
           label="onehot(y)")
    ax.bar(classes + width, state.gradient, width, color="C1", edgecolor="black", hatch="..",
           label="gradient p - onehot(y)")
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(classes, [f"class {k}\nz = {v:+.1f}" for k, v in enumerate(state.logits)])
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("value")
    ax.set_title(f"true class {label}: loss = -log p_{label} = {state.loss:.3f}")
    ax.legend(loc="lower left")
    return state
