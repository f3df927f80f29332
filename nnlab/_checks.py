"""Input validation shared by every layer, loss and optimizer.

Errors are for users: each message names who complained, what it expected and what
it received, so that a student can fix the call without reading nnlab's source.

``who`` names the caller. :func:`as_array` and :func:`check_finite` run on every batch,
so they also accept the module itself: its repr (``Linear(in_features=3, ...)``) is
then formatted only when there is an error to report, not on every call.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = ["NonFiniteError"]


class NonFiniteError(ValueError):
    """An array that must be finite holds NaN or inf.

    A subclass of ``ValueError`` so that ordinary code can catch it as bad input,
    while :func:`nnlab.train.fit` can recognise it as a sign of divergence.
    """


def as_array(x: Any, who: object, *, dtype: np.dtype | None = None) -> np.ndarray:
    """Return ``x`` as a floating-point array, or raise a TypeError naming ``who``.

    Integer and boolean arrays are converted to ``dtype`` (float64 when None);
    floating arrays keep their dtype so that float32 stays float32.
    """
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{who} expected a numeric array; got {type(x).__name__} ({exc})") from None
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(dtype or np.float64)
    raise TypeError(
        f"{who} expected a numeric array (float, int or bool); got dtype {arr.dtype} "
        f"from {type(x).__name__}"
    )


def check_finite(x: np.ndarray, who: object, what: str = "input") -> None:
    """Raise :class:`NonFiniteError` if ``x`` holds NaN or inf."""
    # Every layer calls this on every batch, so it must be cheap. One elementwise pass
    # is: measured faster than screening with x.sum() (which also needs np.errstate, as
    # a finite float32 sum can overflow) at every batch size of benchmarks/bench_mlp.py.
    finite = np.isfinite(x)
    if finite.all():
        return
    bad = ~finite
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    raise NonFiniteError(
        f"{who} expected a finite {what}; got {int(bad.sum())} NaN/inf value(s), "
        f"the first at index {first} ({x[first]})"
    )


def check_ndim(x: np.ndarray, who: str, expected: str, ndims: tuple[int, ...]) -> None:
    """Raise ValueError unless ``x.ndim`` is one of ``ndims``."""
    if x.ndim not in ndims:
        raise ValueError(f"{who} expected input of shape {expected}; got {x.shape} ({x.ndim}-D)")


def check_positive_int(value: Any, name: str, who: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``, or raise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{who}: {name} must be an int; got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{who}: {name} must be >= {minimum}; got {value}")
    return int(value)


def check_real(
    value: Any,
    name: str,
    who: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float within the given bounds, or raise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{who}: {name} must be a real number; got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{who}: {name} must be finite; got {value}")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{who}: {name} must be in {interval}; got {value}")
    return value


def as_rng(rng: Any, who: str) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a Generator, an int seed or None.

    None gives a freshly seeded generator (non-deterministic), never numpy's global state.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"{who}: rng must be a numpy.random.Generator, an int seed or None; got {type(rng).__name__}"
    )
