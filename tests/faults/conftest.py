"""The fault suite: real processes killed and restarted, hostile bodies; one report row each.

Every test here is marked `faults` and repeats its fault FAULTS_COUNT times (2 by default,
so `make test` and CI stay short; `make faults` runs 20). A test takes a row from
`fault_row`, counts each repetition it survived and notes whatever an invariant lost
instead of stopping at the first one, then asserts that nothing was lost. At the end of
the session the rows are printed as a table; with FAULTS_REPORT=<path> (what `make faults`
sets) they are also written there as the figures of docs/reliability.md.

The knobs are not FLEET_* names: settings refuse FLEET_* variables they do not read.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

COUNT_VARIABLE = "FAULTS_COUNT"
REPORT_VARIABLE = "FAULTS_REPORT"
DEFAULT_COUNT = 2


def fault_count() -> int:
    value = os.environ.get(COUNT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_COUNT
    if not value.isdigit() or int(value) < 1:
        raise pytest.UsageError(f"{COUNT_VARIABLE}={value!r}: use a whole number >= 1")
    return int(value)


@dataclass
class FaultRow:
    """One row of the report: a fault, how often it was injected, what it cost."""

    fault: str
    count: int
    unit: str = "times"
    survived: int = 0
    lost: list[str] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    result: str = "not run"
    seconds: float = 0.0

    def lose(self, what: str) -> None:
        """Note a broken invariant; the test goes on and fails at the end."""
        self.lost.append(what)

    def check(self) -> None:
        """Fail the test with everything that was lost."""
        assert not self.lost, f"{self.fault}: lost {len(self.lost)}:\n" + "\n".join(self.lost)


_ROWS: list[FaultRow] = []
_ROWS_KEY = pytest.StashKey[list[FaultRow]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    # pytest-timeout's 300 s is for one test; a fault row repeats its fault FAULTS_COUNT times.
    timeout = pytest.mark.timeout(180 + 60 * fault_count())
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.faults)
            item.add_marker(timeout)


@pytest.fixture
def faults_count() -> int:
    """How many times each fault is injected (FAULTS_COUNT, default 2)."""
    return fault_count()


@pytest.fixture
def fault_row(request: pytest.FixtureRequest) -> Callable[..., FaultRow]:
    """make(fault, count, unit="times"): a report row for this test."""

    def make(fault: str, count: int, unit: str = "times") -> FaultRow:
        row = FaultRow(fault, count, unit)
        request.node.stash.setdefault(_ROWS_KEY, []).append(row)
        _ROWS.append(row)
        return row

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    rows = item.stash.get(_ROWS_KEY, [])
    report = outcome.get_result()
    if not rows or (report.when != "call" and report.passed):
        return
    for row in rows:
        if report.when == "call":
            row.seconds = call.duration
        if report.skipped:
            row.result = "skipped"
        elif report.failed:
            row.result = "FAILED" if report.when == "call" else f"ERROR ({report.when})"
            if not row.lost:
                row.lost.append(_first_line(report.longreprtext))
        elif report.when == "call":
            row.result = "passed"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("E ")]
    return (lines[0][2:].strip() if lines else text.strip().splitlines()[-1])[:300]


def _lost(row: FaultRow) -> str:
    if row.result in {"not run", "skipped"}:
        return "-"
    if not row.lost:
        return "nothing"
    more = f" (+{len(row.lost) - 3} more)" if len(row.lost) > 3 else ""
    return "; ".join(row.lost[:3]) + more


def _table(rows: list[FaultRow]) -> list[str]:
    lines = [
        "| fault | count | survived | result | lost | figures | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        figures = ", ".join(f"{name}: {value}" for name, value in row.figures.items()) or "-"
        cells = [
            row.fault,
            f"{row.count} {row.unit}",
            str(row.survived),
            row.result,
            _lost(row).replace("|", "\\|").replace("\n", " "),
            figures.replace("|", "\\|"),
            f"{row.seconds:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _machine() -> str:
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores{memory}, {system}"


def _date() -> str:
    try:
        return subprocess.run(["date", "-u"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())


REPORT_START = "<!-- fault-suite figures: written by `make faults` (tests/faults/conftest.py) -->"
REPORT_END = "<!-- end of fault-suite figures -->"


def _figures(rows: list[FaultRow]) -> str:
    count = fault_count()
    return "\n".join(
        [
            REPORT_START,
            "",
            *_table(rows),
            "",
            f"- Command: `make faults` (`FAULTS_COUNT={count} pytest tests/faults -m faults`)",
            f"- Date: {_date()}",
            f"- Machine: {_machine()}",
            "",
            REPORT_END,
        ]
    )


def write_report(path: Path, rows: list[FaultRow]) -> None:
    """Replace the figures between the markers of `path` (or append them), keep the prose."""
    text = path.read_text() if path.exists() else "# Reliability\n"
    block = _figures(rows)
    if REPORT_START in text and REPORT_END in text:
        head, rest = text.split(REPORT_START, 1)
        tail = rest.split(REPORT_END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _ROWS:
        return
    terminalreporter.section("fault suite")
    for line in _table(_ROWS):
        terminalreporter.write_line(line)
    target = os.environ.get(REPORT_VARIABLE, "").strip()
    if target:
        path = Path(target)
        write_report(path, _ROWS)
        terminalreporter.write_line(f"figures written to {path}")


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[Any]:
    """A private PostgreSQL cluster for the session (skipped without server binaries)."""
    from tests.faults.private import PrivatePostgres, postgres_bin

    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    cluster = PrivatePostgres(bindir)
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def fleet_database(private_postgres: Any) -> str:
    """The URL of a migrated FleetDeck database with an admin, in the private cluster."""
    from tests.faults.stack import prepare_database

    url: str = private_postgres.url()
    prepare_database({"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    return url
