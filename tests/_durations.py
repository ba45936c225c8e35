"""A table of the time each test file took, printed at the end of a run (CI's log keeps it).

The conftest files of ``tests/``, ``tests/browser/`` and ``tests/downloads/`` take these hooks,
so every nox session that runs pytest shows where its time goes; with pytest-xdist the reports
reach the controller, which sums them (the sum of the workers' time, not the wall clock).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

_SECONDS: dict[str, float] = defaultdict(float)
_COUNT: dict[str, int] = defaultdict(int)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    module = report.nodeid.split("::")[0]
    _SECONDS[module] += report.duration
    if report.when == "call" or (report.when == "setup" and report.skipped):
        _COUNT[module] += 1


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    write_table(terminalreporter, config)


def write_table(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not _SECONDS:
        return
    terminalreporter.section("seconds per test file (setup + call + teardown)")
    for module, seconds in sorted(_SECONDS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {_COUNT[module]:5d} tests  {module}")
