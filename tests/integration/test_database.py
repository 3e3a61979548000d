"""The session runs on the database it was asked for (scripts/test.sh runs the integration tests on both)."""
from __future__ import annotations

import pytest
from django.db import connection

from apps.media.models import Collection
from tests.support import postgres

pytestmark = pytest.mark.django_db


def test_the_session_uses_the_database_it_was_asked_for(pytestconfig) -> None:
    expected = "postgresql" if postgres.wanted(pytestconfig.getoption("--postgres")) else "sqlite"
    assert connection.vendor == expected
    Collection.objects.create(name="db check")
    assert Collection.objects.filter(name="db check").exists()
