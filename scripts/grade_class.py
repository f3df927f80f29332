"""Autograde a whole class in parallel on one machine, with nbgrader's own API and gradebook.

nbgrader grades one submission after another (its request for parallel autograde,
jupyter/nbgrader#174, has been open since 2015). Each submission is independent, so this
script shards the class by student:

1. it copies the course's sqlite gradebook once per shard (the copy already knows the
   assignment, its notebooks and grade cells, which ``generate_assignment`` recorded);
2. each shard is a separate process that calls ``NbGraderAPI.autograde`` for each of
   its students, against its own copy: nbgrader's whole autograde pipeline, the course's
   ``nbgrader_config.py`` included (the isolated judge of nnlab's hidden tests too);
3. the shards' submissions, grades and comments are merged into the course's gradebook
   with nbgrader's ``Gradebook`` API, replacing earlier grades of the same submissions.

Each shard's log (nbgrader's and its kernels') goes to ``grade_class.shard-K.log`` beside
the gradebook. Autograded notebooks are written by nbgrader itself under
``autograded/<student>/``, so
``nbgrader generate_feedback`` and ``nbgrader export`` work afterwards as usual.

Run it from the course folder (the one with ``nbgrader_config.py``)::

    python scripts/grade_class.py 08_normalization --jobs 2
    python scripts/grade_class.py 08_normalization --jobs 2 --students alice bob

Across machines, the same idea scales out (book/instructors.md, "Grading a large class"):
each machine grades its share of the students into its own copy of the gradebook, with
``--shard K/M`` (students sorted by id, every M-th from the K-th) and ``--no-merge``, and
``--merge`` then folds the copies into the course gradebook.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def _load_config(course: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def _api(course: Path, db_url: str | None = None):
    """nbgrader's API for the course in ``course``, optionally on another gradebook."""
    from nbgrader.apps import NbGraderAPI

    config = _load_config(course)
    if db_url is not None:
        config.CourseDirectory.db_url = db_url
    return NbGraderAPI(config=config)


def _sqlite_path(db_url: str) -> Path:
    prefix = "sqlite:///"
    if not db_url.startswith(prefix):
        raise ValueError(f"grade_class shards a sqlite gradebook (db_url 'sqlite:///...'); got {db_url!r}")
    return Path(db_url[len(prefix):])


def submitted_students(api, assignment: str) -> list[str]:
    """Ids of the students with a submission of ``assignment``, sorted."""
    root = Path(api.coursedir.root) / api.coursedir.submitted_directory
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir())


def shard(students: list[str], jobs: int) -> list[list[str]]:
    """Deal the students round-robin into ``jobs`` non-empty shards."""
    shards = [students[k::jobs] for k in range(jobs)]
    return [s for s in shards if s]


# --------------------------------------------------------------------------------------
# A worker: one process, one gradebook copy, its students one after another.

def work(course: Path, assignment: str, db_url: str, students: list[str]) -> int:
    api = _api(course, db_url)
    failed = 0
    for student in students:
        start = time.perf_counter()
        result = api.autograde(assignment, student, force=True, create=True)
        seconds = time.perf_counter() - start
        failed += not result["success"]
        line = {"student": student, "success": result["success"], "seconds": round(seconds, 2)}
        if not result["success"]:
            line["error"] = (result.get("error") or result.get("log") or "")[-2000:]
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


# --------------------------------------------------------------------------------------
# Merging a shard's gradebook into the course's.

def merge(course_db_url: str, shard_db_url: str, assignment: str,
          students: list[str] | None = None) -> list[str]:
    """Copy the submissions of ``assignment`` in a shard's gradebook into the course's.

    ``students``: only theirs (the shard's own students; its copy of the gradebook also
    holds what the course had before). None: every submission in the shard. A submission
    already in the course's gradebook is overwritten, grade by grade (a regrade).
    Returns the students merged.
    """
    from nbgrader.api import Gradebook

    merged = []
    with Gradebook(shard_db_url) as source, Gradebook(course_db_url) as target:
        for submission in source.assignment_submissions(assignment):
            student = submission.student
            if students is not None and student.id not in students:
                continue
            target.update_or_create_student(
                student.id, first_name=student.first_name, last_name=student.last_name,
                email=student.email, lms_user_id=student.lms_user_id,
            )
            target.update_or_create_submission(
                assignment, student.id, timestamp=submission.timestamp, extension=submission.extension,
            )
            for notebook in submission.notebooks:
                copy = target.find_submission_notebook(notebook.name, assignment, student.id)
                copy.flagged = notebook.flagged
                for grade in notebook.grades:
                    into = target.find_grade(grade.name, notebook.name, assignment, student.id)
                    into.auto_score = grade.auto_score
                    into.manual_score = grade.manual_score
                    into.extra_credit = grade.extra_credit
                    into.needs_manual_grade = grade.needs_manual_grade
                for comment in notebook.comments:
                    into = target.find_comment(comment.name, notebook.name, assignment, student.id)
                    into.auto_comment = comment.auto_comment
                    into.manual_comment = comment.manual_comment
            target.db.commit()
            merged.append(student.id)
    return merged


# --------------------------------------------------------------------------------------
# The command.

def grade_class(course: Path, assignment: str, *, jobs: int, students: list[str] | None = None,
                merge_into_course: bool = True, log=print) -> dict:
    """Autograde ``students`` (default: every submission) of ``assignment`` in ``jobs`` processes.

    Returns a summary: students graded, failures, shard gradebooks, wall-clock seconds.
    """
    if jobs < 1:
        raise ValueError(f"grade_class expected jobs >= 1; got {jobs}")
    api = _api(course)
    course_db_url = api.coursedir.db_url
    course_db = _sqlite_path(course_db_url)
    if not course_db.is_file():
        raise FileNotFoundError(
            f"no gradebook at {course_db}: run `nbgrader generate_assignment {assignment}` first"
        )
    students = students if students is not None else submitted_students(api, assignment)
    if not students:
        raise ValueError(f"no submission of {assignment!r} under {api.coursedir.submitted_directory}/")
    start = time.perf_counter()
    workers = []
    for k, part in enumerate(shard(students, jobs)):
        shard_db = course_db.with_name(f"{course_db.stem}.shard-{k}{course_db.suffix}")
        shutil.copyfile(course_db, shard_db)
        shard_url = f"sqlite:///{shard_db}"
        command = [sys.executable, str(HERE), assignment, "--worker", shard_url, "--students", *part]
        # nbgrader's and the kernels' log of this shard, kept beside the gradebook.
        with open(course_db.with_name(f"grade_class.shard-{k}.log"), "w") as log_file:
            process = subprocess.Popen(command, cwd=course, stdout=subprocess.PIPE, stderr=log_file,
                                       text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        workers.append((shard_db, shard_url, part, process))
    results = []
    for _, _, _, process in workers:
        out, _ = process.communicate()
        results += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    failures = [r for r in results if not r["success"]]
    merged: list[str] = []
    if merge_into_course:
        for shard_db, shard_url, part, _ in workers:
            merged += merge(course_db_url, shard_url, assignment, part)
            shard_db.unlink()
    seconds = time.perf_counter() - start
    log(f"grade_class: {len(results)} submissions of {assignment} in {seconds:.1f} s with {len(workers)} "
        f"processes ({len(results) / seconds:.2f} per second); {len(failures)} failed")
    for failure in failures:
        log(f"  {failure['student']}: {failure.get('error', '')[-500:]}")
    return {"graded": [r["student"] for r in results], "failed": [r["student"] for r in failures],
            "merged": merged, "seconds": seconds,
            "shards": [] if merge_into_course else [str(w[0]) for w in workers]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="the assignment (a chapter folder, e.g. 08_normalization)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes (default: the number of CPUs)")
    parser.add_argument("--students", nargs="+", help="grade only these students (default: every submission)")
    parser.add_argument("--shard", help="K/M: grade only every M-th student from the K-th (0-based), "
                                        "for grading on several machines")
    parser.add_argument("--no-merge", action="store_true",
                        help="keep the shard gradebooks (gradebook.shard-*.db) instead of merging them")
    parser.add_argument("--merge", nargs="+", metavar="SHARD_DB",
                        help="only merge these shard gradebooks into the course's")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course folder (default: here)")
    parser.add_argument("--worker", metavar="DB_URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.worker:
        return work(course, args.assignment, args.worker, args.students)
    if args.merge:
        course_db_url = _api(course).coursedir.db_url
        for path in args.merge:
            merged = merge(course_db_url, f"sqlite:///{Path(path).resolve()}", args.assignment)
            print(f"merged {len(merged)} submissions from {path}")
        return 0
    students = args.students
    if args.shard:
        k, m = (int(x) for x in args.shard.split("/"))
        if not 0 <= k < m:
            parser.error(f"--shard expected K/M with 0 <= K < M; got {args.shard}")
        students = (students or submitted_students(_api(course), args.assignment))[k::m]
    summary = grade_class(course, args.assignment, jobs=args.jobs, students=students,
                          merge_into_course=not args.no_merge)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
