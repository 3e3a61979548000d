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

from .query_syntax import parse_query_text, split_quoted

#: More terms than this dilute each other until the sum means little, and each text costs an embedding.
MAX_TERMS = 8
#: Only ratios of weights matter; bounding them keeps one term from silently erasing the rest.
MAX_WEIGHT = 10.0
MIN_WEIGHT = 0.01
MAX_TEXT_CHARS = 1000
#: Words one group of a words query may hold (each is matched, fuzzily, against the collection's vocabulary).
MAX_QUERY_WORDS = 32
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


@dataclass(frozen=True)
class WordGroup:
    """Words a span of text (a subtitle cue, a line on screen) must hold: every phrase, its words in order,
    and every loose word, in any order. Words are kept as typed; the text index stems them."""

    phrases: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class WordsQuery:
    """What to find in the words of the footage: a span matches one of ``groups`` and holds no ``exclude`` word.

    ``explicit``: the user asked for words (a quoted phrase, ``text_in_video``); else the groups are the plain
    query's positive text terms, searched beside the CLIP vectors and fused with them.
    """

    groups: tuple[WordGroup, ...]
    exclude: tuple[str, ...] = ()
    explicit: bool = False

    def as_dict(self) -> dict:
        return {"phrases": [p for g in self.groups for p in g.phrases], "words": [w for g in self.groups for w in g.words],
                "exclude": list(self.exclude)}


def words_query(text: str, what: str = "text") -> WordsQuery:
    """The explicit words query of a text: quoted phrases, loose words, ``-word`` to leave out; QueryError
    when it holds no word to find or too many."""
    phrases, rest = split_quoted(text)
    words = [w for w in rest.split() if not (len(w) > 1 and w[0] == "-" and w[1].isalnum())]
    exclude = [w[1:] for w in rest.split() if len(w) > 1 and w[0] == "-" and w[1].isalnum()]
    group = WordGroup(tuple(phrases), tuple(words))
    count = sum(len(p.split()) for p in phrases) + len(words)
    if count > MAX_QUERY_WORDS:
        raise QueryError(gettext("too many words to find: %(count)d, at most %(max)d")
                         % {"count": count, "max": MAX_QUERY_WORDS}, what)
    if not count:
        raise QueryError(gettext("give the words to find, e.g. \"exit 23\""), what)
    return WordsQuery((group,), tuple(exclude), explicit=True)


def _merged(first: WordsQuery | None, second: WordsQuery | None) -> WordsQuery | None:
    if first is None or second is None:
        return first or second
    group = WordGroup(first.groups[0].phrases + second.groups[0].phrases, first.groups[0].words + second.groups[0].words)
    return WordsQuery((group,), first.exclude + second.exclude, explicit=True)


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
    #: Words asked for explicitly (quoted, or ``text_in_video``); alone, they are the whole query.
    words: WordsQuery | None = None

    def __post_init__(self) -> None:
        if not self.terms and self.words is None:
            raise QueryError(gettext("give a query: text, image, like_keyframe, like_photo or a query list"))
        if len(self.terms) > MAX_TERMS:
            raise QueryError(gettext("too many terms: %(count)d, at most %(max)d") % {"count": len(self.terms), "max": MAX_TERMS})
        for term in self.terms:
            check_weight(term.weight)
            if isinstance(term, KeyframeTerm):
                check_item_id(term.keyframe_id, "like_keyframe")
            elif isinstance(term, PhotoTerm):
                check_item_id(term.photo_id, "like_photo")
        if self.terms and all(term.weight < 0 for term in self.terms):
            raise QueryError(gettext("the query has only negative terms: add something to look for, e.g. 'red car -night'"))

    @property
    def kind(self) -> str:
        """"text", "image", "similar" (one stored item), "combined" (terms of different kinds), or "words"
        (words to find in the footage only)."""
        if self.words_only:
            return "words"
        kinds = {type(term) for term in self.terms}
        if kinds == {TextTerm}:
            return "text"
        if len(self.terms) == 1:
            return "image" if kinds == {ImageTerm} else "similar"
        return "combined"

    @property
    def words_only(self) -> bool:
        """Only words to find: no vector is embedded, the text index alone answers."""
        return not self.terms

    @property
    def words_query(self) -> WordsQuery | None:
        """What the text index looks for: the explicit words, else each positive text term's words (a plain
        query is searched in the footage's words too, and the two rankings fused); None when there is none."""
        if self.words is not None:
            return self.words
        groups = tuple(WordGroup(words=tuple(t.text.split())) for t in self.terms
                       if isinstance(t, TextTerm) and t.weight > 0 and len(t.text.split()) <= MAX_QUERY_WORDS)
        return WordsQuery(groups) if groups else None

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
    text_in_video: str | None = None,
) -> QuerySpec:
    """One query from whatever inputs were given: each is a term (``text`` may hold several, see
    :mod:`apps.search.query_syntax`); ``terms`` are already-built ones (the API's JSON list).

    A quoted phrase in ``text`` makes the whole text words to find in the footage (``"exit 23"``), as
    ``text_in_video`` does: alone they are a words-only query; beside an image or stored items, the words
    ranking is fused with theirs.
    """
    found: list[Term] = []
    words: WordsQuery | None = None
    if text is not None and str(text).strip():
        if len(text) > MAX_TEXT_CHARS:
            raise QueryError(gettext("text is over %(max)d characters") % {"max": MAX_TEXT_CHARS}, "text")
        if split_quoted(text)[0]:
            words = words_query(text, "text")
        else:
            found.extend(_text_terms(text))
    if text_in_video is not None and str(text_in_video).strip():
        if len(text_in_video) > MAX_TEXT_CHARS:
            raise QueryError(gettext("text is over %(max)d characters") % {"max": MAX_TEXT_CHARS}, "text_in_video")
        words = _merged(words, words_query(text_in_video, "text_in_video"))
    if image is not None:
        found.append(ImageTerm(image, check_weight(1.0 if image_weight is None else image_weight, "image_weight")))
    elif image_weight is not None:
        raise QueryError(gettext("image_weight needs an image"), "image_weight")
    if like_keyframe is not None:
        found.append(KeyframeTerm(check_item_id(like_keyframe, "like_keyframe")))
    if like_photo is not None:
        found.append(PhotoTerm(check_item_id(like_photo, "like_photo")))
    found.extend(terms)
    return QuerySpec(tuple(found), words)


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
