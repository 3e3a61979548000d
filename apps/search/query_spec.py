"""What a search looks for: weighted terms (texts, an example image, stored items), checked once.

Every entry point (API serializer, web page, CLI, demo) builds its query with :func:`build_query`,
so the rules on what may be combined live here and nowhere else; the search service receives a
:class:`QuerySpec` and trusts it. The terms' unit vectors are later summed with their weights and
renormalised (:func:`apps.search.query.embed_query`), which is how rclip combines its queries.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext
from PIL import Image

from .query_syntax import parse_query_text

#: More terms than this dilute each other until the sum means little, and each text costs an embedding.
MAX_TERMS = 8
#: Only ratios of weights matter; bounding them keeps one term from silently erasing the rest.
MAX_WEIGHT = 10.0
MIN_WEIGHT = 0.01
MAX_TEXT_CHARS = 1000
#: Database ids are 64-bit: a larger number can name nothing (and SQLite refuses to compare with it).
MAX_ITEM_ID = 2**63 - 1


class QueryError(ValueError):
    """A query that cannot be built; the message is meant for the user, ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TextTerm:
    text: str
    weight: float = 1.0


@dataclass(frozen=True, eq=False)
class ImageTerm:
    image: Image.Image
    weight: float = 1.0


@dataclass(frozen=True)
class KeyframeTerm:
    keyframe_id: int
    weight: float = 1.0


@dataclass(frozen=True)
class PhotoTerm:
    photo_id: int
    weight: float = 1.0


Term = TextTerm | ImageTerm | KeyframeTerm | PhotoTerm


def check_weight(value: object, what: str = "weight") -> float:
    """A usable weight as a float, or QueryError: a finite number with MIN_WEIGHT <= |value| <= MAX_WEIGHT."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise QueryError(f"{what} must be a number, got {value!r}")
    weight = float(value)
    if not math.isfinite(weight):
        raise QueryError(f"{what} must be a finite number, got {value!r}")
    if not MIN_WEIGHT <= abs(weight) <= MAX_WEIGHT:
        raise QueryError(
            f"{what} {value!r} is out of range: use {MIN_WEIGHT} to {MAX_WEIGHT:g}, or -{MAX_WEIGHT:g} to -{MIN_WEIGHT} "
            "to push results away from a term"
        )
    return weight


@dataclass(frozen=True)
class QuerySpec:
    """A validated query: 1..MAX_TERMS terms, usable weights, at least one term to look for."""

    terms: tuple[Term, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.terms:
            raise QueryError(gettext("give a query: text, image, like_keyframe, like_photo or a query list"))
        if len(self.terms) > MAX_TERMS:
            raise QueryError(gettext("too many terms: %(count)d, at most %(max)d") % {"count": len(self.terms), "max": MAX_TERMS})
        for term in self.terms:
            check_weight(term.weight)
            if isinstance(term, KeyframeTerm):
                check_item_id(term.keyframe_id, "like_keyframe")
            elif isinstance(term, PhotoTerm):
                check_item_id(term.photo_id, "like_photo")
        if all(term.weight < 0 for term in self.terms):
            raise QueryError(gettext("the query has only negative terms: add something to look for, e.g. 'red car -night'"))

    @property
    def kind(self) -> str:
        """"text", "image", "similar" (one stored item), or "combined" (terms of different kinds)."""
        kinds = {type(term) for term in self.terms}
        if kinds == {TextTerm}:
            return "text"
        if len(self.terms) == 1:
            return "image" if kinds == {ImageTerm} else "similar"
        return "combined"

    @property
    def texts(self) -> list[str]:
        return [term.text for term in self.terms if isinstance(term, TextTerm)]

    @property
    def example_image(self) -> Image.Image | None:
        """The example image the user looks for (positive weight): it may copy a moment of a video."""
        return next((t.image for t in self.terms if isinstance(t, ImageTerm) and t.weight > 0), None)

    @property
    def example_photo_id(self) -> int | None:
        """A photo the user asked for more of: it is the query, not a result."""
        return next((t.photo_id for t in self.terms if isinstance(t, PhotoTerm) and t.weight > 0), None)


def build_query(
    *,
    text: str | None = None,
    image: Image.Image | None = None,
    image_weight: float | None = None,
    like_keyframe: int | None = None,
    like_photo: int | None = None,
    terms: Sequence[Term] = (),
) -> QuerySpec:
    """One query from whatever inputs were given: each is a term (``text`` may hold several, see
    :mod:`apps.search.query_syntax`); ``terms`` are already-built ones (the API's JSON list)."""
    found: list[Term] = []
    if text is not None and str(text).strip():
        if len(text) > MAX_TEXT_CHARS:
            raise QueryError(gettext("text is over %(max)d characters") % {"max": MAX_TEXT_CHARS}, "text")
        found.extend(_text_terms(text))
    if image is not None:
        found.append(ImageTerm(image, check_weight(1.0 if image_weight is None else image_weight, "image_weight")))
    elif image_weight is not None:
        raise QueryError(gettext("image_weight needs an image"), "image_weight")
    if like_keyframe is not None:
        found.append(KeyframeTerm(check_item_id(like_keyframe, "like_keyframe")))
    if like_photo is not None:
        found.append(PhotoTerm(check_item_id(like_photo, "like_photo")))
    found.extend(terms)
    return QuerySpec(tuple(found))


def _text_terms(text: str) -> Iterable[TextTerm]:
    try:
        return [TextTerm(t, check_weight(w, f"weight of '{t}'")) for t, w in parse_query_text(text)]
    except (QueryError, ValueError) as exc:
        raise QueryError(str(exc), "text") from exc


def check_item_id(value: object, what: str) -> int:
    """A keyframe or photo id as given, or QueryError (``field`` = ``what``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ITEM_ID:
        raise QueryError(f"{what} must be a positive integer id, got {value!r}", what)
    return value
