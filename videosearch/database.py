"""``DATABASES["default"]`` from a ``DATABASE_URL``: one place for the settings and for the tests, which
point the same code at a throwaway PostgreSQL cluster (tests/support/postgres.py)."""
from __future__ import annotations

from typing import Any

import dj_database_url


def database_settings(url: str, sqlite_test_name: str) -> dict[str, Any]:
    """Django settings for the database at ``url``.

    PostgreSQL keeps connections for a minute (a worker runs many short queries per task). SQLite needs
    care because workers and the web server write to one file: wait for the lock instead of failing, no
    persistent connections, and a test database in a file (``sqlite_test_name``), not in memory, so that
    Celery worker processes started by the tests see it.
    """
    db = dj_database_url.parse(url, conn_max_age=60)
    if db["ENGINE"].endswith("sqlite3"):
        db.setdefault("OPTIONS", {})["timeout"] = 30
        # Transactions take the write lock when they begin: a read-then-write transaction (a delete, the final
        # write of an ingest) then waits its turn instead of failing at once with "database is locked".
        db["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
        db["CONN_MAX_AGE"] = 0
        db["TEST"] = {"NAME": sqlite_test_name}
    return db
