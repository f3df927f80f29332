"""Gradient checking: compare a backward pass with central differences.

The derivative of a scalar function f at x is approximated by the central difference

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),

whose error is O(eps^2). Rounding adds an error of about machine_eps * |f| / eps, so
the default eps = 1e-5 sits near the best trade-off, machine_eps^(1/3) ~ 6e-6 (CS231n
uses 1e-5 too); with 1e-6 the rounding error alone reaches 1e-7 relative on small
entries of a three-layer network. A module maps arrays to arrays, so, as in CS231n, we check
the scalar ``<G, module(x)>`` for a random upstream gradient G: its gradient is exactly
what ``module.backward(G)`` computes. Agreement is measured by the relative error

    |a - n| / max(|a| + |n|, tiny)

elementwise, which in float64 is around 1e-10 for a correct backward and around
1e-2 or worse for a wrong one. Everything runs in float64: float32 rounding (~1e-7)
would drown the difference. See chapter 4 (Backpropagation), "gradient checking".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlab._checks import as_rng
from nnlab.module import Module

__all__ = [
    "GradcheckEntry",
    "GradcheckReport",
    "check_function",
    "check_loss",
    "check_module",
    "numerical_gradient",
    "relative_error",
]

# A central difference cannot resolve a derivative more finely than roughly
# machine_eps * |f| / eps ~ 1e-11 of the gradients' scale. An entry whose true value is
# that small (a unit with a tiny softmax probability; the bias of a layer followed by
# batch norm, whose gradient is exactly 0) would show a relative error near 1 from
# rounding alone, so every entry is compared with at least this fraction of the largest
# gradient entry of the whole check.
_SCALE_FLOOR = 1e-3


def numerical_gradient(
    f: Callable[[np.ndarray], Any], x: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """Gradient of a scalar function by central differences.

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), with error O(eps^2).

    Parameters
    ----------
    f : callable
        Maps ``x`` to a scalar. ``x`` is perturbed in place, so ``f`` must read the array it
        is given (or the same array through another reference, such as a parameter's value).
    x : np.ndarray
        float64 array of any shape. Each entry is perturbed in place and restored exactly.
    eps : float
        The step.

    Returns
    -------
    np.ndarray
        df/dx, same shape as ``x``, float64. See chapter 4.
    """
    return _central_differences(f, x, eps, weights=None)


def _central_differences(
    f: Callable[[np.ndarray], Any], x: np.ndarray, eps: float, weights: np.ndarray | None
) -> np.ndarray:
    """d sum(weights * f(x)) / dx, or df/dx for a scalar f when ``weights`` is None."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "numerical_gradient expected a float64 numpy array (float32 rounding would swamp "
            f"the difference); got {type(x).__name__} of dtype {getattr(x, 'dtype', None)}"
        )
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = plus = old + eps
        f_plus = np.array(f(x), dtype=np.float64)
        x[i] = minus = old - eps
        f_minus = np.array(f(x), dtype=np.float64)
        x[i] = old  # the same float, so x comes back bit for bit
        # Subtract before weighting and summing: the difference of two large sums would
        # lose the digits that the difference of each output keeps.
        diff = f_plus - f_minus if weights is None else np.sum(weights * (f_plus - f_minus))
        # Divide by the step actually taken: old +- eps is rounded to the nearest float.
        grad[i] = float(diff) / (plus - minus)
    return grad


def relative_error(
    analytic: np.ndarray, numerical: np.ndarray, scale: float | None = None
) -> np.ndarray:
    """Elementwise |a - n| / max(|a| + |n|, tiny), as in CS231n.

    ``tiny`` is 1e-3 times ``scale`` (default: the largest |a| + |n| in these arrays) and
    never 0, so that an entry whose true gradient is ~0 is judged against the scale of
    the gradients rather than against its own rounding noise. Where both are 0 the error is 0.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    total = np.abs(a) + np.abs(n)
    if scale is None:
        scale = float(total.max()) if total.size else 0.0
    tiny = max(_SCALE_FLOOR * scale, np.finfo(np.float64).tiny)
    return np.abs(a - n) / np.maximum(total, tiny)


@dataclass(frozen=True)
class GradcheckEntry:
    """The comparison for one array (an input or a parameter).

    ``index`` is the multi-index of the worst entry, where the analytic (backward) and
    numerical (central-difference) values were ``analytic`` and ``numerical``.
    """

    name: str
    shape: tuple[int, ...]
    max_rel_error: float
    index: tuple[int, ...]
    analytic: float
    numerical: float


@dataclass
class GradcheckReport:
    """Relative errors of a gradient check, per input and per parameter.

    Attributes
    ----------
    subject : str
        What was checked (a module's repr, a loss, a function).
    entries : dict of str to GradcheckEntry
        One entry per name: ``"input"`` (or ``"pred"``, ``"x"``) and each parameter's
        dotted name from ``named_parameters()``, e.g. ``"0.weight"``.
    eps : float
        The central-difference step.
    """

    subject: str
    entries: dict[str, GradcheckEntry] = field(default_factory=dict)
    eps: float = 1e-5

    @property
    def worst(self) -> GradcheckEntry:
        """The entry with the largest relative error."""
        if not self.entries:
            raise ValueError(f"gradient check of {self.subject} compared nothing")
        return max(self.entries.values(), key=lambda e: e.max_rel_error)

    @property
    def max_rel_error(self) -> float:
        """The largest relative error over every name and index."""
        return self.worst.max_rel_error if self.entries else 0.0

    @property
    def worst_name(self) -> str:
        """The name (``"input"`` or a parameter's dotted name) of the worst entry."""
        return self.worst.name

    @property
    def worst_index(self) -> tuple[int, ...]:
        """The multi-index, within ``worst_name``, of the largest relative error."""
        return self.worst.index

    @property
    def errors(self) -> dict[str, float]:
        """The largest relative error of each name."""
        return {name: e.max_rel_error for name, e in self.entries.items()}

    def ok(self, tol: float = 1e-7) -> bool:
        """Whether every relative error is at most ``tol``."""
        return self.max_rel_error <= tol

    def assert_ok(self, tol: float = 1e-7) -> None:
        """Raise AssertionError, with this report as the message, unless :meth:`ok`."""
        if not self.ok(tol):
            raise AssertionError(f"gradient check failed (tolerance {tol:.0e})\n{self}")

    def __str__(self) -> str:
        header = ("name", "shape", "max rel error", "worst index")
        rows = [
            (e.name, str(e.shape), f"{e.max_rel_error:.2e}", str(e.index))
            for e in self.entries.values()
        ]
        widths = [max(len(r[k]) for r in [header, *rows]) for k in range(4)]
        lines = [
            f"Gradient check of {self.subject} (central differences, eps={self.eps:g}, float64)"
        ]
        lines += [
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows]
        ]
        if self.entries:
            w = self.worst
            lines.append(
                f"worst: {w.name}{list(w.index)}: backward gives {w.analytic:.10g}, "
                f"central difference {w.numerical:.10g} (relative error {w.max_rel_error:.2e})"
            )
        return "\n".join(lines)


def _entries(gradients: dict[str, tuple[Any, np.ndarray]]) -> dict[str, GradcheckEntry]:
    """Compare each ``name: (analytic, numerical)`` pair, on the scale of all of them."""
    pairs = {}
    for name, (analytic, numerical) in gradients.items():
        if analytic is None:
            raise ValueError(f"gradient check: backward returned None for {name!r}")
        analytic = np.asarray(analytic, dtype=np.float64)
        if analytic.shape != numerical.shape:
            raise ValueError(
                f"gradient check: the backward gradient of {name!r} has shape {analytic.shape}; "
                f"expected {numerical.shape}"
            )
        pairs[name] = (analytic, numerical)
    scale = max(
        (float(np.max(np.abs(a) + np.abs(n))) for a, n in pairs.values() if a.size), default=0.0
    )
    return {name: _entry(name, a, n, scale) for name, (a, n) in pairs.items()}


def _entry(name: str, analytic: np.ndarray, numerical: np.ndarray, scale: float) -> GradcheckEntry:
    err = relative_error(analytic, numerical, scale)
    if err.size == 0:
        return GradcheckEntry(name, numerical.shape, 0.0, (), 0.0, 0.0)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    return GradcheckEntry(
        name,
        numerical.shape,
        float(err[index]),
        index,
        float(analytic[index]),
        float(numerical[index]),
    )


def _float64_copy(x: Any, who: str, what: str) -> np.ndarray:
    try:
        return np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{who} expected a numeric {what}; got {type(x).__name__} ({exc})"
        ) from None


def check_module(module: Module, x: Any, *, rng: Any = None, eps: float = 1e-5) -> GradcheckReport:
    """Check ``module.backward`` against central differences, for the input and every parameter.

    A random upstream gradient G (standard normal, the output's shape) turns the module
    into the scalar f = sum(G * module(x)); then df/dx and df/dp are compared with what
    ``module.backward(G)`` returns and adds into each ``p.grad``.

    The module must be float64 (build a float64 twin of a float32 network, with the same
    seed, to check it): a float32 module raises TypeError. ``x`` is copied to float64.
    Afterwards the module is as it was: parameter values, gradients, buffers (batch-norm
    running statistics move on every training forward), train/eval mode and the state of
    every ``rng`` Generator attribute. That state is also restored before *each* forward,
    so Dropout draws the same mask every time, which is what makes it checkable.

    Parameters
    ----------
    module : Module
        The module to check, in whichever mode it is in.
    x : array_like
        An input, e.g. ``(batch, in_features)``.
    rng : numpy.random.Generator, int or None
        Source of G.
    eps : float
        Central-difference step.

    Returns
    -------
    GradcheckReport
        Names ``"input"`` and each parameter's dotted name. See chapter 4.
    """
    if not isinstance(module, Module):
        raise TypeError(f"check_module expected a nnlab Module; got {type(module).__name__}")
    named = list(module.named_parameters())
    for name, p in named:
        if p.dtype != np.float64:
            raise TypeError(
                f"check_module expected a float64 module (float32 rounding would swamp the "
                f"difference); parameter {name!r} of {type(module).__name__} is {p.dtype}. "
                "Build the same module with dtype=np.float64 and check that"
            )
    x = _float64_copy(x, "check_module", "input x")
    gen = as_rng(rng, "check_module")

    saved_state = module.state_dict()
    saved_grads = [p.grad.copy() for _, p in named]
    saved_modes = [(m, m.training) for m in module.modules()]
    generators = {
        id(m.rng): m.rng
        for m in module.modules()
        if isinstance(getattr(m, "rng", None), np.random.Generator)
    }
    saved_rng = {key: g.bit_generator.state for key, g in generators.items()}
    saved_buffers = {name: np.array(b, copy=True) for name, b in module.named_buffers()}

    def forward(inp: np.ndarray) -> np.ndarray:
        # Same random draws and the same running statistics for every evaluation.
        for key, g in generators.items():
            g.bit_generator.state = saved_rng[key]
        for name, b in module.named_buffers():
            np.copyto(b, saved_buffers[name])
        return np.asarray(module(inp), dtype=np.float64)

    try:
        out = forward(x)
        G = gen.standard_normal(out.shape)
        module.zero_grad()
        grad_x = module.backward(G.copy())
        report = GradcheckReport(subject=repr(module).replace("\n", " ").replace("  ", ""), eps=eps)

        def f(_: np.ndarray) -> np.ndarray:
            # The array being differentiated (x or a p.value) is perturbed in place.
            return forward(x)

        gradients = {"input": (grad_x, _central_differences(f, x, eps, G))}
        for name, p in named:
            gradients[name] = (p.grad.copy(), _central_differences(f, p.value, eps, G))
        report.entries = _entries(gradients)
    finally:
        module.load_state_dict(saved_state)
        for (_, p), grad in zip(named, saved_grads):
            np.copyto(p.grad, grad)
        for m, mode in saved_modes:
            m.training = mode
        for key, g in generators.items():
            g.bit_generator.state = saved_rng[key]
    return report


def check_loss(criterion: Any, pred: Any, target: Any, *, eps: float = 1e-5) -> GradcheckReport:
    """Check a loss's ``backward()`` (dL/dpred) against central differences of its value.

    Parameters
    ----------
    criterion : loss object
        Called as ``criterion(pred, target)`` -> float; ``criterion.backward()`` -> dL/dpred.
    pred : array_like
        Predictions (logits, for the cross-entropy losses); copied to float64.
    target : array_like
        Targets; floating targets are copied to float64, integer labels kept.

    Returns
    -------
    GradcheckReport
        One entry, ``"pred"``. See chapters 3 and 4.
    """
    pred = _float64_copy(pred, "check_loss", "pred")
    target = np.asarray(target)
    if target.dtype.kind == "f":
        target = target.astype(np.float64)
    criterion(pred, target)
    analytic = criterion.backward()
    numerical = numerical_gradient(lambda p: criterion(p, target), pred, eps)
    report = GradcheckReport(subject=repr(criterion), eps=eps)
    report.entries = _entries({"pred": (analytic, numerical)})
    return report


def check_function(
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    x: Any,
    *,
    eps: float = 1e-5,
) -> GradcheckReport:
    """Check the derivative ``df`` of an elementwise function ``f`` at every entry of ``x``.

    Because f acts entry by entry, all central differences are taken at once:
    f'(x) ~ (f(x + eps) - f(x - eps)) / (2 eps).

    Parameters
    ----------
    f, df : callable
        Elementwise, e.g. ``nnlab.activations.sigmoid`` and ``sigmoid_grad``; both map an
        array to an array of the same shape.
    x : array_like
        Points at which to compare; copied to float64.

    Returns
    -------
    GradcheckReport
        One entry, ``"x"``. See chapter 2 (derivatives of activations) and chapter 4.
    """
    x = _float64_copy(x, "check_function", "x")
    plus, minus = x + eps, x - eps
    f_plus = np.asarray(f(plus), dtype=np.float64)
    numerical = (f_plus - np.asarray(f(minus), dtype=np.float64)) / (plus - minus)
    name = getattr(f, "__name__", repr(f))
    report = GradcheckReport(
        subject=f"{name} (derivative {getattr(df, '__name__', repr(df))})", eps=eps
    )
    report.entries = _entries({"x": (df(x), numerical)})
    return report
