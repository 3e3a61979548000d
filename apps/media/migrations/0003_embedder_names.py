"""Collection.embedder now holds a model *name* from the operator's list (settings.EMBEDDERS), not a spec.

Existing rows are mapped with the list as configured when the migration runs:

- "" stays "" (the server default);
- a spec equal to a listed model's spec becomes that model's name, a name other than "default" first (it keeps
  pointing at the same model if VIDEOSEARCH_EMBEDDER changes later); a spec listed only as "default" becomes ""
  (the same model);
- anything else (a spec the operator has not listed, e.g. a client-supplied path) becomes "" (the default).
  Such a collection's index still says which model built it, so a search answers the model mismatch
  (409 / "rebuild") instead of mixing embedding spaces: list the model in VIDEOSEARCH_EMBEDDERS and choose it,
  or rebuild the index with the default. A warning names each such collection.

Backwards: a listed name becomes its spec again, "" and unlisted names become "" (the old server default).
"""
import logging

from django.conf import settings
from django.db import migrations, models

import apps.media.services.models_allowed

log = logging.getLogger(__name__)


def configured_models() -> dict[str, str]:
    """Name -> spec as configured now, "default" first (settings.EMBEDDER)."""
    listed = getattr(settings, "EMBEDDERS", {})
    return {"default": settings.EMBEDDER, **{name: spec for name, spec in listed.items() if name != "default"}}


def name_for_stored_spec(stored: str, configured: dict[str, str]) -> str:
    """The name a stored spec becomes (see the module docstring)."""
    if not stored:
        return ""
    named = [name for name, spec in configured.items() if spec == stored and name != "default"]
    return named[0] if named else ""


def spec_for_stored_name(stored: str, configured: dict[str, str]) -> str:
    """Backwards: the spec a stored name becomes ("" and "default" are the old blank)."""
    return "" if stored in ("", "default") else configured.get(stored, "")


def specs_to_names(apps, schema_editor) -> None:
    Collection = apps.get_model("media", "Collection")
    configured = configured_models()
    for collection in Collection.objects.exclude(embedder=""):
        name = name_for_stored_spec(collection.embedder, configured)
        if not name and collection.embedder != configured["default"]:
            log.warning("collection %r used an unlisted model; it now uses the default (rebuild its index, or list "
                        "the model in VIDEOSEARCH_EMBEDDERS and choose it)", collection.name)
        collection.embedder = name
        collection.save(update_fields=["embedder"])


def names_to_specs(apps, schema_editor) -> None:
    Collection = apps.get_model("media", "Collection")
    configured = configured_models()
    for collection in Collection.objects.exclude(embedder=""):
        collection.embedder = spec_for_stored_name(collection.embedder, configured)
        collection.save(update_fields=["embedder"])


class Migration(migrations.Migration):

    dependencies = [
        ('media', '0002_collection_name_not_digits'),
    ]

    operations = [
        migrations.RunPython(specs_to_names, names_to_specs),
        migrations.AlterField(
            model_name='collection',
            name='embedder',
            field=models.CharField(blank=True, help_text="Model name from the operator's list (settings.EMBEDDERS, `manage.py list_models`); blank uses the server default (VIDEOSEARCH_EMBEDDER).", max_length=300, validators=[apps.media.services.models_allowed.validate_model_name]),
        ),
    ]
