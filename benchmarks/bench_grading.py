"""Grading a class: plain ``nbgrader autograde`` against ``scripts/grade_class.py --jobs N``.

Both grade the same submissions of one chapter in two fresh copies of one temporary
course: the submissions alternate between the reference solution and the untouched
release, so half earn full marks after running every hidden test and half fail every
exercise. Reported: submissions per second of each, and their ratio. The two gradebooks
must agree on every grade, or the run fails.

    python benchmarks/bench_grading.py                          # 100 submissions of chapter 8, 2 processes
    python benchmarks/bench_grading.py --students 20 --assignment 01_feedforward
    python benchmarks/bench_grading.py --quick                  # 4 submissions (a smoke test)
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _grade_class():
    spec = importlib.util.spec_from_file_location("grade_class", ROOT / "scripts" / "grade_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nbgrader(course: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def make_course(where: Path, assignment: str, students: int) -> Path:
    """A course with ``assignment`` released and ``students`` submissions handed in."""
    course = where / "course-template"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "book" / assignment, course / "book" / assignment)
    nbgrader(course, "generate_assignment", assignment)
    release = course / "course" / "release" / assignment / "graded.ipynb"
    source = ROOT / "book" / assignment / "graded.ipynb"
    for k in range(students):
        target = course / "course" / "submitted" / f"student{k:03d}" / assignment / "graded.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy(source if k % 2 == 0 else release, target)
    return course


def scores(course: Path, assignment: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'course' / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(assignment)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="08_normalization")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="4 submissions: a smoke test")
    args = parser.parse_args(argv)
    n = 4 if args.quick else args.students
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        template = make_course(Path(tmp), args.assignment, n)
        plain, parallel = Path(tmp) / "plain", Path(tmp) / "parallel"
        shutil.copytree(template, plain)
        shutil.copytree(template, parallel)

        start = time.perf_counter()
        nbgrader(plain, "autograde", args.assignment)
        t_plain = time.perf_counter() - start

        summary = _grade_class().grade_class(parallel, args.assignment, jobs=args.jobs, log=lambda _: None)
        t_parallel = summary["seconds"]

        a, b = scores(plain, args.assignment), scores(parallel, args.assignment)
        if a != b or len(a) != n:
            print(f"the two gradebooks disagree:\n plain    {a}\n parallel {b}")
            return 1
    print(f"{n} submissions of {args.assignment} (half reference, half untouched), grades identical")
    print(f"{'nbgrader autograde':<28} {n / t_plain:6.2f} submissions/s")
    print(f"{f'grade_class --jobs {args.jobs}':<28} {n / t_parallel:6.2f} submissions/s")
    print(f"ratio (grade_class / nbgrader autograde): {t_plain / t_parallel:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
