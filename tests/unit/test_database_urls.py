"""The database URL handed to worker processes names the same database the test process uses."""
from __future__ import annotations

import pytest

from tests.support.postgres import subprocess_database_url
from videosearch.database import database_settings

KEYS = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")


@pytest.mark.parametrize("url", [
    "postgres://postgres@%2Ftmp%2Fvideosearch-pg-abc:5432/test_videosearch",
    "postgres://app:p%40ss%2Fw%3Ard@db.internal:6543/videosearch",
])
def test_postgres_settings_round_trip(url: str) -> None:
    db = database_settings(url, sqlite_test_name="unused")
    again = database_settings(subprocess_database_url(db), sqlite_test_name="unused")
    assert {k: again[k] for k in KEYS} == {k: db[k] for k in KEYS}
    assert db["CONN_MAX_AGE"] == 60 and "TEST" not in db


def test_sqlite_waits_for_the_lock_and_tests_in_a_file(tmp_path) -> None:
    db = database_settings(f"sqlite:///{tmp_path / 'db.sqlite3'}", sqlite_test_name=str(tmp_path / "test.sqlite3"))
    assert db["OPTIONS"]["timeout"] == 30 and db["CONN_MAX_AGE"] == 0
    assert db["TEST"] == {"NAME": str(tmp_path / "test.sqlite3")}
    test_db = {**db, "NAME": db["TEST"]["NAME"]}  # what the connection names once the test database exists
    assert database_settings(subprocess_database_url(test_db), "x")["NAME"] == str(tmp_path / "test.sqlite3")
