"""Is the database in step with each collection's index and with the disk? Found here, and repaired.

Why: a worker killed at the wrong moment, a delete racing an ingest or a rebuild can leave vectors
without a row, indexed items without vectors, items that never reach a final state and files no row
refers to; nothing on the normal paths looks at those again. ``manage.py verify`` and the admin's
consistency page show the same :class:`Report`; ``verify --repair`` calls :func:`repair`.

What should be: an indexed video's keyframes and an indexed photo have vectors; failed items and
rows that are gone have none; items in progress (queued ... embedding) may have either, and are
reported as stuck once nothing has moved them for ``stuck_after_s`` and no ingest holds their lock.
The checks run beside live workers: each side is read in the order that keeps a concurrent ingest or
delete from looking like a problem, and every repair re-checks under the lock the writers take.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from django.db import transaction
from django.utils import timezone

from apps.media.models import Collection, IngestJob, Keyframe, Photo, Status, Video
from apps.media.services import locks, storage, strays
from apps.media.services.register import FileGoneError, queue_again
from apps.media.services.strays import Stray

from . import vectors
from .ids import decode_vector_id, keyframe_vector_ids, photo_vector_ids
from .index import CollectionIndex

DEFAULT_STUCK_AFTER_S = 600.0
#: Entries listed per list in as_dict() (ids, items, strays; the counts beside them are always complete).
LIST_LIMIT = 1000
#: Lines per list in describe().
TEXT_LIMIT = 20
FINAL = (Status.INDEXED, Status.FAILED)
_MODELS = {"video": Video, "photo": Photo}


@dataclass(frozen=True)
class Unfinished:
    """An item not (yet) indexed or failed."""

    kind: str
    id: int
    name: str
    status: str
    age_s: float  # since its row last changed
    running: bool  # an ingest holds its lock now
    stuck: bool


@dataclass(frozen=True)
class MissingItem:
    """An indexed item some of whose vectors are not in the index."""

    kind: str
    id: int
    name: str
    missing: int


@dataclass
class CollectionReport:
    id: int
    name: str
    vectors_in_index: int = 0
    vectors_expected: int = 0
    missing: list[int] = field(default_factory=list)  # vector ids
    missing_items: list[MissingItem] = field(default_factory=list)
    orphaned: list[int] = field(default_factory=list)  # vector ids
    orphan_reasons: dict[str, int] = field(default_factory=dict)
    unfinished: list[Unfinished] = field(default_factory=list)
    strays: list[Stray] = field(default_factory=list)
    error: str = ""

    @property
    def stuck(self) -> list[Unfinished]:
        return [u for u in self.unfinished if u.stuck]

    @property
    def problems(self) -> int:
        return len(self.missing) + len(self.orphaned) + len(self.stuck) + len(self.strays) + bool(self.error)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "name": self.name, "ok": not self.problems, "problems": self.problems,
            "error": self.error,
            "vectors": {
                "in_index": self.vectors_in_index, "expected": self.vectors_expected,
                "missing": len(self.missing), "missing_ids": self.missing[:LIST_LIMIT],
                "missing_items": [asdict(m) for m in self.missing_items[:LIST_LIMIT]],
                "orphaned": len(self.orphaned), "orphaned_ids": self.orphaned[:LIST_LIMIT],
                "orphan_reasons": self.orphan_reasons,
            },
            "unfinished_count": len(self.unfinished), "unfinished": [asdict(u) for u in self.unfinished[:LIST_LIMIT]],
            "stuck": len(self.stuck),
            "stray_count": len(self.strays), "strays": [s.as_dict() for s in self.strays[:LIST_LIMIT]],
        }


@dataclass
class Report:
    collections: list[CollectionReport]
    strays: list[Stray]  # outside every live collection (none when one collection was checked)
    stuck_after_s: float
    elapsed_s: float = 0.0

    @property
    def problems(self) -> int:
        return sum(c.problems for c in self.collections) + len(self.strays)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "problems": self.problems, "stuck_after_s": self.stuck_after_s,
            "elapsed_s": round(self.elapsed_s, 3),
            "collections": [c.as_dict() for c in self.collections],
            "stray_count": len(self.strays), "strays": [s.as_dict() for s in self.strays[:LIST_LIMIT]],
        }


@dataclass
class RepairResult:
    dropped_vectors: int = 0
    requeued: list[str] = field(default_factory=list)
    marked_failed: list[str] = field(default_factory=list)
    removed_strays: int = 0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ what the database says
@dataclass(frozen=True)
class _Rows:
    """The vector ids of one collection's rows, split by what the index should do with them."""

    expected: np.ndarray  # of indexed items: must be in the index (sorted)
    allowed: np.ndarray  # of items not failed: may be in the index (sorted)
    existing: np.ndarray  # of every row (sorted)
    keyframe_videos: dict[int, int]  # keyframe pk -> video pk, for keyframes of indexed videos


def _ids_by_status(model, collection: Collection) -> dict[str, set[int]]:
    by_status: dict[str, set[int]] = {}
    for pk, status in model.objects.filter(collection=collection).values_list("pk", "status"):
        by_status.setdefault(status, set()).add(pk)
    return by_status


def _rows(collection: Collection) -> _Rows:
    videos = _ids_by_status(Video, collection)
    photos = _ids_by_status(Photo, collection)
    pairs = np.array(list(Keyframe.objects.filter(video__collection=collection).values_list("pk", "video_id")),
                     dtype=np.int64).reshape(-1, 2)
    kf_ids = keyframe_vector_ids(pairs[:, 0])
    indexed_kf = np.isin(pairs[:, 1], np.fromiter(videos.get(Status.INDEXED, ()), dtype=np.int64))
    failed_kf = np.isin(pairs[:, 1], np.fromiter(videos.get(Status.FAILED, ()), dtype=np.int64))

    def photo_ids(statuses) -> np.ndarray:
        pks = [pk for status in statuses for pk in photos.get(status, ())]
        return photo_vector_ids(np.array(pks, dtype=np.int64))

    not_failed = [s for s in Status.values if s != Status.FAILED]
    return _Rows(
        expected=np.sort(np.concatenate([kf_ids[indexed_kf], photo_ids([Status.INDEXED])])),
        allowed=np.sort(np.concatenate([kf_ids[~failed_kf], photo_ids(not_failed)])),
        existing=np.sort(np.concatenate([kf_ids, photo_ids(Status.values)])),
        keyframe_videos=dict(zip(pairs[indexed_kf, 0].tolist(), pairs[indexed_kf, 1].tolist())),
    )


# ------------------------------------------------------------------ verify
def verify(collection: Collection | None = None, stuck_after_s: float = DEFAULT_STUCK_AFTER_S) -> Report:
    """Check one collection, or all of them and what deleted ones left behind."""
    started = time.monotonic()
    targets = [collection] if collection is not None else list(Collection.objects.order_by("pk"))
    reports = [verify_collection(c, stuck_after_s) for c in targets]
    others = strays.global_strays(stuck_after_s) if collection is None else []
    return Report(reports, others, stuck_after_s, time.monotonic() - started)


def verify_collection(collection: Collection, stuck_after_s: float = DEFAULT_STUCK_AFTER_S) -> CollectionReport:
    report = CollectionReport(collection.pk, collection.name)
    try:
        _check_vectors(collection, report)
    except Exception as exc:  # noqa: BLE001 - an unreadable index is a finding, not a crash of the check
        report.error = f"the index could not be read: {type(exc).__name__}: {exc}"
    report.unfinished = _unfinished(collection, stuck_after_s)
    report.strays = [*strays.collection_strays(collection, stuck_after_s), *_index_leftovers(collection)]
    return report


def _index_leftovers(collection: Collection) -> list[Stray]:
    """Temp files of killed index writes and change logs of replaced snapshots (removed as any stray)."""
    return [strays.index_stray(path, "temp file of an index write that was killed" if path.name.endswith(".tmp")
                               else "change log of a replaced index snapshot", collection.pk)
            for path in CollectionIndex(collection.index_dir).leftovers()]


def _check_vectors(collection: Collection, report: CollectionReport) -> None:
    """Rows, then the index, then rows again: a vector is added after its row and removed before it,
    so an ingest or delete running meanwhile shows up as neither missing nor orphaned."""
    before = _rows(collection)
    in_index = vectors.collection_index(collection).ids()
    after = _rows(collection)
    report.vectors_in_index, report.vectors_expected = len(in_index), len(after.expected)
    missing = np.setdiff1d(np.intersect1d(before.expected, after.expected), in_index)
    orphaned = np.setdiff1d(in_index, after.allowed)
    report.missing, report.orphaned = missing.tolist(), orphaned.tolist()
    report.missing_items = _missing_items(report.missing, after)
    report.orphan_reasons = _orphan_reasons(report.orphaned, after)


def _missing_items(missing: list[int], rows: _Rows) -> list[MissingItem]:
    counts: dict[tuple[str, int], int] = {}
    for vid in missing:
        kind, pk = decode_vector_id(vid)
        key = ("video", rows.keyframe_videos[pk]) if kind == "keyframe" else ("photo", pk)
        counts[key] = counts.get(key, 0) + 1
    names: dict[str, dict[int, str]] = {"video": {}, "photo": {}}
    for kind, model in _MODELS.items():
        pks = [pk for k, pk in counts if k == kind]
        for start in range(0, len(pks), 500):  # within any database's limit of query parameters
            names[kind].update(model.objects.filter(pk__in=pks[start:start + 500]).values_list("pk", "original_name"))
    return [MissingItem(kind, pk, names[kind].get(pk, ""), n) for (kind, pk), n in sorted(counts.items())]


def _orphan_reasons(orphaned: list[int], rows: _Rows) -> dict[str, int]:
    """How many orphans each reason explains: a row that is gone, a failed item, an id never issued."""
    has_row = np.isin(np.asarray(orphaned, dtype=np.int64), rows.existing)
    reasons: dict[str, int] = {}
    for vid, exists in zip(orphaned, has_row.tolist()):
        try:
            kind, _ = decode_vector_id(vid)
            reason = f"{kind} of a failed item" if exists else f"{kind} row is gone"
        except ValueError:
            reason = "not an id videosearch issues"
        reasons[reason] = reasons.get(reason, 0) + 1
    return reasons


def _unfinished(collection: Collection, stuck_after_s: float) -> list[Unfinished]:
    now = timezone.now()
    found = []
    for kind, model in _MODELS.items():
        rows = model.objects.filter(collection=collection).exclude(status__in=FINAL).order_by("pk")
        for pk, name, status, updated in rows.values_list("pk", "original_name", "status", "updated_at"):
            age = (now - updated).total_seconds()
            running = locks.is_held(storage.lock_path(kind, pk))
            found.append(Unfinished(kind, pk, name, status, round(age, 1), running,
                                    stuck=not running and age >= stuck_after_s))
    return found


# ------------------------------------------------------------------ repair
def repair(report: Report) -> RepairResult:
    """Fix what ``report`` found: drop orphans, re-ingest items with missing vectors and stuck items
    (or mark them failed when their file is gone), remove strays. Run verify again to see the result."""
    result = RepairResult()
    for found in report.collections:
        collection = Collection.objects.filter(pk=found.id).first()
        if collection is None:
            continue
        if found.orphaned:
            result.dropped_vectors += _drop_orphans(collection, found.orphaned)
        for item in found.missing_items:
            _requeue(item.kind, item.id, f"{item.missing} vector(s) missing", result, drop_if_gone=False)
        for item in found.stuck:
            _requeue(item.kind, item.id, f"stuck in {item.status} for {item.age_s:.0f} s", result, drop_if_gone=True)
    for stray in [s for c in report.collections for s in c.strays] + report.strays:
        if strays.remove(stray):
            result.removed_strays += 1
        else:
            result.skipped.append(f"{stray.root}/{stray.path}: in use now (an ingest holds it)")
    return result


def _drop_orphans(collection: Collection, orphaned: list[int]) -> int:
    """Remove the orphans that still are, checked under the lock an ingest holds while it adds vectors."""
    with vectors.item_write(collection.pk):
        still = np.setdiff1d(np.asarray(orphaned, dtype=np.int64), _rows(collection).allowed)
        return vectors.collection_index(collection).remove(still.tolist()) if still.size else 0


def _requeue(kind: str, pk: int, why: str, result: RepairResult, drop_if_gone: bool) -> None:
    """Queue a fresh ingest of an item; its unfinished jobs are superseded (their tasks then skip)."""
    label = f"{kind} {pk} ({why})"
    item = _MODELS[kind].objects.filter(pk=pk).first()
    if item is None:
        return
    if locks.is_held(storage.lock_path(kind, pk)):
        result.skipped.append(f"{label}: an ingest of it is running now")
        return
    now = timezone.now()
    try:
        with transaction.atomic():  # the new job is sent once this commits
            IngestJob.objects.filter(**{kind: item}).exclude(status__in=FINAL).update(
                status=Status.FAILED, error="superseded by a new job (manage.py verify --repair)", finished_at=now)
            type(item).objects.filter(pk=pk).update(updated_at=now)
            queue_again(item)
    except FileGoneError as exc:
        if not drop_if_gone:
            result.skipped.append(f"{label}: {exc}")
            return
        type(item).objects.filter(pk=pk).update(status=Status.FAILED, error=str(exc), updated_at=now)
        result.marked_failed.append(label)
        return
    result.requeued.append(label)


# ------------------------------------------------------------------ text
def describe(report: Report) -> list[str]:
    """The report as lines for people (the command's output)."""
    lines = []
    for c in report.collections:
        head = f"collection '{c.name}' (id {c.id}): {c.vectors_in_index} vectors in the index, {c.vectors_expected} expected"
        lines.append(head + ("" if c.problems else " - ok"))
        if c.error:
            lines.append(f"  error: {c.error}")
        if c.missing:
            items = ", ".join(f"{m.kind} {m.id} '{m.name}' ({m.missing})" for m in c.missing_items[:TEXT_LIMIT])
            more = len(c.missing_items) - TEXT_LIMIT
            lines.append(f"  missing: {len(c.missing)} vector(s) of indexed items: {items}"
                         + (f" and {more} more item(s)" if more > 0 else ""))
        if c.orphaned:
            why = ", ".join(f"{n} {reason}" for reason, n in c.orphan_reasons.items())
            lines.append(f"  orphaned: {len(c.orphaned)} vector(s) no indexed item owns: {why}")
        unfinished = sorted(c.unfinished, key=lambda u: not u.stuck)  # the stuck ones first
        lines += _capped([f"  {'STUCK' if u.stuck else 'running' if u.running else 'waiting'}: {u.kind} {u.id} "
                          f"'{u.name}' {u.status} for {u.age_s:.0f} s" for u in unfinished], "  ")
        lines += _capped([f"  stray: {s.root}/{s.path} ({s.reason})" for s in c.strays], "  ")
    lines += _capped([f"stray: {s.root}/{s.path} ({s.reason})" for s in report.strays], "")
    lines.append(f"{report.problems} problem(s) found in {report.elapsed_s:.2f} s" if report.problems
                 else f"consistent ({report.elapsed_s:.2f} s)")
    return lines


def _capped(lines: list[str], indent: str) -> list[str]:
    if len(lines) <= TEXT_LIMIT:
        return lines
    return [*lines[:TEXT_LIMIT], f"{indent}... and {len(lines) - TEXT_LIMIT} more (--json lists {LIST_LIMIT})"]
