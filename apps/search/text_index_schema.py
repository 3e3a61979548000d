"""The database side of the text index: SQLite's FTS5 table and its triggers, PostgreSQL's GIN index.

:func:`ensure_text_index` is idempotent. The migration calls it, and so does every ``migrate`` afterwards
(``post_migrate``, apps.py): on SQLite a later migration that alters media_textspan rebuilds that table,
which drops its triggers; the FTS5 table is then rebuilt from the rows and the triggers made again.
"""
from __future__ import annotations

from .text_index import FTS_TABLE, PG_INDEX

_TRIGGERS = {
    "search_textspan_ai": f"""CREATE TRIGGER search_textspan_ai AFTER INSERT ON media_textspan BEGIN
        INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (new.id, new.terms); END""",
    "search_textspan_ad": f"""CREATE TRIGGER search_textspan_ad AFTER DELETE ON media_textspan BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, terms) VALUES ('delete', old.id, old.terms); END""",
    "search_textspan_au": f"""CREATE TRIGGER search_textspan_au AFTER UPDATE ON media_textspan BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, terms) VALUES ('delete', old.id, old.terms);
        INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (new.id, new.terms); END""",
}


def ensure_text_index(connection) -> None:
    """Create what the database's full-text search needs, where missing (nothing on other databases)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
            present = {row[0] for row in cursor.fetchall()}
            if "media_textspan" not in present:
                return
            # Terms are stems already: the tokenizer only splits on spaces (diacritics kept: й is not и).
            cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(terms, content='media_textspan', "
                           "content_rowid='id', tokenize='unicode61 remove_diacritics 0')")
            missing = [name for name in _TRIGGERS if name not in present]
            for name in missing:
                cursor.execute(_TRIGGERS[name])
            if missing:
                cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        elif connection.vendor == "postgresql":
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON media_textspan "
                           "USING GIN (to_tsvector('simple'::regconfig, terms))")


def drop_text_index(connection) -> None:
    """Undo :func:`ensure_text_index` (the migration's reverse)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in _TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
