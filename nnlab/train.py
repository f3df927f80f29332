"""The training loop: epochs of mini-batch gradient descent, with the safety rails.

:func:`fit` is the loop of chapter 5 written once, so that later chapters can train a
network in one line and look at what happened in the returned :class:`History`::

    for each epoch:
        for each mini-batch (X_b, y_b):
            zero the gradients
            loss = loss_fn(model(X_b), y_b)          forward
            model.backward(loss_fn.backward())       backward (chapter 4)
            optimizer.step()                         update
        evaluate on the validation set (model.eval())
        scheduler.step()                             next epoch's learning rate (optional)

On top of that loop it keeps per-epoch losses and accuracies, stops early when the
validation loss stops improving (and restores the best weights), and stops a diverging
run with a message that says where it diverged and what to try, instead of handing
back a network full of NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from nnlab._checks import NonFiniteError, as_array, as_rng, check_finite, check_positive_int
from nnlab.data import _check_pair, batches
from nnlab.module import Module, Parameter

__all__ = ["fit", "evaluate", "History", "DivergenceError"]


class DivergenceError(RuntimeError):
    """Training diverged: the loss or a parameter became NaN or infinite.

    Raised by :func:`fit` with ``on_divergence="raise"``. The message says at which
    epoch and batch, and suggests a smaller learning rate. ``history`` holds what was
    recorded up to that point; the model's weights were restored to their last finite
    values (the start of the failing epoch) before raising.
    """

    def __init__(self, message: str, history: History | None = None) -> None:
        super().__init__(message)
        self.history = history


@dataclass(repr=False)
class History:
    """What happened during :func:`fit`, one entry per completed epoch.

    Attributes
    ----------
    train_loss : list of float
        Mean training loss over the epoch's examples (each batch's mean loss weighted
        by its size), measured while the weights were changing, as Keras reports it.
    val_loss : list of float
        Validation loss at the end of each epoch, in eval mode; empty without
        validation data.
    train_accuracy, val_accuracy : list of float
        Fraction of correct predictions, recorded when the loss is
        ``CrossEntropyLoss`` (argmax of the logits) or ``BCEWithLogitsLoss``
        (logit > 0); empty otherwise (and ``val_accuracy`` without validation data).
    lr : list of float
        The optimizer's learning rate during each epoch (changed between epochs by a
        ``scheduler``, constant without one).
    best_epoch : int or None
        0-based index of the epoch with the lowest validation loss, so
        ``val_loss[best_epoch]`` is the best value; None without validation data.
    stopped_early : bool
        Early stopping ended the run before ``epochs``.
    diverged : bool
        The run was stopped because it diverged (see ``message``).
    message : str
        Why training ended, in one or two sentences.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    diverged: bool = False
    message: str = ""

    @property
    def epochs(self) -> int:
        """The number of completed epochs."""
        return len(self.train_loss)

    def summary(self) -> str:
        """A few readable lines: the final losses, the best epoch and how training ended."""
        lines = [f"History: {self.epochs} epoch(s)"]
        if self.train_loss:
            last = f"  final train loss {self.train_loss[-1]:.4g}"
            if self.train_accuracy:
                last += f", accuracy {self.train_accuracy[-1]:.2%}"
            lines.append(last)
        if self.val_loss:
            last = f"  final val loss   {self.val_loss[-1]:.4g}"
            if self.val_accuracy:
                last += f", accuracy {self.val_accuracy[-1]:.2%}"
            lines.append(last)
        if self.best_epoch is not None:
            i = self.best_epoch
            best = f"  best val loss    {self.val_loss[i]:.4g} at epoch {i + 1}"
            if self.val_accuracy:
                best += f" (accuracy {self.val_accuracy[self.best_epoch]:.2%})"
            lines.append(best)
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        parts = [f"epochs={self.epochs}"]
        if self.train_loss:
            parts.append(f"train_loss={self.train_loss[-1]:.4g}")
        if self.val_loss:
            parts.append(f"val_loss={self.val_loss[-1]:.4g}")
        if self.val_accuracy:
            parts.append(f"val_accuracy={self.val_accuracy[-1]:.4g}")
        parts += [
            f"best_epoch={self.best_epoch}",
            f"stopped_early={self.stopped_early}",
            f"diverged={self.diverged}",
        ]
        return f"History({', '.join(parts)})"

    def __str__(self) -> str:
        return self.summary()


def _accuracy_kind(loss_fn: Any) -> str | None:
    """'argmax' for cross-entropy, 'sign' for BCE with logits, None for other losses."""
    from nnlab import losses  # imported here: losses is a sibling written alongside

    if isinstance(loss_fn, getattr(losses, "CrossEntropyLoss", ())):
        return "argmax"
    if isinstance(loss_fn, getattr(losses, "BCEWithLogitsLoss", ())):
        return "sign"
    return None


def _count_correct(kind: str | None, pred: np.ndarray, y: np.ndarray) -> int:
    if kind == "argmax":
        return int(np.count_nonzero(pred.argmax(axis=1) == y))
    if kind == "sign":
        return int(np.count_nonzero((pred > 0).ravel() == (np.asarray(y) > 0.5).ravel()))
    return 0


def evaluate(model: Module, loss_fn: Any, X: Any, y: Any) -> tuple[float, float | None]:
    """Return ``(loss, accuracy)`` of ``model`` on ``(X, y)`` in eval mode, in one pass.

    The model's train/eval mode is restored afterwards. ``accuracy`` is None unless the
    loss is ``CrossEntropyLoss`` or ``BCEWithLogitsLoss``. Shapes: ``X`` ``(n, d_in)``,
    ``y`` as the loss expects. See chapter 5.
    """
    X = as_array(X, "evaluate")
    X, y = _check_pair(X, y, "evaluate")
    was_training = model.training
    model.eval()
    try:
        pred = model(X)
        loss = float(loss_fn(pred, y))
    finally:
        model.train(was_training)
    kind = _accuracy_kind(loss_fn)
    accuracy = None if kind is None else _count_correct(kind, pred, y) / len(X)
    return loss, accuracy


def _non_finite_parameter(named: list[tuple[str, Parameter]]) -> str | None:
    """The name of the first parameter holding NaN/inf, or None (call under errstate)."""
    for name, p in named:
        # A sum is a cheap screen: NaN/inf anywhere makes it non-finite. Finite values
        # whose sum overflows are the rare false alarm, which the exact test settles.
        if not math.isfinite(p.value.sum()) and not np.isfinite(p.value).all():
            return name
    return None


def _lr_advice(optimizer: Any) -> str:
    lr = getattr(optimizer, "lr", None)
    if isinstance(lr, (int, float)) and lr > 0:
        return f"Try a smaller learning rate: lr={lr:g} -> lr={lr / 10:g}."
    return "Try a smaller learning rate (e.g. ten times smaller)."


def _check_data(X: Any, y: Any, X_val: Any, y_val: Any) -> tuple[Any, Any, Any, Any]:
    """The training (and validation) arrays, checked: equal lengths, finite inputs."""
    X = as_array(X, "fit (X)")
    X, y = _check_pair(X, y, "fit")
    check_finite(X, "fit", "training input X")
    if (X_val is None) != (y_val is None):
        given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
        raise ValueError(f"fit: got {given} without {missing}; pass both, or neither")
    if X_val is not None:
        X_val = as_array(X_val, "fit (X_val)")
        X_val, y_val = _check_pair(X_val, y_val, "fit (validation set)")
        check_finite(X_val, "fit", "validation input X_val")
    return X, y, X_val, y_val


def _check_scheduler(scheduler: Any, optimizer: Any) -> None:
    """A scheduler must have ``step()`` and drive this very optimizer."""
    if scheduler is None:
        return
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(
            "fit expected a learning-rate scheduler with step() (e.g. "
            f"nnlab.optim.StepLR(optimizer, 10)); got {type(scheduler).__name__}"
        )
    if getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError(
            f"fit: the scheduler ({type(scheduler).__name__}) changes the learning rate of "
            "another optimizer; build it on the optimizer passed to fit"
        )


def fit(
    model: Module,
    loss_fn: Any,
    optimizer: Any,
    X: Any,
    y: Any,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    X_val: Any = None,
    y_val: Any = None,
    shuffle: bool = True,
    rng: Any = None,
    patience: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    on_divergence: Literal["raise", "stop"] = "raise",
) -> History:
    """Train ``model`` by mini-batch gradient descent and return the :class:`History`.

    Each step is: ``optimizer.zero_grad()``, forward, ``loss = loss_fn(pred, y_b)``,
    ``model.backward(loss_fn.backward(), input_grad=False)`` (the input is data, whose
    gradient nobody needs), ``optimizer.step()``. The model is in ``train()`` mode for
    the mini-batches and ``eval()`` mode for validation; its original mode is restored
    at the end.

    Parameters
    ----------
    model : Module
        The network; maps ``(batch, d_in)`` to what ``loss_fn`` expects.
    loss_fn : loss
        E.g. ``nnlab.CrossEntropyLoss()``: ``loss_fn(pred, target)`` returns the mean
        loss as a float and ``loss_fn.backward()`` returns dL/dpred.
    optimizer : optimizer
        E.g. ``nnlab.optim.Adam(model.parameters())``, with ``step()`` and ``zero_grad()``.
    X : array_like, shape (n, d_in)
        Training inputs (must be finite).
    y : array_like, shape (n, ...)
        Training targets: int labels ``(n,)`` for cross-entropy, values for MSE, ...
    epochs : int
        Maximum number of passes over the training set.
    batch_size : int
        Examples per gradient step; the last batch of an epoch may be smaller.
    X_val, y_val : array_like, optional
        Validation set, evaluated after every epoch (both or neither).
    shuffle : bool
        Shuffle the training set every epoch (with ``rng``).
    rng : numpy.random.Generator, int or None
        Source of the shuffling order.
    patience : int, optional
        Early stopping: stop when the validation loss has not improved (strictly
        decreased) for ``patience`` epochs in a row. Needs validation data. When set,
        the weights of the best epoch are restored at the end, whether or not training
        stopped early.
    scheduler : LRScheduler, optional
        A learning-rate schedule on ``optimizer`` (e.g. ``nnlab.optim.CosineAnnealingLR``),
        stepped once per epoch, after that epoch's optimizer steps and its validation, as
        in PyTorch's loop: epoch ``e`` (0-based) runs at the rate the scheduler set at its
        ``last_epoch == e``. ``History.lr`` records the rate of every epoch.
    progress : bool
        Show a ``tqdm`` progress bar over epochs with the latest losses. With False,
        nothing is printed.
    on_divergence : {"raise", "stop"}
        What to do when the loss or a parameter becomes NaN/inf, or the forward pass
        produces non-finite values (``NonFiniteError``): in both cases the weights
        (and the optimizer's state) are first restored to the start of the failing
        epoch, so NaN weights are never returned; then ``"raise"`` raises
        :class:`DivergenceError`, ``"stop"`` returns the History with
        ``diverged=True`` and the explanation in ``message``.

    Returns
    -------
    History
        Per-epoch losses (and accuracies), the best epoch, and how training ended.

    Raises
    ------
    ValueError, TypeError
        Bad arguments: non-positive ``epochs``/``batch_size``, X and y of different
        lengths, ``X_val`` without ``y_val``, ``patience`` without validation data,
        non-finite inputs, a scheduler of another optimizer.
    DivergenceError
        The run diverged and ``on_divergence="raise"``.

    See chapter 5 (training), and chapter 6 for why runs diverge.
    """
    epochs = check_positive_int(epochs, "epochs", "fit")
    batch_size = check_positive_int(batch_size, "batch_size", "fit")
    if not isinstance(model, Module):
        raise TypeError(f"fit expected an nnlab Module as model; got {type(model).__name__}")
    if on_divergence not in ("raise", "stop"):
        raise ValueError(f"fit: on_divergence must be 'raise' or 'stop'; got {on_divergence!r}")
    X, y, X_val, y_val = _check_data(X, y, X_val, y_val)
    has_val = X_val is not None
    if patience is not None:
        patience = check_positive_int(patience, "patience", "fit")
        if not has_val:
            raise ValueError(
                "fit: patience (early stopping) needs a validation set; pass X_val and y_val"
            )
    _check_scheduler(scheduler, optimizer)
    gen = as_rng(rng, "fit")
    kind = _accuracy_kind(loss_fn)
    named_params = list(model.named_parameters())
    history = History()
    best_val = math.inf
    best_state: dict[str, np.ndarray] | None = None
    epochs_without_improvement = 0
    was_training = model.training

    bar = None
    if progress:
        from tqdm.auto import tqdm  # imported only when wanted: it probes for Jupyter

        bar = tqdm(total=epochs, desc="fit", unit="epoch", leave=True)

    def diverge(epoch: int, where: str, what: str) -> History:
        model.load_state_dict(epoch_start_model)
        if epoch_start_optim is not None:
            optimizer.load_state_dict(epoch_start_optim)
        history.diverged = True
        history.message = (
            f"The loss diverged at epoch {epoch}, {where}: {what}. "
            f"The weights were restored to the start of epoch {epoch}. {_lr_advice(optimizer)}"
        )
        if on_divergence == "raise":
            raise DivergenceError(history.message, history)
        return history

    # Overflow is expected when a run diverges, and is detected below; without
    # errstate numpy would warn once per layer and per batch.
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(1, epochs + 1):
                # The last finite state: restored if this epoch diverges.
                epoch_start_model = model.state_dict()
                epoch_start_optim = (
                    optimizer.state_dict() if hasattr(optimizer, "state_dict") else None
                )
                epoch_lr = getattr(optimizer, "lr", math.nan)
                model.train()
                total_loss = 0.0
                correct = 0
                batch_iter = batches(X, y, batch_size, shuffle=shuffle, rng=gen)
                for b, (xb, yb) in enumerate(batch_iter, start=1):
                    optimizer.zero_grad()
                    try:
                        pred = model(xb)
                        loss = loss_fn(pred, yb)
                    except NonFiniteError as exc:
                        what = f"the network output or the loss became NaN/inf ({exc})"
                        return diverge(epoch, f"batch {b}", what)
                    if not math.isfinite(loss):
                        return diverge(epoch, f"batch {b}", f"the loss became {loss}")
                    model.backward(loss_fn.backward(), input_grad=False)
                    optimizer.step()
                    total_loss += loss * len(xb)
                    if kind is not None:
                        correct += _count_correct(kind, pred, yb)
                # A NaN/inf parameter makes the next batch's loss NaN/inf (or trips a
                # layer's finiteness check), so within the epoch the loss test above
                # catches it one batch later; checking every parameter after every step
                # would add a few percent to each step. Only the last update of the
                # epoch needs this explicit check.
                bad = _non_finite_parameter(named_params)
                if bad is not None:
                    return diverge(
                        epoch, f"batch {b}", f"parameter {bad!r} became NaN/inf after the update"
                    )
                history.train_loss.append(total_loss / len(X))
                history.lr.append(epoch_lr)
                if kind is not None:
                    history.train_accuracy.append(correct / len(X))
                postfix = {"loss": f"{history.train_loss[-1]:.4g}"}

                if has_val:
                    try:
                        val_loss, val_acc = evaluate(model, loss_fn, X_val, y_val)
                    except NonFiniteError as exc:
                        what = f"the network output or the loss became NaN/inf ({exc})"
                        return diverge(epoch, "validation", what)
                    if not math.isfinite(val_loss):
                        what = f"the validation loss became {val_loss}"
                        return diverge(epoch, "validation", what)
                    history.val_loss.append(val_loss)
                    if val_acc is not None:
                        history.val_accuracy.append(val_acc)
                    postfix["val_loss"] = f"{val_loss:.4g}"
                    if val_acc is not None:
                        postfix["val_acc"] = f"{val_acc:.3f}"
                    if val_loss < best_val:
                        best_val, history.best_epoch = val_loss, epoch - 1
                        epochs_without_improvement = 0
                        if patience is not None:
                            best_state = model.state_dict()
                    else:
                        epochs_without_improvement += 1
                if scheduler is not None:
                    scheduler.step()  # after the epoch's optimizer steps, as in PyTorch
                if bar is not None:
                    bar.set_postfix(postfix, refresh=False)
                    bar.update(1)
                if patience is not None and epochs_without_improvement >= patience:
                    history.stopped_early = epoch < epochs
                    break

        if best_state is not None:
            model.load_state_dict(best_state)
        if history.stopped_early:
            history.message = (
                f"Stopped early after epoch {history.epochs}: no improvement of the validation "
                f"loss for {patience} epochs; restored the weights of epoch "
                f"{history.best_epoch + 1} (val loss {best_val:.4g})."
            )
        else:
            history.message = f"Completed {history.epochs} epoch(s)." + (
                f" Restored the weights of the best epoch, {history.best_epoch + 1} "
                f"(val loss {best_val:.4g})."
                if best_state is not None
                else ""
            )
        return history
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
