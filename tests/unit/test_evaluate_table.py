"""The evaluate command's table: nested keys joined with dots, lists of records numbered."""
from __future__ import annotations

from apps.search.management.commands.evaluate import format_table


def test_lists_of_records_are_numbered_and_plain_lists_stay_whole() -> None:
    table = format_table({"en": {"R1": 0.5}, "queries": [{"q": "a", "clips": [[0.0, 1.0]]}, {"q": "b"}]})
    rows = dict(line.split(None, 1) for line in table.splitlines())
    assert rows == {"en.R1": "0.5000", "queries.0.q": "a", "queries.0.clips": "[[0.0, 1.0]]", "queries.1.q": "b"}
