"""Run a student's function in a separate process and send back only data.

This file is both a module (the grader imports :func:`encode` and :func:`decode`) and
the script of the runner process (``python -I _wire.py RESULT_PATH``), which imports
neither nnlab nor anything of the grader: it unpickles the student's function, calls it
on each case and writes the outcomes as JSON. Arrays travel as raw bytes with a numeric
dtype, never as pickles, so whatever the student's code does inside the runner (patch
numpy, replace builtins, print, exit), the grader receives numbers and nothing else.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import sys
from typing import Any

import numpy as np

__all__ = ["encode", "decode", "run"]

_NUMERIC_KINDS = "biuf"


def encode(value: Any) -> Any:
    """A JSON-able description of ``value``: numbers, arrays, tuples, lists, None."""
    if isinstance(value, np.generic):
        return {"scalar": encode(np.asarray(value))}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMERIC_KINDS:
            return {"unsupported": f"numpy array of dtype {value.dtype}"}
        # ascontiguousarray makes a 0-d array 1-d; a numpy scalar must stay 0-d.
        value = np.ascontiguousarray(value).reshape(value.shape)
        return {"ndarray": value.dtype.str, "shape": list(value.shape),
                "data": base64.b64encode(value.tobytes()).decode("ascii")}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"plain": value}
    if isinstance(value, (tuple, list)):
        return {type(value).__name__: [encode(v) for v in value]}
    return {"unsupported": type(value).__name__}


def _stand_in(type_name: str) -> Any:
    # An object whose type has the name of what the student returned, so that the
    # check can say "received DataFrame" without ever rebuilding a foreign object.
    return type(str(type_name)[:80], (), {"__repr__": lambda self: f"<{type_name}>"})()


def decode(obj: Any) -> Any:
    """Inverse of :func:`encode`; rejects anything that is not plain data."""
    if not isinstance(obj, dict) or len(obj) != 1 and "ndarray" not in obj:
        raise ValueError(f"malformed result {str(obj)[:80]}")
    if "ndarray" in obj:
        dtype = np.dtype(obj["ndarray"])
        if dtype.kind not in _NUMERIC_KINDS:
            raise ValueError(f"refusing dtype {dtype}")
        shape = tuple(int(s) for s in obj["shape"])
        return np.frombuffer(base64.b64decode(obj["data"]), dtype=dtype).reshape(shape).copy()
    if "scalar" in obj:
        return decode(obj["scalar"])[()]
    if "plain" in obj:
        value = obj["plain"]
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"refusing {type(value).__name__}")
        return value
    if "tuple" in obj:
        return tuple(decode(v) for v in obj["tuple"])
    if "list" in obj:
        return [decode(v) for v in obj["list"]]
    if "unsupported" in obj:
        return _stand_in(obj["unsupported"])
    raise ValueError(f"malformed result {str(obj)[:80]}")


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Call the pickled function on every case; return the outcomes (the runner's job)."""
    import cloudpickle  # only the runner needs it; the grader never unpickles

    try:
        fn = cloudpickle.loads(base64.b64decode(request["fn"]))
    except Exception as exc:
        return {"load_error": f"{type(exc).__name__}: {exc}"[:500]}
    # The exercise's floating-point policy is applied here, in the runner, so that no
    # wrapper made in the student's kernel is needed (and none can be tampered with).
    errstate = {}
    if request.get("float_errors") == "raise":
        errstate = {"over": "raise", "invalid": "raise", "divide": "raise"}
    outcomes = []
    for case in request["cases"]:
        args = decode(case)
        # The student's prints are not part of the answer; keep them out of the way.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                with np.errstate(**errstate):
                    outcome = {"value": encode(fn(*args))}
            except Exception as exc:
                outcome = {"error": type(exc).__name__, "message": str(exc)[:500]}
        outcomes.append(outcome)
    return {"outcomes": outcomes}


if __name__ == "__main__":
    result_path = sys.argv[1]
    result = run(json.load(sys.stdin))
    with open(result_path, "w") as f:
        json.dump(result, f)
