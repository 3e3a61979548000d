"""Find a collection by id or by name among those an actor may see, with one clear message when there is none."""
from __future__ import annotations

from django.utils.translation import gettext

from ..access import Actor, visible_collections
from ..models import Collection


class UnknownCollectionError(LookupError):
    pass


def resolve_collection(ref: str | int, actor: Actor) -> Collection:
    """Accept a primary key or a name. New names cannot be digits only (models.NOT_ONLY_DIGITS); a name
    of digits made before that rule still wins over the id it looks like. A collection ``actor`` may not
    see is unknown, and the message lists only names ``actor`` may see."""
    ref_str = str(ref).strip()
    visible = visible_collections(actor)
    # no name holds a NUL (names are validated), and PostgreSQL refuses to compare text that does
    found = visible.filter(name=ref_str).first() if "\x00" not in ref_str else None
    if found is None and ref_str.isascii() and ref_str.isdigit() and int(ref_str) < 2**63:  # "³4": isdigit, not int
        found = visible.filter(pk=int(ref_str)).first()
    if found is None:
        names = ", ".join(visible.order_by("name").values_list("name", flat=True)[:20]) or gettext("none yet")
        raise UnknownCollectionError(gettext("unknown collection '%(ref)s' (existing: %(names)s)")
                                     % {"ref": ref_str[:200], "names": names})
    return found
