"""Threads that search one collection continuously and count what went wrong.

Shared by ``bench/rebuild_under_load.py`` and ``tests/integration/test_never_dark.py``: while an
index is rebuilt or videos are re-ingested, every answer should still hold results, and the video
a query is about should still be among them. Each thread has its own database connection, as each
request of a threaded server does; searches go through the search service (what the API calls).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Probe:
    """One query, and the video it must find (None: any non-empty answer will do)."""

    text: str
    video_id: int | None = None


@dataclass
class LoadReport:
    searches: int = 0
    errors: int = 0
    empty: int = 0
    #: Answers without the video their query is about.
    missing_video: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_ms or [0.0])
        return {
            "searches": self.searches,
            "errors": self.errors,
            "empty_answers": self.empty,
            "answers_missing_their_video": self.missing_video,
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p95_ms": round(float(np.percentile(lat, 95)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "first_errors": self.first_errors[:3],
        }


class SearchLoad:
    """``threads`` threads searching ``probes`` in turn until the ``with`` block ends."""

    def __init__(self, collection_id: int, probes: Sequence[Probe], threads: int = 8, top_k: int = 10) -> None:
        self.collection_id, self.probes, self.top_k = collection_id, list(probes), top_k
        self.report = LoadReport()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> SearchLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def wait_for(self, searches: int, timeout: float = 60) -> None:
        """Block until at least ``searches`` answers came back (so a phase is really under load)."""
        deadline = time.monotonic() + timeout
        while self.report.searches < searches and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self, n: int) -> None:
        from django.db import connection

        from apps.media.models import Collection
        from apps.search.query_spec import build_query
        from apps.search.service import ClipResult, search

        try:
            collection = Collection.objects.get(pk=self.collection_id)
            i = n
            while not self._stop.is_set():
                probe = self.probes[i % len(self.probes)]
                i += 1
                started = time.perf_counter()
                try:
                    results = search(collection, build_query(text=probe.text), top_k=self.top_k).results
                except Exception as exc:  # noqa: BLE001 - counted and reported, the load goes on
                    self._record_error(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                videos = {r.clip.video_id for r in results if isinstance(r, ClipResult)}
                self._record(probe, len(results), videos, elapsed)
        finally:
            connection.close()

    def _record(self, probe: Probe, n_results: int, videos: set[int], elapsed_ms: float) -> None:
        with self._lock:
            report = self.report
            report.searches += 1
            report.latencies_ms.append(elapsed_ms)
            report.empty += n_results == 0
            report.missing_video += probe.video_id is not None and probe.video_id not in videos

    def _record_error(self, error: str) -> None:
        with self._lock:
            self.report.searches += 1
            self.report.errors += 1
            if len(self.report.first_errors) < 10:
                self.report.first_errors.append(error)
