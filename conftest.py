"""Root pytest hooks: every notebook of the book must execute in under a minute.

nbval runs a notebook as one test per cell and bounds each cell (``--nbval-cell-timeout``),
but the course promises a bound per notebook: a reader on a 2-core laptop waits for the
whole notebook. This plugin adds up the time of each notebook's cells, prints the table,
and fails the session when a notebook takes longer than ``NOTEBOOK_LIMIT_S``.
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

# The limit can be lowered to see this check fail: NNLAB_NOTEBOOK_LIMIT_S=1 pytest book/...
NOTEBOOK_LIMIT_S = float(os.environ.get("NNLAB_NOTEBOOK_LIMIT_S", "60"))

_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration  # setup, call and teardown each report once


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _seconds:
        return
    terminalreporter.section("notebook execution times")
    for path, seconds in sorted(_seconds.items(), key=lambda item: -item[1]):
        flag = "  <-- over the limit" if seconds > NOTEBOOK_LIMIT_S else ""
        terminalreporter.write_line(f"{seconds:6.1f} s  {path}{flag}")
    if any(s > NOTEBOOK_LIMIT_S for s in _seconds.values()):
        terminalreporter.write_line(
            f"FAILED: a notebook took longer than {NOTEBOOK_LIMIT_S:.0f} s (the session fails)", red=True
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    slow = {path: s for path, s in _seconds.items() if s > NOTEBOOK_LIMIT_S}
    if slow and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
