"""The full-text index of TextSpan terms: FTS5 on SQLite, a GIN tsvector index on PostgreSQL."""
from django.db import migrations


def forwards(apps, schema_editor):
    from apps.search.text_index_schema import ensure_text_index

    ensure_text_index(schema_editor.connection)


def backwards(apps, schema_editor):
    from apps.search.text_index_schema import drop_text_index

    drop_text_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("media", "0007_text_spans")]

    operations = [migrations.RunPython(forwards, backwards)]
