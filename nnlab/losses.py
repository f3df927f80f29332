"""Loss functions: one number that says how wrong the predictions are.

A loss is Module-like, as in PyTorch: ``loss = criterion(pred, target)`` returns a
Python float and caches what the gradient needs; ``criterion.backward()`` then returns
dL/dpred, the array that starts backpropagation through the network. Every loss is the
mean over the batch (PyTorch's ``reduction="mean"``). See chapter 3.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlab._checks import as_array, check_finite, check_real
from nnlab.activations import log_softmax, sigmoid
from nnlab.module import Module

__all__ = ["MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    """What the three losses share: the call signature and the checks around backward."""

    def __call__(self, pred: Any, target: Any) -> float:  # type: ignore[override]
        return self.forward(pred, target)

    def forward(self, pred: Any, target: Any) -> float:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__name__} must implement forward(pred, target)")

    def _scale(self, grad_out: float, count: int) -> float:
        """grad_out / count as a Python float, which keeps a float32 gradient float32."""
        # The class name, not repr(self): this runs on every batch and repr walks the module.
        return check_real(grad_out, "grad_out", f"{type(self).__name__}.backward") / count

    def _same_shape_target(self, pred: np.ndarray, target: Any) -> np.ndarray:
        """The target as an array of pred's shape and dtype, or a ValueError."""
        who = repr(self)
        target = as_array(target, who, dtype=pred.dtype)
        if target.shape != pred.shape:
            # PyTorch broadcasts here with only a warning; a (batch,) target against a
            # (batch, 1) prediction then silently becomes a (batch, batch) loss.
            raise ValueError(
                f"{who} expected target of the same shape as the prediction {pred.shape}; "
                f"got {target.shape} (reshape one of them, e.g. y.reshape({pred.shape}))"
            )
        if pred.size == 0:
            raise ValueError(f"{who} expected a non-empty prediction; got shape {pred.shape}")
        check_finite(target, who, "target")
        return target.astype(pred.dtype, copy=False)


class MSELoss(_Loss):
    """Mean squared error L = (1/n) sum_i (pred_i - target_i)^2 over all n elements.

    ``pred`` and ``target``: the same shape, any (e.g. ``(batch, d_out)``).
    The gradient is dL/dpred = 2 (pred - target) / n. See chapter 3.
    """

    def __init__(self) -> None:
        super().__init__()
        self._diff: np.ndarray | None = None

    def forward(self, pred: Any, target: Any) -> float:  # type: ignore[override]
        pred = as_array(pred, "MSELoss")
        target = self._same_shape_target(pred, target)
        check_finite(pred, "MSELoss", "prediction")
        self._diff = pred - target
        return float(np.mean(self._diff * self._diff))

    def backward(self, grad_out: float = 1.0) -> np.ndarray:  # type: ignore[override]
        """dL/dpred = 2 (pred - target) / n, the shape and dtype of pred."""
        if self._diff is None:
            raise self._no_forward_error()
        return self._diff * (2 * self._scale(grad_out, self._diff.size))


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits and integer labels, as ``torch.nn.CrossEntropyLoss``.

    L = -(1/N) sum_n log softmax(z_n)[y_n], with ``logits`` z of shape ``(N, C)`` and
    ``target`` y of shape ``(N,)`` holding class indices in [0, C). Softmax is applied
    here, so the network's last layer outputs raw logits. The gradient is
    dL/dz = (softmax(z) - onehot(y)) / N. See chapter 3.
    """

    def __init__(self) -> None:
        super().__init__()
        self._log_probs: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def forward(self, pred: Any, target: Any) -> float:  # type: ignore[override]
        logits = as_array(pred, "CrossEntropyLoss")
        if logits.ndim != 2:
            raise ValueError(
                f"CrossEntropyLoss expected logits of shape (batch, num_classes); got {logits.shape} "
                f"({logits.ndim}-D)"
            )
        labels = self._check_labels(logits, target)
        check_finite(logits, "CrossEntropyLoss", "logits")
        self._log_probs = log_softmax(logits, axis=1)
        self._labels = labels
        picked = self._log_probs[np.arange(len(labels)), labels]
        # sum / N is the mean; np.mean's Python-level overhead was ~10% of this method.
        return -float(picked.sum()) / len(labels)

    def backward(self, grad_out: float = 1.0) -> np.ndarray:  # type: ignore[override]
        """dL/dz = (softmax(z) - onehot(y)) / N, shape ``(N, C)``, the dtype of the logits."""
        if self._log_probs is None or self._labels is None:
            raise self._no_forward_error()
        grad = np.exp(self._log_probs)
        grad[np.arange(len(self._labels)), self._labels] -= 1
        grad *= self._scale(grad_out, len(self._labels))
        return grad

    @staticmethod
    def _check_labels(logits: np.ndarray, target: Any) -> np.ndarray:
        labels = np.asarray(target)
        if labels.dtype.kind not in "iu":
            fix = " (use y.astype(int))" if labels.dtype.kind in "fb" else ""
            raise TypeError(
                f"CrossEntropyLoss expected integer class labels of shape (batch,); "
                f"got {labels.dtype}{fix}"
            )
        if labels.ndim != 1:
            hint = " (for one-hot targets, pass y.argmax(axis=1))" if labels.ndim == 2 else ""
            raise ValueError(
                f"CrossEntropyLoss expected labels of shape (batch,); got {labels.shape}{hint}"
            )
        batch, num_classes = logits.shape
        if len(labels) != batch:
            raise ValueError(
                f"CrossEntropyLoss expected one label per row of logits; got {batch} rows of "
                f"logits {logits.shape} and {len(labels)} labels"
            )
        if batch == 0:
            raise ValueError("CrossEntropyLoss expected a non-empty batch; got 0 rows")
        out_of_range = (labels < 0) | (labels >= num_classes)
        if out_of_range.any():
            i = int(np.argmax(out_of_range))
            raise ValueError(
                f"CrossEntropyLoss expected labels in [0, {num_classes}) for C = {num_classes} "
                f"classes; got label {labels[i]} at index {i}"
            )
        return labels


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits z and targets y in [0, 1], mean over all n elements.

    L = (1/n) sum_i [max(z_i, 0) - z_i y_i + log(1 + exp(-|z_i|))], which equals
    -(1/n) sum_i [y_i log sigma(z_i) + (1 - y_i) log(1 - sigma(z_i))] but never
    takes the log of a sigmoid that rounded to 0 or 1. ``pred`` and ``target``: the same
    shape, any. The gradient is dL/dz = (sigma(z) - y) / n. See chapter 3.
    """

    def __init__(self) -> None:
        super().__init__()
        self._logits: np.ndarray | None = None
        self._target: np.ndarray | None = None

    def forward(self, pred: Any, target: Any) -> float:  # type: ignore[override]
        z = as_array(pred, "BCEWithLogitsLoss")
        y = self._same_shape_target(z, target)
        check_finite(z, "BCEWithLogitsLoss", "logits")
        outside = (y < 0) | (y > 1)
        if outside.any():
            first = tuple(int(i) for i in np.argwhere(outside)[0])
            raise ValueError(
                f"BCEWithLogitsLoss expected targets in [0, 1]; got {y[first]} at index {first}"
            )
        self._logits, self._target = z, y
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))

    def backward(self, grad_out: float = 1.0) -> np.ndarray:  # type: ignore[override]
        """dL/dz = (sigma(z) - y) / n, the shape and dtype of the logits."""
        if self._logits is None or self._target is None:
            raise self._no_forward_error()
        grad = sigmoid(self._logits) - self._target
        grad *= self._scale(grad_out, grad.size)
        return grad
