"""The skips a CI run allows. With ``CI`` set (``.ci/run`` sets it), any other skipped test fails the run
(``SkipGuard``, registered by tests/conftest.py), so a CI that lost a tool or ../shared/media does not stay
green on "N skipped". Off CI skips are only listed with their reasons (``-ra`` in pyproject.toml).

Deliberately empty: every test runs in CI. An entry names a test node id, or a prefix of one (a file, a
class), and says why that test may skip in CI, e.g. ``"tests/integration/test_x.py::test_on_gpu": "needs
a CUDA device; CI has none"``. The PostgreSQL pass (``--postgres``) does not skip the tests that use no
database: it deselects them (tests/conftest.py), so they need no entry here.
"""
from __future__ import annotations

ALLOWED_IN_CI: dict[str, str] = {}


def allowed(nodeid: str) -> str | None:
    """Why ``nodeid`` may skip in CI, or None when it may not."""
    for prefix, why in ALLOWED_IN_CI.items():
        if nodeid == prefix or nodeid.startswith((prefix + "::", prefix + "[", prefix.rstrip("/") + "/")):
            return why
    return None


class SkipGuard:
    """A pytest plugin for CI runs: collects the skips not in ALLOWED_IN_CI, lists them at the end and makes
    the run fail (exit status 1) even when every test that ran passed."""

    def __init__(self) -> None:
        self.unexpected: list[tuple[str, str]] = []

    def _record(self, report) -> None:
        if not report.skipped or hasattr(report, "wasxfail") or allowed(report.nodeid) is not None:
            return
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        self.unexpected.append((report.nodeid, reason.removeprefix("Skipped: ")))

    def pytest_runtest_logreport(self, report) -> None:
        self._record(report)

    def pytest_collectreport(self, report) -> None:  # a whole module skipped at import
        self._record(report)

    def pytest_sessionfinish(self, session) -> None:
        import pytest

        if self.unexpected and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.unexpected:
            return
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", f"{len(self.unexpected)} skipped in CI, not allowed: the run fails", red=True)
        for nodeid, reason in self.unexpected:
            write(f"SKIPPED {nodeid}: {reason}")
        write("CI (CI set) runs every test: fix what the reason names, or allow the skip with a reason in "
              "tests/support/skips.py.")
