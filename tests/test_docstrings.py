"""Every public function and method of nnlab has type hints and a docstring.

Students read nnlab as part of the course (STYLE.md): what a function takes, returns and
computes must be on the page. Public means listed in a module's ``__all__``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import nnlab
import nnlab.exercises
import nnlab.explore


def _public_modules() -> list[str]:
    names = ["nnlab"]
    for package in (nnlab, nnlab.explore, nnlab.exercises):
        names += [
            f"{package.__name__}.{m.name}"
            for m in pkgutil.iter_modules(package.__path__)
            if not m.name.startswith("_") and m.name != "nbgrader_plugin"
        ]
    return names


def _public_callables():
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if getattr(obj, "__module__", module_name) != module_name:
                continue  # re-exported: checked where it is defined
            if inspect.isfunction(obj):
                yield f"{module_name}.{name}", obj
            elif inspect.isclass(obj):
                yield f"{module_name}.{name}", obj
                for attr, value in vars(obj).items():
                    public = not attr.startswith("_") or attr == "__init__"
                    if public and inspect.isfunction(value) and value.__name__ != "<lambda>":
                        yield f"{module_name}.{name}.{attr}", value


CALLABLES = dict(_public_callables())


def test_the_walk_finds_the_package():
    assert len(CALLABLES) > 150
    assert "nnlab.layers.Linear.forward" in CALLABLES
    assert "nnlab.init.he_normal" in CALLABLES


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_has_a_docstring_and_type_hints(name):
    obj = CALLABLES[name]
    assert inspect.getdoc(obj), f"{name} has no docstring"
    if inspect.isclass(obj):
        return
    signature = inspect.signature(obj)
    missing = [p.name for p in signature.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    assert not missing, f"{name}: parameters without a type hint: {missing}"
    if obj.__name__ != "__init__":
        assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return type"
