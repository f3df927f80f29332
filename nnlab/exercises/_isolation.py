"""Grading that a student's notebook cannot tamper with.

A graded notebook runs the student's code and the hidden tests in the same kernel, so
anything the kernel computes can have been monkeypatched by an earlier cell: the check
functions, ``np.allclose``, builtins. The hidden tests therefore never judge inside the
kernel. They ship the student's function, by value (cloudpickle), to processes that
start clean:

* the **runner** (``_wire.py``) unpickles the function, calls it on each case and sends
  back plain numbers; it is the only process that ever executes the student's code;
* the **judge** draws the cases, computes the references with nnlab, decodes the
  runner's numbers and compares them; it never executes student code, so nothing the
  student wrote can reach the comparison.

:func:`grade` is what a hidden test cell calls. Run by nbgrader with this course's
configuration (``nbgrader_config.py``), it only hands the function over; the judge then
runs in nbgrader's own process, after the kernel has finished
(:mod:`nnlab.exercises.nbgrader_plugin`), so even a kernel whose ``subprocess`` module
has been replaced cannot fake a pass. Run anywhere else (the book's own tests, a
student's machine), it starts the judge as a subprocess (``python -I -m
nnlab.exercises._isolation ID``) and raises AssertionError with its verdict.

The graded cases are drawn from a seed the judge draws when it grades
(:func:`draw_seed`, from the operating system's randomness), never the fixed seed of the
cases ``check`` shows: the kernel cannot know them, and a function that replays answers
recorded while ``check`` ran gets them wrong. The seed is printed with the verdict (it
lands in the autograded notebook and the feedback), and ``grade(ID, fn, seed=SEED)`` or
``nbgrader autograde --JudgeHiddenTests.seed=SEED`` grades on the same cases again.

The runner imports nothing but numpy, cloudpickle and the standard library, and applies
the numpy-only policy (:mod:`nnlab.exercises._wire`): a function that reaches nnlab,
torch, jax, tensorflow, scipy, scikit-learn or autograd scores zero, with a message
that names what it used.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnlab.exercises import _wire
from nnlab.exercises._core import Exercise, Outcome

__all__ = ["grade", "get_exercise", "isolated_verdict", "draw_seed", "seed_line", "SUBMISSION_ENV"]

#: Set by the nbgrader plugin: the directory where :func:`grade` leaves each function.
SUBMISSION_ENV = "NNLAB_SUBMISSION_DIR"
DEFAULT_TIMEOUT = 30.0
_MAX_RESULT_BYTES = 64 * 2**20


def get_exercise(exercise_id: str) -> Exercise:
    """The exercise named 'ch01.linear_forward' (module ``nnlab.exercises.ch01``)."""
    chapter, _, name = str(exercise_id).partition(".")
    if not (chapter.startswith("ch") and chapter[2:].isdigit() and name.isidentifier()):
        raise ValueError(f"grade expected an exercise id like 'ch01.linear_forward'; got {exercise_id!r}")
    module = importlib.import_module(f"nnlab.exercises.{chapter}")
    exercise = getattr(module, name, None)
    if not isinstance(exercise, Exercise):
        raise ValueError(f"nnlab.exercises.{chapter} has no exercise named {name!r}")
    return exercise


def draw_seed() -> int:
    """A grading seed nobody can know in advance (the operating system's randomness)."""
    return secrets.randbits(32)


def seed_line(exercise: Exercise, seed: int) -> str:
    """Where the graded cases came from, and how to grade on them again."""
    return (f"(graded on cases drawn with seed {seed}; to reproduce: "
            f"nnlab.exercises.grade({exercise.id!r}, {exercise.name}, seed={seed}))")


def _wrap_spec(exercise: Exercise) -> str | None:
    if exercise.wrap is None:
        return None
    return f"{exercise.wrap.__module__}:{exercise.wrap.__name__}"


def _run_isolated(
    payload: bytes, cases: list[Any], timeout: float, exercise: Exercise
) -> list[Outcome] | str:
    """Outcomes of the pickled function on ``cases`` from a runner process, or what went wrong."""
    request = json.dumps({"fn": base64.b64encode(payload).decode("ascii"),
                          "cases": [_wire.encode(c.args) for c in cases],
                          "float_errors": exercise.float_errors,
                          "wrap": _wrap_spec(exercise), "allowed": list(exercise.allowed)})
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop(SUBMISSION_ENV, None)
    with tempfile.TemporaryDirectory(prefix="nnlab-runner-") as tmp:
        result_path = Path(tmp) / "result.json"
        try:
            proc = subprocess.run(
                [sys.executable, "-I", _wire.__file__, str(result_path)],
                input=request.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                timeout=timeout, cwd=tmp, env=env,
            )
        except subprocess.TimeoutExpired:
            return (f"did not finish within {timeout:g} s on inputs of this size "
                    "(is there an infinite loop?)")
        if proc.returncode != 0 or not result_path.exists():
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            return (f"stopped the Python process that ran it (exit code {proc.returncode})"
                    + (": " + " | ".join(tail) if tail else ""))
        if result_path.stat().st_size > _MAX_RESULT_BYTES:
            return "returned more than 64 MB of data"
        try:
            result = json.loads(result_path.read_text())
            if "load_error" in result:
                return f"could not be loaded by the grader ({result['load_error']})"
            if "forbidden" in result:
                return [Outcome(error_type=_wire.FORBIDDEN_ERROR, error_message=str(result["forbidden"]))
                        ] * len(cases)
            outcomes = [
                Outcome(error_type=str(o["error"]), error_message=str(o.get("message", "")))
                if "error" in o else Outcome(value=_wire.decode(o["value"]))
                for o in result["outcomes"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            return f"returned something the grader cannot read ({exc})"
    if len(outcomes) != len(cases):
        return "returned a malformed set of results"
    return outcomes


def isolated_verdict(exercise: Exercise, payload: bytes, timeout: float = DEFAULT_TIMEOUT,
                     seed: int | None = None) -> tuple[str | None, int]:
    """(None if the pickled function passes ``exercise``, else the message; the grading seed).

    The cases are drawn from ``seed``, or from a fresh seed nobody knew in advance. The
    function runs only in a runner process; the comparison runs here.
    """
    seed = draw_seed() if seed is None else int(seed)
    cases = exercise.cases(seed)
    outcomes = _run_isolated(payload, cases, timeout, exercise)
    if isinstance(outcomes, str):
        verdict: str | None = f"{exercise.name}: your function {outcomes}.\n  {exercise.reread()}"
    else:
        verdict = exercise.verdict(cases, outcomes)
    return (f"{verdict}\n  {seed_line(exercise, seed)}" if verdict else None), seed


def passed_line(exercise: Exercise, seed: int | None = None) -> str:
    """The ✓ line; with ``seed``, also where the cases came from (what nbgrader records)."""
    line = f"✓ {exercise.name}: passed the hidden tests ({len(exercise.cases())} cases, run in a separate process)"
    return f"{line} {seed_line(exercise, seed)}" if seed is not None else line


def grade(exercise_id: str, answer: Callable[..., Any], *, timeout: float = DEFAULT_TIMEOUT,
          seed: int | None = None) -> None:
    """The hidden test of one graded exercise: judge ``answer`` away from the notebook.

    ``seed`` reproduces an earlier grade (the verdict prints its seed); by default the
    judge draws a new one, so the graded cases differ from those ``check`` shows.

    Raises
    ------
    AssertionError
        With the same message ``check`` gives, if ``answer`` is wrong.
    """
    exercise = get_exercise(exercise_id)
    try:
        import cloudpickle

        payload = cloudpickle.dumps(answer)
    except Exception as exc:
        raise AssertionError(
            f"{exercise.name}: your answer could not be sent to the grader "
            f"({type(exc).__name__}: {exc}). Define it as a plain function in the notebook."
        ) from None
    directory = os.environ.get(SUBMISSION_ENV)
    if directory:
        (Path(directory) / f"{exercise.id}.pkl").write_bytes(payload)
        print(f"{exercise.name}: handed to the grader, which checks it outside this notebook.")
        return
    command = [sys.executable, "-I", "-m", "nnlab.exercises._isolation", exercise.id, str(timeout)]
    if seed is not None:
        command.append(str(int(seed)))
    try:
        proc = subprocess.run(command, input=payload, capture_output=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{exercise.name}: the grader did not finish within {timeout + 30:g} s") from None
    report = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0:
        raise AssertionError(report or proc.stderr.decode(errors="replace")[-2000:])
    print(report)


def _judge_main(argv: list[str]) -> int:
    """``python -I -m nnlab.exercises._isolation ID [TIMEOUT [SEED]] < pickle``: print the verdict; 0 if passed."""
    exercise = get_exercise(argv[0])
    timeout = float(argv[1]) if len(argv) > 1 else DEFAULT_TIMEOUT
    seed = int(argv[2]) if len(argv) > 2 else None
    verdict, seed = isolated_verdict(exercise, sys.stdin.buffer.read(), timeout, seed)
    if verdict:
        print(verdict)
        return 1
    # A pass prints the same line on every run (the book stores it); nbgrader's judge adds
    # the seed (nbgrader_plugin.JudgeHiddenTests), and a failure always names it.
    print(passed_line(exercise))
    return 0


if __name__ == "__main__":
    sys.exit(_judge_main(sys.argv[1:]))
