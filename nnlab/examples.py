"""Small fixed networks that the book works through by hand.

The book imports them from here (``from nnlab.examples import tiny_network``) so that
its prose, its code cells and the tests all use the same numbers.
"""

from __future__ import annotations

import numpy as np

from nnlab.activations import Sigmoid
from nnlab.layers import Linear, Sequential

__all__ = ["tiny_network"]


def tiny_network() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """The 2-2-1 network of chapters 1 and 4, with its one training example.

    h = sigmoid(W1 x + b1), yhat = W2 h + b2, trained with the squared error
    L = (yhat - y)^2 (``nnlab.MSELoss`` on one example), where

    - x = (1.0, 0.5), y = 1.0,
    - W1 = [[0.5, -0.3], [0.2, 0.8]], b1 = (0.1, -0.1),
    - W2 = [[0.7, -0.4]], b2 = (0.05,).

    Chapter 1 computes its forward pass by hand, chapter 4 its backward pass;
    ``tests/test_backprop_by_hand.py`` holds the hand-computed values.

    Returns
    -------
    net : Sequential
        ``Sequential(Linear(2, 2), Sigmoid(), Linear(2, 1))``, float64.
    x : np.ndarray
        The input, shape ``(1, 2)`` (a batch of one).
    y : np.ndarray
        The target, shape ``(1, 1)``.
    """
    net = Sequential(Linear(2, 2), Sigmoid(), Linear(2, 1))
    net[0].weight.value = np.array([[0.5, -0.3], [0.2, 0.8]])
    net[0].bias.value = np.array([0.1, -0.1])
    net[2].weight.value = np.array([[0.7, -0.4]])
    net[2].bias.value = np.array([0.05])
    x = np.array([[1.0, 0.5]])
    y = np.array([[1.0]])
    return net, x, y
