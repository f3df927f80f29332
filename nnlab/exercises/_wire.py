"""Run a student's function in a separate process and send back only data.

This file is both a module (the grader imports :func:`encode` and :func:`decode`) and
the script of the runner process (``python -I _wire.py RESULT_PATH``), which imports
neither nnlab nor anything of the grader: it unpickles the student's function, calls it
on each case and writes the outcomes as JSON. Arrays travel as raw bytes with a numeric
dtype, never as pickles, so whatever the student's code does inside the runner (patch
numpy, replace builtins, print, exit), the grader receives numbers and nothing else.

It also holds the **numpy-only policy** (only the student's own code earns points),
applied the same way by ``check()`` in the notebook and by the runner:

* :func:`forbidden_use` reads the function without running it: the modules it imports,
  the objects its globals, closure cells and default arguments hold (walking helper
  functions the student wrote, containers and bound methods), attribute chains such as
  ``nnlab.activations.sigmoid``, names of forbidden packages in its strings, and the
  introspection routes around an import (``__import__``, ``importlib``, ``sys.modules``,
  ``__builtins__``, ``__globals__``, ``gc``, ...);
* :class:`ImportGuard` is active while the function runs: an audit hook (which Python code
  cannot remove) refuses to load any module outside numpy and the standard library and
  records forbidden packages the function reached for, and ``sys.modules`` is scrubbed of
  them for the duration of the call. In the runner, nothing forbidden was ever imported,
  so a reference to nnlab pickled with the function fails to load and is named.
"""

from __future__ import annotations

import base64
import contextlib
import dis
import functools
import io
import json
import sys
import threading
import types
from typing import Any

import numpy as np

__all__ = ["encode", "decode", "run", "forbidden_use", "ImportGuard", "FORBIDDEN_PACKAGES",
           "FORBIDDEN_ERROR", "NUMPY_ONLY"]

#: Packages a graded function may not reach: the course's own implementations and the
#: libraries that compute gradients or the same functions (the list names what is caught;
#: any import outside numpy and the standard library is refused as well).
FORBIDDEN_PACKAGES = frozenset({
    "nnlab", "torch", "torchvision", "jax", "jaxlib", "flax", "tensorflow", "keras", "scipy",
    "sklearn", "autograd", "pandas", "cupy", "numba", "theano", "mxnet", "paddle", "sympy",
})
#: Standard-library modules that open a way around the policy: loading code by name,
#: reaching every live object, starting another Python.
_ESCAPE_MODULES = frozenset({"importlib", "builtins", "ctypes", "gc", "subprocess",
                             "multiprocessing", "runpy", "pkgutil", "zipimport", "code", "codeop"})
_ESCAPE_GLOBALS = frozenset({"__import__", "__builtins__", "exec", "eval", "globals", "vars",
                             "__loader__", "__spec__", "breakpoint"})
_ESCAPE_ATTRS = frozenset({"__import__", "__builtins__", "__globals__", "__subclasses__",
                           "__loader__", "__spec__", "f_globals", "f_builtins", "f_back", "f_locals",
                           "gi_frame", "cr_frame", "tb_frame", "import_module", "get_objects",
                           "get_referrers", "__reduce__", "__reduce_ex__"})
#: The error type a call that reached a forbidden package reports (runner and notebook alike).
FORBIDDEN_ERROR = "UsedForbiddenCode"
NUMPY_ONLY = "graded functions use numpy only (and Python's standard library)"


def _top(name: Any) -> str:
    return str(name).partition(".")[0]


def _import_allowed(name: str) -> bool:
    top = _top(name)
    return top == "numpy" or (top in sys.stdlib_module_names and top not in _ESCAPE_MODULES)


def _home(obj: Any) -> str:
    """The module an object comes from ('' if none can be told)."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        module = getattr(obj, "__module__", None)  # None for a function exec'd without __name__
    else:
        module = getattr(type(obj), "__module__", "")
    return module if isinstance(module, str) else ""


def _qualname(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if isinstance(obj, np.ufunc) and getattr(np, obj.__name__, None) is not obj:
        home = next((name for name, module in list(sys.modules.items())
                     if _top(name) in FORBIDDEN_PACKAGES and getattr(module, obj.__name__, None) is obj), None)
        return f"{home}.{obj.__name__}" if home else f"the ufunc {obj.__name__} (not numpy's)"
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{_home(obj)}.{name}"


def _is_forbidden(obj: Any, allowed: tuple[str, ...]) -> bool:
    if _qualname(obj) in allowed:
        return False
    if isinstance(obj, np.ufunc):  # scipy.special.expit is a ufunc too: numpy's own are in np
        return getattr(np, obj.__name__, None) is not obj
    if isinstance(obj, types.ModuleType):
        return _top(obj.__name__) in FORBIDDEN_PACKAGES or _top(obj.__name__) in _ESCAPE_MODULES
    return _top(_home(obj)) in FORBIDDEN_PACKAGES


def _is_student_code(obj: Any) -> bool:
    """A function or class the student wrote (not numpy's, not the standard library's)."""
    top = _top(_home(obj))
    return top != "numpy" and top not in sys.stdlib_module_names and top not in FORBIDDEN_PACKAGES


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _chains(code: types.CodeType):
    """(kind, name, attrs) for each name the code loads, with the attributes read from it."""
    chain: list[Any] | None = None
    for ins in dis.get_instructions(code):
        op = ins.opname
        if op in ("LOAD_ATTR", "LOAD_METHOD") and chain is not None:
            chain[2].append(ins.argval)
            continue
        if chain is not None:
            yield tuple(chain)
            chain = None
        if op in ("LOAD_GLOBAL", "LOAD_NAME"):
            chain = ["global", ins.argval, []]
        elif op in ("LOAD_DEREF", "LOAD_CLASSDEREF"):
            chain = ["deref", ins.argval, []]
        elif op == "IMPORT_NAME":
            yield ("import", ins.argval, [])
        elif op in ("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR", "IMPORT_FROM"):
            yield ("attr", ins.argval, [])
    if chain is not None:
        yield tuple(chain)


class _Walk:
    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        self.seen: set[int] = set()

    def value(self, obj: Any, where: str, depth: int = 0) -> str | None:
        if depth > 6 or id(obj) in self.seen:
            return None
        self.seen.add(id(obj))
        if isinstance(obj, (str, bytes, int, float, complex, bool, type(None), np.ndarray, np.generic)):
            return None
        if _is_forbidden(obj, self.allowed):
            return f"{_qualname(obj)} ({where})"
        if isinstance(obj, types.FunctionType):
            return self.function(obj, depth + 1) if _is_student_code(obj) else None
        if isinstance(obj, types.MethodType):
            return self.value(obj.__func__, where, depth + 1) or self.value(obj.__self__, where, depth + 1)
        if isinstance(obj, functools.partial):
            items = [obj.func, *obj.args, *obj.keywords.values()]
            return next((p for p in (self.value(v, where, depth + 1) for v in items) if p), None)
        if isinstance(obj, (list, tuple, set, frozenset)):
            return next((p for p in (self.value(v, where, depth + 1) for v in list(obj)[:1000]) if p), None)
        if isinstance(obj, dict):
            return next((p for p in (self.value(v, where, depth + 1) for v in list(obj.values())[:1000])
                         if p), None)
        if isinstance(obj, type):
            if _is_student_code(obj):
                for v in list(vars(obj).values()):
                    problem = self.value(v, f"class {obj.__qualname__}", depth + 1)
                    if problem:
                        return problem
            return None
        if isinstance(obj, types.ModuleType):
            return None
        if _is_student_code(type(obj)) and not isinstance(type(obj), type(types)):
            problem = self.value(type(obj), where, depth + 1)
            if problem:
                return problem
            attrs = getattr(obj, "__dict__", None)
            if isinstance(attrs, dict):
                return self.value(attrs, where, depth + 1)
        return None

    def chain(self, obj: Any, name: str, attrs: list[str], where: str, depth: int) -> str | None:
        # nnlab.data.batches: judge the object the attribute chain reaches, not the module.
        path = name
        for attr in attrs:
            if not isinstance(obj, types.ModuleType) or _qualname(obj) in self.allowed:
                break
            try:
                obj = getattr(obj, attr)
            except Exception:  # not there: the call will fail by itself
                return None
            path = f"{path}.{attr}"
        return self.value(obj, f"{where} `{path}`", depth)

    def function(self, fn: types.FunctionType, depth: int = 0) -> str | None:
        code = fn.__code__
        glb = getattr(fn, "__globals__", {}) or {}
        builtins_ns = glb.get("__builtins__", {})
        builtins_ns = builtins_ns if isinstance(builtins_ns, dict) else vars(builtins_ns)
        cells = dict(zip(code.co_freevars, [c.cell_contents if _filled(c) else None
                                            for c in (fn.__closure__ or ())]))
        for default in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values()):
            problem = self.value(default, f"a default argument of {fn.__name__}", depth)
            if problem:
                return problem
        for each in _code_objects(code):
            uses_sys = "sys" in each.co_names or "sys" in each.co_varnames
            for const in each.co_consts:
                if isinstance(const, str) and _top(const.strip()) in FORBIDDEN_PACKAGES \
                        and const.strip().replace(".", "").replace("_", "").isalnum():
                    return f"{const.strip()} (the string {const!r} in {fn.__name__})"
            for kind, name, attrs in _chains(each):
                if kind == "import":
                    if _top(name) in _ESCAPE_MODULES:
                        return f"{name} (import {name} in {fn.__name__})"
                    if not _import_allowed(name):
                        return f"{name} (import {name} in {fn.__name__})"
                elif kind == "attr":
                    if name in _ESCAPE_ATTRS or (name == "modules" and uses_sys):
                        what = "sys.modules" if name == "modules" else name
                        return f"{what} (in {fn.__name__})"
                elif kind == "global":
                    if name in _ESCAPE_GLOBALS and name not in glb:
                        return f"{name} (in {fn.__name__})"
                    if name in glb:
                        problem = self.chain(glb[name], name, list(attrs), f"the global", depth + 1)
                    elif name in builtins_ns:
                        problem = None
                    else:
                        continue
                    if problem:
                        return problem
                    if any(a in _ESCAPE_ATTRS for a in attrs) or ("modules" in attrs and name == "sys"):
                        return f"{name}.{'.'.join(attrs)} (in {fn.__name__})"
                elif kind == "deref" and name in cells:
                    problem = self.chain(cells[name], name, list(attrs), "the closure variable",
                                         depth + 1)
                    if problem:
                        return problem
        return None


def _thread_id() -> int:
    return threading.get_ident()


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def forbidden_use(fn: Any, allowed: tuple[str, ...] = ()) -> str | None:
    """What ``fn`` reaches outside numpy and the standard library, or None.

    ``allowed`` lists qualified names the exercise lets the student use (e.g.
    ``"nnlab.data.batches"``). The answer reads like "torch (the global `torch`)".
    """
    try:
        return _Walk(tuple(allowed)).value(fn, "the function itself")
    except RecursionError:
        return None


class ImportGuard:
    """While active, only numpy and the standard library can be imported.

    An audit hook (installed once per process; Python code cannot remove it) refuses to
    load any other module and records the forbidden packages that were asked for; the
    entries of those packages are taken out of ``sys.modules`` for the duration (and put
    back afterwards, in the notebook's kernel), so ``sys.modules["nnlab"]`` finds nothing.
    """

    _installed = False
    _active: list[tuple[int, list[str]]] = []

    def __init__(self, keep: tuple[str, ...] = (), scrub: bool = True) -> None:
        self.keep = tuple(keep)
        self.scrub = scrub
        self.used: list[str] = []
        self._saved: dict[str, Any] = {}

    @classmethod
    def _hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if not cls._active:
            return
        thread, used = cls._active[-1]
        if thread != _thread_id():  # another thread of the kernel (history, widgets): not ours
            return
        if event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                     "os.fork", "os.forkpty", "ctypes.dlopen"):
            used.append(f"another process or library ({event})")
            raise PermissionError(f"{event} is not available: {NUMPY_ONLY}")
        if event != "import":
            return
        name = str(args[0])
        if _import_allowed(name) or name in sys.modules:
            return
        if _top(name) in FORBIDDEN_PACKAGES or _top(name) in _ESCAPE_MODULES:
            used.append(name)
        raise ImportError(f"{name} is not available here: {NUMPY_ONLY}")

    def __enter__(self) -> ImportGuard:
        if not ImportGuard._installed:
            sys.addaudithook(ImportGuard._hook)
            ImportGuard._installed = True
        if self.scrub:
            for name in list(sys.modules):
                if _top(name) in FORBIDDEN_PACKAGES and not any(
                        name == k or name.startswith(k + ".") or k.startswith(name + ".") for k in self.keep):
                    self._saved[name] = sys.modules.pop(name)
        ImportGuard._active.append((_thread_id(), self.used))
        return self

    def __exit__(self, *exc: Any) -> None:
        ImportGuard._active.pop()
        for name, module in self._saved.items():
            sys.modules.setdefault(name, module)
        self._saved.clear()

    @property
    def forbidden(self) -> str | None:
        """What the call reached for, or None."""
        return f"{self.used[0]} (imported while it ran)" if self.used else None

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


def _wrapper(spec: str | None) -> Any:
    """The exercise's own wrapper ('nnlab.exercises.ch05:on_data'), imported before any student code."""
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    if not module_name.startswith("nnlab.exercises."):
        raise ValueError(f"refusing wrapper {spec!r}")
    import importlib

    return getattr(importlib.import_module(module_name), attr)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Call the pickled function on every case; return the outcomes (the runner's job).

    Nothing outside numpy and the standard library is imported before the student's
    function is loaded, unless the exercise passes nnlab objects to it (``wrap``); while it
    is loaded and while it runs, :class:`ImportGuard` refuses everything else.
    """
    import cloudpickle  # only the runner needs it; the grader never unpickles

    wrap = _wrapper(request.get("wrap"))
    allowed = tuple(request.get("allowed") or ())
    guard = ImportGuard(scrub=wrap is None)
    try:
        with guard:
            fn = cloudpickle.loads(base64.b64decode(request["fn"]))
    except Exception as exc:
        if guard.forbidden:
            return {"forbidden": f"{guard.used[0]} (your function refers to it)"}
        return {"load_error": f"{type(exc).__name__}: {exc}"[:500]}
    if guard.forbidden:
        return {"forbidden": f"{guard.used[0]} (your function refers to it)"}
    used = forbidden_use(fn, allowed)
    if used:
        return {"forbidden": used}
    call = wrap(fn) if wrap is not None else fn
    # The exercise's floating-point policy is applied here, in the runner, so that no
    # wrapper made in the student's kernel is needed (and none can be tampered with).
    errstate = {}
    if request.get("float_errors") == "raise":
        errstate = {"over": "raise", "invalid": "raise", "divide": "raise"}
    outcomes = []
    for case in request["cases"]:
        args = decode(case)
        # The student's prints are not part of the answer; keep them out of the way.
        guard = ImportGuard(scrub=wrap is None)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                with guard, np.errstate(**errstate):
                    outcome = {"value": encode(call(*args))}
            except Exception as exc:
                outcome = {"error": type(exc).__name__, "message": str(exc)[:500]}
        if guard.forbidden:
            outcome = {"error": FORBIDDEN_ERROR, "message": guard.forbidden}
        outcomes.append(outcome)
    return {"outcomes": outcomes}


if __name__ == "__main__":
    result_path = sys.argv[1]
    result = run(json.load(sys.stdin))
    with open(result_path, "w") as f:
        json.dump(result, f)
