"""The collection page's grid: a collection's videos and photos as cards, filtered and paged in SQL.

A collection can hold thousands of items, so a page costs a fixed number of queries whatever its size, and
the per-item work is done for the page's items only: videos and photos are paged as one ``UNION`` of their
(kind, id, age) ordered newest first, then the page's cards are read with what each shows (poster thumbnail,
shot count, the latest job's progress) through subqueries, never a query per item.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import CharField, Count, F, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from ..models import Collection, IngestJob, Keyframe, Photo, Scene, Status, Video
from . import job_progress
from .thumbnails import PHOTO_THUMB_SIDE

PER_PAGE = 48
#: At most this many ids of each kind per progress request (a page holds PER_PAGE; uploads add a few).
MAX_TRACKED = 200

ACTIVE = (Status.QUEUED, Status.PROBING, Status.DETECTING, Status.EMBEDDING, Status.READING)
STATES: dict[str, tuple[str, ...] | None] = {
    "all": None, "active": tuple(ACTIVE), "indexed": (Status.INDEXED,), "failed": (Status.FAILED,)}
KINDS = ("all", "videos", "photos")
STATE_LABELS = {"all": _("All"), "active": _("In progress"), "indexed": _("Indexed"), "failed": _("Failed")}
KIND_LABELS = {"all": _("Videos and photos"), "videos": _("Videos"), "photos": _("Photos")}
#: Poster size of a video card: keyframes are saved with a short side of 256 px; cards crop to 16:9.
POSTER_SIZE = (320, 180)


@dataclass(frozen=True)
class GridFilters:
    """What the page's query string asks for; anything unknown reads as the default (hostile input: no 400)."""

    state: str = "all"
    kind: str = "all"

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> GridFilters:
        state, kind = params.get("state", "all"), params.get("type", "all")
        return cls(state if state in STATES else "all", kind if kind in KINDS else "all")

    def query(self, **override: str) -> str:
        """The query string of these filters (defaults left out), with ``override`` applied: for links."""
        values = {"state": self.state, "type": self.kind, **override}
        return "&".join(f"{k}={v}" for k, v in values.items() if v and v != "all" and not (k == "page" and v == "1"))


@dataclass(frozen=True)
class FilterLink:
    """One choice of a filter: its label, how many items it shows, its link, whether it is the current one."""

    label: str
    count: int
    href: str
    current: bool


def filter_links(filters: GridFilters, counts: Mapping[str, Mapping[str, int]]) -> dict[str, list[FilterLink]]:
    """The state and type choices as links (a filter change goes back to page 1), each with its count."""
    kind_counts = counts[filters.kind]
    return {
        "state": [FilterLink(str(label), kind_counts[state], "?" + filters.query(state=state), state == filters.state)
                  for state, label in STATE_LABELS.items()],
        "kind": [FilterLink(str(label), counts[kind][filters.state], "?" + filters.query(type=kind),
                            kind == filters.kind) for kind, label in KIND_LABELS.items()],
    }


def page_links(filters: GridFilters, page: Page) -> dict[str, str | None]:
    """Links to the previous and next page with the same filters (None at either end)."""
    def href(number: int) -> str:
        return "?" + filters.query(page=str(number))

    return {"previous": href(page.previous_page_number()) if page.has_previous() else None,
            "next": href(page.next_page_number()) if page.has_next() else None}


@dataclass(frozen=True)
class Card:
    """One grid card: what the template shows of a video or photo."""

    kind: str  # "video" | "photo"
    id: int
    name: str
    status: str
    error: str
    reingesting: bool
    thumbnail: str  # media-relative path, "" when there is none yet
    thumb_width: int
    thumb_height: int
    duration: float | None
    shots: int | None
    progress: float | None  # the latest job's 0..1 within its stage
    done: int | None
    total: int | None
    file: str  # media-relative path of the original, "" once an unusable upload's file is removed

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def _job(self) -> IngestJob:
        """The latest job's progress as an unsaved job: job_progress reads it as it reads a row (no query)."""
        return IngestJob(status=self.status, video_id=self.id if self.kind == "video" else None,
                         photo_id=self.id if self.kind == "photo" else None, progress=self.progress or 0.0,
                         done=self.done or 0, total=self.total or 0)

    @property
    def percent(self) -> int | None:
        """Whole percent of the current stage (from the counts when known), for the stages that report one:
        the number the jobs API and the CLI's bar show."""
        if self.status not in (Status.DETECTING, Status.EMBEDDING, Status.READING) or self.progress is None:
            return None
        return job_progress.percent(self._job())

    @property
    def stage_text(self) -> str:
        """The stage in a few words with its counts, "detecting 1234/2950 frames" (as the jobs API says it)."""
        return job_progress.describe(self._job())


def _latest_job(kind: str, field: str) -> Subquery:
    jobs = IngestJob.objects.filter(**{kind: OuterRef("pk")}).order_by("-created_at", "-id")
    output = FloatField() if field == "progress" else IntegerField()
    return Subquery(jobs.values(field)[:1], output_field=output)


def _poster() -> Coalesce:
    """A video's poster: the keyframe nearest after its middle, else its first (no duration yet, say)."""
    frames = Keyframe.objects.filter(video=OuterRef("pk")).order_by("time").values("thumbnail")[:1]
    middle = Keyframe.objects.filter(video=OuterRef("pk"), time__gte=OuterRef("duration") / 2).order_by("time")
    return Coalesce(Subquery(middle.values("thumbnail")[:1]), Subquery(frames), Value(""), output_field=CharField())


def _shot_count() -> Subquery:
    shots = Scene.objects.filter(video=OuterRef("pk")).order_by().values("video").annotate(n=Count("pk")).values("n")
    return Subquery(shots, output_field=IntegerField())


def _columns(kind: str) -> dict[str, Any]:
    """The grid row of each kind, as annotations in one order: a UNION needs the same columns in both."""
    is_video = kind == "video"
    row: dict[str, Any] = {
        "g_kind": Value(kind, output_field=CharField()),
        "g_id": F("id"), "g_name": F("original_name"), "g_status": F("status"), "g_error": F("error"),
        "g_indexed_at": F("indexed_at"), "g_created_at": F("created_at"), "g_file": F("file"),
        "g_thumbnail": _poster() if is_video else F("thumbnail"),
        "g_width": F("width"), "g_height": F("height"),
        "g_duration": F("duration") if is_video else Value(None, output_field=FloatField()),
        "g_shots": _shot_count() if is_video else Value(None, output_field=IntegerField()),
    }
    for field in ("progress", "done", "total"):
        row[f"g_job_{field}"] = _latest_job(kind, field)
    return row


def _rows(model: type[Video] | type[Photo], collection: Collection, ids: Iterable[int]) -> QuerySet:
    """The full card rows of these items (the subqueries run for them only, not for the whole collection)."""
    columns = _columns("video" if model is Video else "photo")
    return model.objects.filter(collection=collection, pk__in=list(ids)).order_by().annotate(**columns).values(*columns)


def _keys(model: type[Video] | type[Photo], collection: Collection, states: Iterable[str] | None) -> QuerySet:
    """What the grid sorts and counts: kind, id and age of each item, from the table alone."""
    qs = model.objects.filter(collection=collection)
    if states is not None:
        qs = qs.filter(status__in=states)
    kind = "video" if model is Video else "photo"
    return qs.order_by().annotate(g_kind=Value(kind, output_field=CharField()), g_id=F("id"),
                                  g_created_at=F("created_at")).values("g_kind", "g_id", "g_created_at")


def grid_keys(collection: Collection, filters: GridFilters) -> QuerySet:
    """The filtered grid's items, newest first, as (kind, id, created_at): one ``UNION`` to page through and count."""
    states = STATES[filters.state]
    if filters.kind == "videos":
        return _keys(Video, collection, states).order_by("-g_created_at", "-g_id")
    if filters.kind == "photos":
        return _keys(Photo, collection, states).order_by("-g_created_at", "-g_id")
    return _keys(Video, collection, states).union(_keys(Photo, collection, states), all=True).order_by(
        "-g_created_at", "-g_kind", "-g_id")


def _thumb_size(kind: str, width: int | None, height: int | None) -> tuple[int, int]:
    """The thumbnail's pixel size for the img's width/height attributes (no layout shift as images arrive)."""
    if kind == "video" or not width or not height:
        return POSTER_SIZE
    scale = min(1.0, PHOTO_THUMB_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def card_of(row: Mapping[str, Any]) -> Card:
    status = row["g_status"]
    width, height = _thumb_size(row["g_kind"], row["g_width"], row["g_height"])
    return Card(
        kind=row["g_kind"], id=row["g_id"], name=row["g_name"], status=status, error=row["g_error"],
        reingesting=row["g_indexed_at"] is not None and status in ACTIVE and status != Status.READING,
        thumbnail=row["g_thumbnail"] or "", thumb_width=width, thumb_height=height,
        duration=row["g_duration"], shots=row["g_shots"], progress=row.get("g_job_progress"),
        done=row.get("g_job_done"), total=row.get("g_job_total"), file=row["g_file"] or "",
    )


def grid_page(collection: Collection, filters: GridFilters, page: str | int | None,
              per_page: int = PER_PAGE) -> tuple[Page, list[Card]]:
    """The page of cards asked for; a page number out of range or not a number gives the last or first page.
    Queries: one to count, one for the page's keys, one for its videos' cards and one for its photos'."""
    current = Paginator(grid_keys(collection, filters), per_page).get_page(page)
    keys = [(row["g_kind"], row["g_id"]) for row in current.object_list]
    found = {card.key: card for card in cards_by_id(collection, [i for k, i in keys if k == "video"],
                                                    [i for k, i in keys if k == "photo"])}
    return current, [found[f"{kind}-{pk}"] for kind, pk in keys if f"{kind}-{pk}" in found]


def cards_by_id(collection: Collection, video_ids: Iterable[int], photo_ids: Iterable[int]) -> list[Card]:
    """The cards of these items of ``collection`` (others' ids match nothing): what the page polls for."""
    video_ids, photo_ids = list(video_ids)[:MAX_TRACKED], list(photo_ids)[:MAX_TRACKED]
    rows: list[Mapping[str, Any]] = []
    if video_ids:
        rows += list(_rows(Video, collection, video_ids))
    if photo_ids:
        rows += list(_rows(Photo, collection, photo_ids))
    return [card_of(row) for row in rows]


def state_counts(collection: Collection) -> dict[str, dict[str, int]]:  # keys: all, videos, photos
    """How many items each filter matches, by type: the filter links show them (two aggregate queries)."""
    def count(model: type[Video] | type[Photo]) -> dict[str, int]:
        return model.objects.filter(collection=collection).aggregate(
            all=Count("pk"), active=Count("pk", filter=Q(status__in=ACTIVE)),
            indexed=Count("pk", filter=Q(status=Status.INDEXED)), failed=Count("pk", filter=Q(status=Status.FAILED)))

    videos, photos = count(Video), count(Photo)
    return {"videos": videos, "photos": photos, "all": {k: videos[k] + photos[k] for k in videos}}


def with_item_counts(collections: QuerySet[Collection]) -> QuerySet[Collection]:
    """Collections with ``video_count`` and ``photo_count``: the list page counts in its one query."""
    def count(model: type[Video] | type[Photo]) -> Subquery:
        rows = model.objects.filter(collection=OuterRef("pk")).order_by().values("collection").annotate(n=Count("pk"))
        return Coalesce(Subquery(rows.values("n"), output_field=IntegerField()), Value(0))

    return collections.annotate(video_count=count(Video), photo_count=count(Photo))
