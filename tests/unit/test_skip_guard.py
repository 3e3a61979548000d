"""The CI skip guard (tests/support/skips.py): a skip not on the allow-list fails a CI run."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.support import skips
from tests.support.skips import SkipGuard


def report(nodeid: str, outcome: str = "skipped", **extra) -> SimpleNamespace:
    longrepr = ("tests/x.py", 3, "Skipped: no ffmpeg") if outcome == "skipped" else None
    return SimpleNamespace(nodeid=nodeid, skipped=outcome == "skipped", longrepr=longrepr, **extra)


def test_an_unlisted_skip_fails_the_run_and_is_listed(monkeypatch) -> None:
    monkeypatch.setattr(skips, "ALLOWED_IN_CI", {"tests/integration/test_gpu.py": "needs a GPU"})
    guard = SkipGuard()
    guard.pytest_runtest_logreport(report("tests/unit/test_a.py::test_passes", outcome="passed"))
    guard.pytest_runtest_logreport(report("tests/unit/test_a.py::test_xfails", wasxfail="known"))
    guard.pytest_runtest_logreport(report("tests/integration/test_gpu.py::test_on_cuda[1]"))
    assert guard.unexpected == []
    guard.pytest_runtest_logreport(report("tests/unit/test_a.py::test_skips"))
    guard.pytest_collectreport(report("tests/unit/test_b.py"))
    assert guard.unexpected == [("tests/unit/test_a.py::test_skips", "no ffmpeg"), ("tests/unit/test_b.py", "no ffmpeg")]

    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    guard.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    lines: list[str] = []
    terminal = SimpleNamespace(write_line=lines.append, write_sep=lambda sep, title, **kw: lines.append(title))
    guard.pytest_terminal_summary(terminal)
    assert "2 skipped in CI, not allowed" in lines[0] and "SKIPPED tests/unit/test_a.py::test_skips: no ffmpeg" in lines
    assert "tests/support/skips.py" in lines[-1]


def test_no_skip_leaves_the_exit_status_alone() -> None:
    guard = SkipGuard()
    session = SimpleNamespace(exitstatus=pytest.ExitCode.INTERRUPTED)
    guard.pytest_runtest_logreport(report("tests/unit/test_a.py::test_skips"))
    guard.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.INTERRUPTED  # a worse status stays
    clean = SkipGuard()
    session.exitstatus = pytest.ExitCode.OK
    clean.pytest_sessionfinish(session)
    assert session.exitstatus == pytest.ExitCode.OK


def test_allowed_matches_a_test_its_parameters_or_a_file(monkeypatch) -> None:
    monkeypatch.setattr(skips, "ALLOWED_IN_CI", {"tests/e2e/test_x.py::test_gpu": "GPU", "tests/gpu/": "GPU"})
    assert skips.allowed("tests/e2e/test_x.py::test_gpu") == "GPU"
    assert skips.allowed("tests/e2e/test_x.py::test_gpu[a]") == "GPU"
    assert skips.allowed("tests/gpu/test_y.py::test_z") == "GPU"
    assert skips.allowed("tests/e2e/test_x.py::test_gpu_other") is None
    assert skips.allowed("tests/e2e/test_x.py::test_cpu") is None
