"""Save the test database as it is now and put it back later, on SQLite or PostgreSQL: for a test that
runs a server several times on the same seeded data (tests/integration/test_api_schema.py).

Every connection must be closed first (``connections.close_all()``): PostgreSQL copies a database only
while no one is connected to it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
from psycopg import sql

PRISTINE_SUFFIX = "_pristine"


def save(settings_dict: dict, folder: Path) -> None:
    """Keep a copy: a file in ``folder`` (SQLite) or a database named ``<name>_pristine`` (PostgreSQL)."""
    if _sqlite(settings_dict):
        shutil.copyfile(settings_dict["NAME"], folder / Path(settings_dict["NAME"]).name)
        return
    name = settings_dict["NAME"]
    _admin(settings_dict, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name + PRISTINE_SUFFIX)
    _admin(settings_dict, "CREATE DATABASE {} TEMPLATE {}", name + PRISTINE_SUFFIX, name)


def restore(settings_dict: dict, folder: Path) -> None:
    """Put the saved copy back under the database's own name."""
    if _sqlite(settings_dict):
        # in place: a connection opened later finds the same file
        shutil.copyfile(folder / Path(settings_dict["NAME"]).name, settings_dict["NAME"])
        return
    name = settings_dict["NAME"]
    _admin(settings_dict, "DROP DATABASE {} WITH (FORCE)", name)  # FORCE: a server a test stopped may linger
    _admin(settings_dict, "CREATE DATABASE {} TEMPLATE {}", name, name + PRISTINE_SUFFIX)


def discard(settings_dict: dict, folder: Path) -> None:
    """Remove the saved copy (the SQLite file goes with ``folder``)."""
    if not _sqlite(settings_dict):
        _admin(settings_dict, "DROP DATABASE IF EXISTS {} WITH (FORCE)", settings_dict["NAME"] + PRISTINE_SUFFIX)


def _sqlite(settings_dict: dict) -> bool:
    return settings_dict["ENGINE"].endswith("sqlite3")


def _admin(settings_dict: dict, statement: str, *names: str) -> None:
    """Run one CREATE/DROP DATABASE from the server's ``postgres`` database (outside any transaction)."""
    with psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"], user=settings_dict["USER"],
                         password=settings_dict.get("PASSWORD") or None, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(*(sql.Identifier(name) for name in names)))
