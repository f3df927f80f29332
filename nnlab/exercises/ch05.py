"""Chapter 5 (training): the graded exercises.

- ``sgd_momentum_step(w, grad, velocity, lr, momentum) -> (w_new, velocity_new)``: one
  step of SGD with momentum, against :class:`nnlab.optim.SGD` (PyTorch's convention:
  the learning rate stays outside the velocity);
- ``adam_step(w, grad, m, v, t, lr, beta1, beta2, eps) -> (w_new, m_new, v_new)``: one
  Adam step with bias correction, ``t`` steps having been taken before it, against
  :class:`nnlab.optim.Adam`;
- ``train(model, loss_fn, optimizer, X, y, X_val, y_val, epochs, batch_size, patience, rng)
  -> (val_losses, best_epoch)``: the training loop with early stopping, which must leave
  the best weights in the model, against :func:`nnlab.fit` on the same data, the same
  initial weights and the same random generator.

A model cannot travel to the grader's clean process, so the training loop is graded
through :func:`on_data`: a function of plain arrays that builds the model, the loss and
the optimizer, calls the student's ``train`` and returns the numbers to compare (the
validation losses, the best epoch and the final weights).

When an answer is wrong, the check compares it with the results of the typical
mistakes (a sign error, no bias correction, validation in train mode, ...) and names
the one that explains it.

>>> from nnlab.exercises import ch05
>>> ch05.adam_step.check(adam_step)     # doctest: +SKIP
✓ adam_step: passed (6 random cases)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.activations import ReLU
from nnlab.data import batches
from nnlab.exercises._core import Case, Exercise
from nnlab.layers import Dropout, Linear, Sequential
from nnlab.losses import CrossEntropyLoss
from nnlab.module import Parameter
from nnlab.optim import SGD, Adam
from nnlab.train import fit

__all__ = ["sgd_momentum_step", "adam_step", "train", "nesterov_step", "on_data", "EXERCISES"]

# Headings of book/05_training/lesson.ipynb (tests/test_exercises_ch05.py keeps them in sync).
SECTION_MOMENTUM = "Momentum"
SECTION_ADAM = "Adam: momentum and RMSprop, with bias correction"
SECTION_LOOP = "The training loop, written out"


def _named(mistakes: Callable[..., list[tuple[str, Any]]]) -> dict[str, Any]:
    """The fields that name the typical mistake a wrong answer equals.

    ``mistakes(*args)`` returns ``[(cause, result), ...]``: what each typical mistake
    returns on these inputs.
    """

    def diagnose(args: tuple[Any, ...], got: Any) -> str | None:
        return next((cause for cause, result in mistakes(*args) if _same(result, got)), None)

    return {"diagnose": diagnose, "note_format": "Likely cause: {}."}


def _same(expected: Any, got: Any) -> bool:
    """Equal within the checks' tolerance, item by item; NaN matches NaN (a typical symptom)."""
    if isinstance(expected, tuple):
        return (isinstance(got, (tuple, list)) and len(got) == len(expected)
                and all(_same(e, g) for e, g in zip(expected, got)))
    try:
        e = np.asarray(expected, dtype=np.float64)
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return e.shape == g.shape and bool(np.allclose(g, e, rtol=1e-6, atol=1e-8, equal_nan=True))


# --- Exercise 1: one step of SGD with momentum --------------------------------------------

_MOMENTUM_SETTINGS = [((3,), 0.1, 0.9), ((2, 4), 0.05, 0.5), ((5, 1), 0.5, 0.99),
                      ((1,), 0.01, 0.8), ((4, 3), 0.2, 0.9), ((2, 3, 2), 0.03, 0.7)]


def _momentum_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, lr, mu in _MOMENTUM_SETTINGS:
        w, g, b = (rng.normal(size=shape) for _ in range(3))
        cases.append(Case((w, g, b, lr, mu), ("w", "grad", "velocity", "lr", "momentum")))
    return cases


def _momentum_reference(w: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float,
                        momentum: float) -> tuple[np.ndarray, np.ndarray]:
    p = Parameter(w.copy())
    opt = SGD([p], lr, momentum=momentum)
    opt.momentum_buffer[0][...] = velocity
    # Not the first step: nnlab (like torch) copies the gradient into an empty buffer on
    # step 1, and updates an existing one on every later step.
    opt.step_count = 1
    p.grad[...] = grad
    opt.step()
    return p.value, opt.momentum_buffer[0]


def _momentum_mistakes(w: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float,
                       momentum: float) -> list[tuple[str, Any]]:
    b = momentum * velocity + grad
    b_lr = momentum * velocity + lr * grad
    b_w = momentum * w + grad
    return [
        ("the step goes uphill: the weights move by MINUS lr times the velocity", (w + lr * b, b)),
        ("the learning rate is inside the velocity (velocity = momentum * velocity + lr * grad); "
         "nnlab and PyTorch keep it out: velocity = momentum * velocity + grad, then w - lr * velocity",
         (w - b_lr, b_lr)),
        ("the new velocity is not returned: return the updated buffer, not the old one",
         (w - lr * b, velocity)),
        ("the velocity is not used: the step must be w - lr * (momentum * velocity + grad)",
         (w - lr * grad, b)),
        ("momentum is applied to the weights instead of the velocity: velocity = momentum * "
         "velocity + grad", (w - lr * b_w, b_w)),
        ("momentum is applied to the weights instead of the velocity: velocity = momentum * "
         "velocity + grad", (momentum * w - lr * grad, b)),
    ]


sgd_momentum_step = Exercise(
    name="sgd_momentum_step",
    chapter=5,
    section=SECTION_MOMENTUM,
    make_cases=_momentum_cases,
    references=[("nnlab.optim.SGD(momentum=...).step", _momentum_reference)],
    output_names=("w_new", "velocity_new"),
    **_named(_momentum_mistakes),
    hints=(
        ("Update the velocity from the gradient first, then move the weights with the NEW "
         "velocity; return both (the velocity is the optimizer's memory)."),
        ("w, grad and velocity share one shape; lr and momentum are numbers. The learning rate"
         " enters only the weight update (PyTorch's convention, as nnlab.optim.SGD)."),
        'u_t = μ u_{t−1} + g_t and θ_t = θ_{t−1} − η u_t (μ = momentum, η = lr).',
    ),
)


# --- Exercise 2: one Adam step with bias correction ---------------------------------------

# (shape, steps taken before, lr, (beta1, beta2), eps): a first step (t = 0) first, eps
# large enough in some cases for eps inside or outside the square root to differ.
_ADAM_SETTINGS = [((3,), 0, 0.1, (0.9, 0.999), 1e-8), ((2, 4), 5, 0.01, (0.9, 0.999), 1e-3),
                  ((5, 1), 1, 0.05, (0.8, 0.99), 0.1), ((1,), 100, 0.001, (0.9, 0.999), 1e-8),
                  ((4, 3), 0, 0.02, (0.5, 0.9), 0.01), ((2, 3, 2), 12, 0.3, (0.95, 0.98), 0.05)]


def _adam_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, t, lr, (beta1, beta2), eps in _ADAM_SETTINGS:
        w = rng.normal(size=shape)
        # Gradients from small to large, so that eps matters for some entries.
        grad = rng.normal(size=shape) * 10.0 ** rng.uniform(-2, 0, size=shape)
        if t == 0:
            m, v = np.zeros(shape), np.zeros(shape)
        else:
            m = 0.1 * rng.normal(size=shape)
            v = 0.01 * rng.random(size=shape) + m**2
        cases.append(Case((w, grad, m, v, t, lr, beta1, beta2, eps),
                               ("w", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps")))
    return cases


def _adam_reference(w: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
                    lr: float, beta1: float, beta2: float, eps: float) -> tuple[np.ndarray, ...]:
    p = Parameter(w.copy())
    opt = Adam([p], lr, betas=(beta1, beta2), eps=eps)
    opt.exp_avg[0][...] = m
    opt.exp_avg_sq[0][...] = v
    opt.step_count = t
    p.grad[...] = grad
    opt.step()
    return p.value, opt.exp_avg[0], opt.exp_avg_sq[0]


def _adam_mistakes(w: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
                   lr: float, beta1: float, beta2: float, eps: float) -> list[tuple[str, Any]]:
    m1 = beta1 * m + (1 - beta1) * grad
    v1 = beta2 * v + (1 - beta2) * grad**2
    c1, c2 = 1 - beta1 ** (t + 1), 1 - beta2 ** (t + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z1, z2 = 1 - beta1**t, 1 - beta2**t
        t0 = w - lr * (m1 / z1) / (np.sqrt(v1 / z2) + eps)
    return [
        ("no bias correction: divide m by 1 - beta1^t and v by 1 - beta2^t, with t the "
         "number of this step", (w - lr * m1 / (np.sqrt(v1) + eps), m1, v1)),
        ("eps is inside the square root: the denominator is sqrt(v_hat) + eps",
         (w - lr * (m1 / c1) / np.sqrt(v1 / c2 + eps), m1, v1)),
        ("the bias correction uses t, the number of steps taken BEFORE this one; this step "
         "is number t + 1 (on the first step, 1 - beta^0 = 0 divides by zero)", (t0, m1, v1)),
        ("the bias-corrected moments are returned as the new state; keep m and v "
         "uncorrected and correct them only to compute the step",
         (w - lr * (m1 / c1) / (np.sqrt(v1 / c2) + eps), m1 / c1, v1 / c2)),
        ("v is averaged with |grad| instead of grad ** 2",
         (w - lr * (m1 / c1) / (np.sqrt((beta2 * v + (1 - beta2) * np.abs(grad)) / c2) + eps),
          m1, beta2 * v + (1 - beta2) * np.abs(grad))),
    ]


adam_step = Exercise(
    name="adam_step",
    chapter=5,
    section=SECTION_ADAM,
    make_cases=_adam_cases,
    references=[("nnlab.optim.Adam.step", _adam_reference)],
    output_names=("w_new", "m_new", "v_new"),
    **_named(_adam_mistakes),
    hints=(
        ("Update m (a running mean of the gradients) and v (of their squares), correct both "
         "for their start at zero, then step. This step is number t + 1."),
        ("All arrays share w's shape. Return (w_new, m_new, v_new) with the UNcorrected "
         "moments: the corrected ones serve only the step. ε is added after the square root."),
        ("m′ = β₁ m + (1 − β₁) g, v′ = β₂ v + (1 − β₂) g ⊙ g, m̂ = m′/(1 − β₁^{t+1}), v̂ = "
         "v′/(1 − β₂^{t+1}), θ′ = θ − η m̂ / (√v̂ + ε); return (θ′, m′, v′)."),
    ),
)


# --- Exercise 3: a training loop with early stopping --------------------------------------

#: Dropout rate of the graded network: validation must run in eval mode for it to be off.
DROPOUT = 0.2

# (n_train, d_in, hidden, classes, batch_size, patience, seed)
_TRAIN_SETTINGS = [(48, 5, 16, 3, 8, 3, 0), (61, 8, 12, 4, 16, 2, 1), (30, 3, 20, 2, 7, 4, 2),
                   (55, 6, 10, 5, 10, 3, 3)]
_EPOCHS = 40
_N_VAL = 40
_LR = 0.02


def _train_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, d, h, c, batch_size, patience, seed in _TRAIN_SETTINGS:
        teacher = rng.normal(size=(d, c))
        X = rng.normal(size=(n + _N_VAL, d))
        labels = (X @ teacher + rng.normal(scale=1.5, size=(n + _N_VAL, c))).argmax(axis=1)
        W1 = rng.normal(scale=math.sqrt(2 / d), size=(h, d))
        W2 = rng.normal(scale=math.sqrt(1 / h), size=(c, h))
        args = (X[:n], labels[:n], X[n:], labels[n:], W1, np.zeros(h), W2, np.zeros(c),
                _LR, _EPOCHS, batch_size, patience, seed)
        names = ("X", "y", "X_val", "y_val", "W1", "b1", "W2", "b2", "lr", "epochs",
                 "batch_size", "patience", "seed")
        cases.append(Case(args, names))
    return cases


def _setup(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray,
           lr: float, seed: int) -> tuple[Sequential, CrossEntropyLoss, SGD, np.random.Generator]:
    """The graded network Linear -> ReLU -> Dropout -> Linear with exactly these weights."""
    first, last = Linear(W1.shape[1], W1.shape[0]), Linear(W2.shape[1], W2.shape[0])
    first.weight.value[...], first.bias.value[...] = W1, b1
    last.weight.value[...], last.bias.value[...] = W2, b2
    model = Sequential(first, ReLU(), Dropout(DROPOUT, rng=seed + 1000), last)
    optimizer = SGD(model.parameters(), lr, momentum=0.9)
    return model, CrossEntropyLoss(), optimizer, np.random.default_rng(seed)


def _weights(model: Sequential) -> tuple[np.ndarray, ...]:
    return tuple(p.value.copy() for p in model.parameters())


def _run_train(train_fn: Callable[..., Any], X: np.ndarray, y: np.ndarray, X_val: np.ndarray,
               y_val: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray,
               lr: float, epochs: int, batch_size: int, patience: int,
               seed: int) -> tuple[Any, ...]:
    model, loss_fn, optimizer, rng = _setup(X, W1, b1, W2, b2, lr, seed)
    result = train_fn(model, loss_fn, optimizer, X, y, X_val, y_val, epochs, batch_size,
                      patience, rng)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError("train should return the pair (val_losses, best_epoch); got "
                        f"{type(result).__name__}")
    val_losses, best_epoch = result
    try:
        val_losses = np.asarray(val_losses, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("val_losses should be a list of floats, one per epoch run") from None
    if isinstance(best_epoch, (np.integer, np.ndarray)):
        best_epoch = int(best_epoch)
    return (val_losses, best_epoch) + _weights(model)


def on_data(train_fn: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """``train_fn`` as a function of plain arrays, which is what the grader can run.

    The returned function builds the graded network (``Linear -> ReLU -> Dropout(0.2) ->
    Linear`` with the given weights), ``CrossEntropyLoss``, ``SGD(lr, momentum=0.9)``
    and ``rng = np.random.default_rng(seed)``, calls ``train_fn`` and returns
    ``(val_losses, best_epoch, W1, b1, W2, b2)``, the weights being those left in the
    model.
    """
    return functools.partial(_run_train, train_fn)


def _fit_reference(X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                   W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, lr: float,
                   epochs: int, batch_size: int, patience: int, seed: int) -> tuple[Any, ...]:
    model, loss_fn, optimizer, rng = _setup(X, W1, b1, W2, b2, lr, seed)
    history = fit(model, loss_fn, optimizer, X, y, epochs=epochs, batch_size=batch_size,
                  X_val=X_val, y_val=y_val, rng=rng, patience=patience, progress=False)
    return (np.array(history.val_loss), history.best_epoch) + _weights(model)


def _loop(train_fn_args: tuple[Any, ...], *, shuffle: bool = True, eval_mode: bool = True,
          stop_after: int = 0, restore: bool = True) -> tuple[Any, ...]:
    """The training loop with one typical mistake switched on; default: the right loop."""

    def loop(model, loss_fn, optimizer, X, y, X_val, y_val, epochs, batch_size, patience, rng):
        val_losses, best, best_epoch, waited = [], math.inf, 0, 0
        for epoch in range(epochs):
            model.train()
            for xb, yb in batches(X, y, batch_size, shuffle=shuffle, rng=rng):
                optimizer.zero_grad()
                loss_fn(model(xb), yb)
                model.backward(loss_fn.backward(), input_grad=False)
                optimizer.step()
            model.train(not eval_mode)
            val_losses.append(loss_fn(model(X_val), y_val))
            if val_losses[-1] < best:
                best, best_epoch, waited, state = val_losses[-1], epoch, 0, model.state_dict()
            else:
                waited += 1
            if waited >= patience + stop_after:
                break
        if restore:
            model.load_state_dict(state)
        return val_losses, best_epoch

    return _run_train(loop, *train_fn_args)


def _train_mistakes(*args: Any) -> list[tuple[str, Any]]:
    return [
        ("the model keeps the weights of the last epoch: save model.state_dict() when the "
         "validation loss improves and load_state_dict it at the end", _loop(args, restore=False)),
        ("one epoch too many: stop as soon as the validation loss has not improved for "
         "`patience` epochs (>= patience, not > patience)", _loop(args, stop_after=1)),
        ("one epoch too few: stop when the validation loss has not improved for `patience` "
         "epochs, counting only epochs without improvement", _loop(args, stop_after=-1)),
        ("the validation loss is computed in train mode, with Dropout on: call model.eval() "
         "before validating (and model.train() before the next epoch's batches)",
         _loop(args, eval_mode=False)),
        ("the batches are not shuffled: use nnlab.data.batches(X, y, batch_size, shuffle=True, "
         "rng=rng) every epoch", _loop(args, shuffle=False)),
    ]


train = Exercise(
    # The student's loop takes an nnlab model, loss and optimizer: on_data builds them from
    # plain arrays, in check() and in the grader's runner alike. Of nnlab, only what is
    # passed in and nnlab.data.batches may be used (not nnlab.fit, which IS the answer).
    wrap=on_data,
    allowed=("nnlab.data.batches",),
    name="train",
    chapter=5,
    section=SECTION_LOOP,
    make_cases=_train_cases,
    references=[("nnlab.fit(..., patience=patience) on the same network, data and rng",
                 _fit_reference)],
    output_names=("val_losses", "best_epoch", "W1 (the first layer's weight after train)",
                  "b1", "W2", "b2"),
    **_named(_train_mistakes),
    hints=(
        ("Per epoch: train mode, one pass over shuffled mini-batches (nnlab.data.batches with "
         "the rng you are given) with zero_grad, forward, loss, backward, step; then eval mode"
         " and the validation loss; then decide whether to stop."),
        ("Keep, across epochs: the list of validation losses (one float per epoch run), the "
         "best loss so far, its epoch (counted from 0) with a copy of the weights (see "
         "Module.state_dict), and the number of epochs since the last improvement."),
        ("Epoch e improves iff ℒ_val(e) < min_{e′<e} ℒ_val(e′) (strictly). Stop after the "
         "first epoch at which the count of non-improving epochs equals patience; best_epoch ="
         " the first argmin_e ℒ_val(e), and the model ends with that epoch’s weights."),
    ),
)



# --- Exercise 4: Nesterov's step, from its formula ---------------------------------------------
# The lesson codes plain momentum only; PyTorch's Nesterov variant is given as a formula in
# the task, and the student turns it into the step.

def _nesterov_reference(w: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float,
                        momentum: float) -> tuple[np.ndarray, np.ndarray]:
    p = Parameter(w.copy())
    opt = SGD([p], lr, momentum=momentum, nesterov=True)
    opt.momentum_buffer[0][...] = velocity
    opt.step_count = 1  # not the first step (see _momentum_reference)
    p.grad[...] = grad
    opt.step()
    return p.value, opt.momentum_buffer[0]


def _nesterov_formula(w, grad, velocity, lr, momentum):
    u = momentum * velocity + grad
    return w - lr * (grad + momentum * u), u


def _nesterov_mistakes(w: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float,
                       momentum: float) -> list[tuple[str, Any]]:
    u = momentum * velocity + grad
    u_lr = momentum * velocity + lr * grad
    return [
        ("this is plain momentum, w - lr u (which is also g + momentum times the OLD "
         "velocity): Nesterov's step looks ahead, w - lr (g + momentum u) with the NEW u",
         (w - lr * u, u)),
        ("the step is momentum u alone: it is g + momentum u (the gradient is added once more)",
         (w - lr * momentum * u, u)),
        ("the learning rate is inside the velocity (Sutskever's form); PyTorch's Nesterov keeps "
         "it out: u = momentum u + g", (w - (lr * grad + momentum * u_lr), u_lr)),
        ("the new velocity is not returned: return u = momentum velocity + grad",
         (w - lr * (grad + momentum * u), velocity)),
        ("the step goes uphill: the weights move by MINUS lr times (g + momentum u)",
         (w + lr * (grad + momentum * u), u)),
    ]


nesterov_step = Exercise(
    name="nesterov_step",
    chapter=5,
    section=SECTION_MOMENTUM,
    make_cases=_momentum_cases,
    references=[("nnlab.optim.SGD(momentum=momentum, nesterov=True)", _nesterov_reference),
                ("the formula of the task", _nesterov_formula)],
    output_names=("w_new", "velocity_new"),
    **_named(_nesterov_mistakes),
    hints=(
        ("Nesterov's momentum evaluates the step where momentum is about to carry the weights: "
         "the velocity is updated as before, but the step adds the gradient to momentum times "
         "the NEW velocity."),
        ("w, grad and velocity share one shape; return (w_new, velocity_new), both of that "
         "shape. The learning rate stays outside the velocity, as in exercise 1."),
        ("u_t = μ u_{t−1} + g_t and θ_t = θ_{t−1} − η (g_t + μ u_t)."),
    ),
)


EXERCISES: dict[str, Exercise] = {
    ex.name: ex for ex in (sgd_momentum_step, adam_step, train, nesterov_step)
}
