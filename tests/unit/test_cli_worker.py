"""``stepline worker``: what it refuses before it starts (the running worker is covered by the
acceptance tests with real processes)."""

from __future__ import annotations

import pytest

from stepline.cli import main


def test_worker_refuses_an_in_memory_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--database", "memory://"]) == 2
    err = capsys.readouterr().err
    assert "memory:// is private to one process" in err and "--database" in err


@pytest.mark.parametrize(
    ("variable", "value"),
    [("STEPLINE_DRAIN_SECONDS", "-1"), ("STEPLINE_WORKER_CONCURRENCY", "0")],
)
def test_worker_refuses_bad_limits(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["worker", "--database", "sqlite:///never-opened.db"]) == 2
    err = capsys.readouterr().err
    assert variable in err and repr(value) in err


def test_worker_help_names_the_database_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--help"]) == 0
    assert "--database URL" in capsys.readouterr().out
