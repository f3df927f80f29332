"""Only the student's own numpy code earns points, on cases nobody knew in advance.

Both ways: every route to nnlab, torch, scipy, ... (an import, a global, a closure, a
helper, a default argument, ``sys.modules``, ``builtins.__import__``, ``importlib``,
``__builtins__``, a name built at run time) is refused by ``check()`` in this process AND by
the isolated grader, with a message naming what was used; and honest solutions written
differently from the reference (einsum, float32 intermediates, in-place operations,
explicit loops, helper functions, ``math``, ``functools``) pass both. Then the grading
seed: graded cases differ from those ``check()`` shows, the seed is printed, a grade is
reproduced from it, and a function replaying answers recorded during ``check()`` fails.
"""

from __future__ import annotations

import functools
import math
import re
import sys

import numpy as np
import pytest
from exercise_support import CHAPTERS, reference_solutions
from student_bugs import catalogue, compile_bug

import nnlab
import nnlab.exercises as exercises
from nnlab.exercises import ch01, ch02, ch04, ch05
from nnlab.exercises._core import Outcome, same
from nnlab.exercises._wire import ImportGuard, forbidden_use

NUMPY_ONLY = r"graded functions use numpy only"


# --- routes around "numpy only", each a function for ch02.stable_sigmoid ------------------

def _route_import_inside():
    def stable_sigmoid(z):
        import nnlab.activations

        return nnlab.activations.sigmoid(z)
    return stable_sigmoid, r"nnlab"


def _route_module_global():
    namespace = {"sig": nnlab.activations.sigmoid}
    exec("def stable_sigmoid(z):\n    return sig(z)\n", namespace)
    return namespace["stable_sigmoid"], r"nnlab\.activations\.sigmoid \(the global `sig`\)"


def _route_module_attribute_chain():
    namespace = {"nnlab": nnlab}
    exec("def stable_sigmoid(z):\n    return nnlab.activations.sigmoid(z)\n", namespace)
    return namespace["stable_sigmoid"], r"nnlab\.activations\.sigmoid \(the global `nnlab\.activations\.sigmoid`\)"


def _route_closure():
    f = nnlab.activations.sigmoid

    def stable_sigmoid(z):
        return f(z)
    return stable_sigmoid, r"nnlab\.activations\.sigmoid \(the closure variable `f`\)"


def _route_helper_function():
    torch = pytest.importorskip("torch")

    def helper(z):
        return torch.sigmoid(torch.from_numpy(z)).numpy()

    def stable_sigmoid(z):
        return helper(z)
    return stable_sigmoid, r"torch"


def _route_default_argument():
    def stable_sigmoid(z, layer=nnlab.Sigmoid()):
        return layer(z)
    return stable_sigmoid, r"nnlab\.activations\.Sigmoid \(a default argument of stable_sigmoid\)"


def _route_sys_modules():
    def stable_sigmoid(z):
        import sys

        return sys.modules["nnlab.activations"].sigmoid(z)
    return stable_sigmoid, r"nnlab\.activations|sys\.modules"


def _route_builtins_import():
    def stable_sigmoid(z):
        import builtins

        return builtins.__import__("nnlab.activations", fromlist=["sigmoid"]).sigmoid(z)
    return stable_sigmoid, r"builtins|__import__|nnlab"


def _route_importlib():
    def stable_sigmoid(z):
        import importlib

        return importlib.import_module("scipy.special").expit(z)
    return stable_sigmoid, r"importlib|scipy"


def _route_dunder_builtins():
    def stable_sigmoid(z):
        return __builtins__["__import__"]("torch").sigmoid(z)
    return stable_sigmoid, r"__builtins__|torch"


def _route_name_built_at_run_time():
    # Nothing for a reader of the code to see: the name is assembled while it runs, and the
    # import function is fetched with getattr. The import guard catches it as it happens.
    def stable_sigmoid(z):
        table = getattr(np, "_" + "_builtins_" + "_")
        load = table["_" + "_import_" + "_"]
        module = load("".join(["nn", "lab"]))
        return module.sigmoid(z)
    return stable_sigmoid, r"nnlab \(imported while it ran\)|nnlab \(your function refers to it\)"


def _route_scipy_global():
    special = pytest.importorskip("scipy.special")
    namespace = {"expit": special.expit}
    exec("def stable_sigmoid(z):\n    return expit(z)\n", namespace)
    return namespace["stable_sigmoid"], r"scipy\.special\.expit|scipy"


ROUTES = {f.__name__[len("_route_"):]: f for f in (
    _route_import_inside, _route_module_global, _route_module_attribute_chain, _route_closure,
    _route_helper_function, _route_default_argument, _route_sys_modules, _route_builtins_import,
    _route_importlib, _route_dunder_builtins, _route_name_built_at_run_time, _route_scipy_global)}


@pytest.mark.parametrize("route", ROUTES)
def test_check_refuses_every_route_to_a_forbidden_package(route):
    fn, named = ROUTES[route]()
    with pytest.raises(AssertionError) as info:
        ch02.stable_sigmoid.check(fn)
    message = str(info.value)
    assert re.search(NUMPY_ONLY, message) and re.search(named, message), message
    assert message.startswith("stable_sigmoid: your function uses ")
    # The kernel's own modules are back after the check (nothing was lost on the way).
    assert "nnlab.activations" in sys.modules


@pytest.mark.parametrize("route", ROUTES)
def test_the_isolated_grader_refuses_every_route_too(route):
    # The runner names what it refused to load ("nnlab.activations (your function refers to
    # it)") or what the static reading found, as check() does.
    fn, _ = ROUTES[route]()
    with pytest.raises(AssertionError) as info:
        exercises.grade("ch02.stable_sigmoid", fn)
    message = str(info.value)
    assert re.search(NUMPY_ONLY, message), message
    assert re.search(r"your function uses (nnlab|torch|scipy|sys\.modules|builtins|importlib|__builtins__)",
                     message), message


def test_delegating_to_the_course_s_own_backward_scores_zero():
    # The first finding: nnlab.Linear.backward earned full marks.
    def linear_backward(X, W, G):
        layer = nnlab.Linear(W.shape[1], W.shape[0])
        layer.weight.value[...] = W
        layer(X)
        dX = layer.backward(G)
        return dX, layer.weight.grad, layer.bias.grad

    for judge in (ch04.linear_backward.check, lambda fn: exercises.grade("ch04.linear_backward", fn)):
        with pytest.raises(AssertionError, match=r"uses nnlab.*numpy only"):
            judge(linear_backward)


def test_torch_autograd_scores_zero():
    torch = pytest.importorskip("torch")

    def linear_backward(X, W, G):
        Xt = torch.tensor(X, requires_grad=True)
        Wt = torch.tensor(W, requires_grad=True)
        bt = torch.zeros(W.shape[0], dtype=torch.float64, requires_grad=True)
        (Xt @ Wt.T + bt).backward(torch.tensor(G))
        return Xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()

    for judge in (ch04.linear_backward.check, lambda fn: exercises.grade("ch04.linear_backward", fn)):
        with pytest.raises(AssertionError, match=r"uses torch.*numpy only"):
            judge(linear_backward)


def test_the_training_loop_may_use_what_it_is_given_but_not_nnlab_fit():
    # ch05.train receives an nnlab model, loss and optimizer and may use nnlab.data.batches
    # (Exercise.allowed); calling nnlab.fit, which IS the answer, scores zero.
    reference = reference_solutions("ch05")["train"]
    ch05.train.check(reference)

    namespace = {"nnlab": nnlab}
    exec("def train(model, loss_fn, optimizer, X, y, X_val, y_val, epochs, batch_size, patience, rng):\n"
         "    h = nnlab.fit(model, loss_fn, optimizer, X, y, epochs=epochs, batch_size=batch_size,\n"
         "                  X_val=X_val, y_val=y_val, rng=rng, patience=patience, progress=False)\n"
         "    return h.val_loss, h.best_epoch\n", namespace)
    with pytest.raises(AssertionError, match=r"uses nnlab\.train\.fit .*numpy only"):
        ch05.train.check(namespace["train"])
    with pytest.raises(AssertionError, match=r"uses nnlab\.train\.fit .*numpy only"):
        exercises.grade("ch05.train", namespace["train"])


# --- honest solutions written differently from the reference ------------------------------

def _honest_variants():
    """Defined in a function, as in a notebook, so that they travel to the grader by value."""

    def _outer_sum(A, B):
        """A student's helper: sum over the batch of the outer products a_n b_n^T."""
        out = np.zeros((A.shape[1], B.shape[1]))
        for a, b in zip(A, B):
            out += np.outer(a, b)
        return out


    def _honest_einsum(X, W, G):
        return np.einsum("nk,ki->ni", G, W), np.einsum("nk,ni->ki", G, X), np.einsum("nk->k", G)


    def _honest_float32_and_in_place(X, W, G):
        ones = np.ones(len(G), dtype=np.float32)  # a float32 intermediate (exact: ones)
        dW = np.zeros_like(W)
        dW += G.T @ X
        dX = np.empty_like(X)
        np.matmul(G, W, out=dX)
        return dX, dW, ones @ G


    def _honest_loops_and_helper(X, W, G):
        dX = np.zeros_like(X)
        for n in range(X.shape[0]):
            for i in range(X.shape[1]):
                dX[n, i] = math.fsum(G[n, k] * W[k, i] for k in range(W.shape[0]))
        db = functools.reduce(np.add, list(G))
        return dX, _outer_sum(G, X), db

    return {"einsum": _honest_einsum, "float32 and in place": _honest_float32_and_in_place,
            "loops, a helper, math and functools": _honest_loops_and_helper}


HONEST = _honest_variants()


@pytest.mark.parametrize("variant", HONEST)
def test_honest_variants_pass_check_and_the_isolated_grader(variant, capsys):
    fn = HONEST[variant]
    ch04.linear_backward.check(fn)
    exercises.grade("ch04.linear_backward", fn)
    assert capsys.readouterr().out.count("✓ ") == 2


def test_numpy_and_the_standard_library_are_not_flagged():
    def stable_sigmoid(z):
        import collections
        import itertools

        _ = collections.Counter(itertools.chain([1], [2]))
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    assert forbidden_use(stable_sigmoid) is None
    ch02.stable_sigmoid.check(stable_sigmoid)


def test_the_import_guard_puts_the_kernel_s_modules_back():
    before = {name for name in sys.modules if name.startswith("nnlab")}
    with ImportGuard() as guard:
        assert "nnlab" not in sys.modules
        with pytest.raises(ImportError, match="numpy only"):
            __import__("nnlab")
    assert guard.forbidden.startswith("nnlab")
    assert before <= set(sys.modules)


# --- the grading seed ------------------------------------------------------------------

def test_graded_cases_differ_from_the_cases_check_shows_and_depend_on_the_seed():
    for module in CHAPTERS.values():
        for exercise in module.EXERCISES.values():
            shown = [c.describe() + repr([getattr(a, "sum", lambda: a)() for a in c.args])
                     for c in exercise.cases()]
            graded = [c.describe() + repr([getattr(a, "sum", lambda: a)() for a in c.args])
                      for c in exercise.cases(seed=1)]
            again = [c.describe() + repr([getattr(a, "sum", lambda: a)() for a in c.args])
                     for c in exercise.cases(seed=1)]
            assert graded == again, exercise.id
            if exercise.id not in {"ch05.train"}:  # its data are drawn, its settings fixed
                assert graded != shown, exercise.id


def test_the_seed_is_printed_and_reproduces_the_grade(capsys):
    # nbgrader's judge records the seed of a pass (the book's stored ✓ line stays the same
    # on every run); a failure names it wherever it is judged.
    from nnlab.exercises._isolation import passed_line

    line = passed_line(ch01.collapse_linear, 1234)
    seed = int(re.search(r"graded on cases drawn with seed (\d+); to reproduce: "
                         r"nnlab\.exercises\.grade\('ch01\.collapse_linear', collapse_linear, seed=\1\)",
                         line).group(1))
    assert seed == 1234

    def collapse_linear(W1, b1, W2, b2):  # wrong on one entry: the message names it
        W, b = W2 @ W1, W2 @ b1 + b2
        W[0, 0] += 1.0
        return W, b

    messages = []
    for _ in range(2):
        with pytest.raises(AssertionError) as info:
            exercises.grade("ch01.collapse_linear", collapse_linear, seed=seed)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and f"seed {seed}" in messages[0]
    # ...and the isolated verdict equals the verdict computed here on the same cases.
    cases = ch01.collapse_linear.cases(seed)
    here = ch01.collapse_linear.verdict(cases, ch01.collapse_linear.run(collapse_linear, cases))
    assert messages[0].startswith(here)


def test_a_function_replaying_answers_recorded_during_check_scores_zero():
    memo = {}

    def recorder(X, W, b):
        out = X @ W.T + b
        memo[X.tobytes()] = out
        return out

    ch01.linear_forward.check(recorder)
    assert len(memo) >= 4

    def linear_forward(X, W, b):
        # Returns what check() saw for this input; anything else gets a guess of the right shape.
        return memo.get(X.tobytes(), np.zeros((X.shape[0], W.shape[0])))

    ch01.linear_forward.check(linear_forward)  # check's cases are known: it passes there
    with pytest.raises(AssertionError, match=r"wrong values.*(\n.*)*graded on cases drawn with seed \d+"):
        exercises.grade("ch01.linear_forward", linear_forward)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_catalogued_bug_is_rejected_on_graded_cases_too(chapter):
    # The grader draws new cases: each typical mistake must fail on them as well (its
    # message may then name it differently; check()'s own cases test the wording).
    module = CHAPTERS[chapter]
    for name, bugs in catalogue(chapter).items():
        exercise = module.EXERCISES[name]
        right = reference_solutions(chapter)[name]
        for seed in (11, 12):
            cases = exercise.cases(seed)
            assert exercise.verdict(cases, exercise.run(right, cases)) is None, (name, seed)
            if name == "train" and seed == 12:
                continue  # the slowest exercise: one graded seed is enough
            for bug in bugs:
                with np.errstate(all="ignore"):
                    outcomes = exercise.run(compile_bug(bug, name), cases)
                assert exercise.verdict(cases, outcomes) is not None, (name, bug.name, seed)


def test_same_is_forgiving_of_malformed_answers():
    assert same(np.ones(2), np.ones(2)) and not same(np.ones(2), "x") and not same((1, 2), None)
    assert Outcome(error_type="X").raised
