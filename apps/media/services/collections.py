"""Find a collection by id or by name, with one clear message when there is none."""
from __future__ import annotations

from ..models import Collection


class UnknownCollectionError(LookupError):
    pass


def resolve_collection(ref: str | int) -> Collection:
    """Accept a primary key or a name. New names cannot be digits only (models.NOT_ONLY_DIGITS); a name
    of digits made before that rule still wins over the id it looks like."""
    ref_str = str(ref).strip()
    found = Collection.objects.filter(name=ref_str).first()
    if found is None and ref_str.isascii() and ref_str.isdigit():  # "³4" is digits to isdigit(), not to int()
        found = Collection.objects.filter(pk=int(ref_str)).first()
    if found is None:
        names = ", ".join(Collection.objects.order_by("name").values_list("name", flat=True)[:20]) or "none yet"
        raise UnknownCollectionError(f"unknown collection '{ref_str}' (existing: {names})")
    return found
