"""Fuse the CLIP ranking with the words ranking: pure functions, no Django, no I/O.

Reciprocal rank fusion (Cormack et al. 2009): an entry's fused score is the sum, over the rankings it is in,
of ``1 / (K + rank)`` (rank from 1), so no score scale needs calibrating between cosines and text scores.

* A text moment and the CLIP clips of the same video it overlaps are **one** result (connected by overlap:
  a clip overlapping two text moments joins them); it keeps the best clip's place in the CLIP ranking and
  the best text moment's place in the words ranking. Its time is the words' own (the cue's, the sign's):
  where both signals hold, as precise as the words are; the clips add their rank, not their length.
* A result that **both** matches in CLIP (a matching moment, not a weaker stretch) and holds the words ranks
  above every result that matches in one way only; within each tier, by fused score.
* On a tie of fused scores, the result with words goes first.
* With no text moments the CLIP ranking comes back exactly as it was (same entries, same order): a
  collection without words, or a query none of whose words appear, searches as before.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: RRF's constant: 60 is the value of the original paper and of most search engines' hybrid search.
RRF_K = 60


@dataclass(frozen=True)
class Span:
    """A ranked moment as fusion sees it: which video (None for a photo: never merged) and when."""

    video_id: int | None
    start: float
    end: float
    matched: bool = True  # for CLIP clips: a matching moment (grouping's ``matched``)


@dataclass(frozen=True)
class Fused:
    """One fused result: the CLIP entries (indices into the CLIP ranking, best first) and text moments
    (indices into the words ranking, best first) it merges, its time span and fused score."""

    visual: tuple[int, ...]
    text: tuple[int, ...]
    start: float
    end: float
    score: float
    both: bool


def _overlap(a: Span, b: Span) -> bool:
    return a.video_id is not None and a.video_id == b.video_id and a.start < b.end and b.start < a.end


def rrf(ranks: Sequence[int], k: int = RRF_K) -> float:
    """The reciprocal rank fusion score of an entry at these 0-based ranks, one per ranking it is in."""
    return sum(1.0 / (k + 1 + rank) for rank in ranks)


def fuse(visual: Sequence[Span], text: Sequence[Span], k: int = RRF_K) -> list[Fused]:
    """The fused ranking of a CLIP ranking and a words ranking (each best first)."""
    if not text:
        return [Fused((i,), (), v.start, v.end, rrf([i], k), False) for i, v in enumerate(visual)]
    parent = list(range(len(visual) + len(text)))  # union-find over CLIP entries, then text moments

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    by_video: dict[int, list[int]] = {}
    for i, v in enumerate(visual):
        if v.video_id is not None:
            by_video.setdefault(v.video_id, []).append(i)
    for j, t in enumerate(text):
        for i in by_video.get(t.video_id, ()):  # type: ignore[arg-type]
            if _overlap(visual[i], t):
                parent[root(len(visual) + j)] = root(i)
    groups: dict[int, list[int]] = {}
    for node in range(len(parent)):
        groups.setdefault(root(node), []).append(node)
    fused = []
    for members in groups.values():
        vis = tuple(sorted(m for m in members if m < len(visual)))
        txt = tuple(sorted(m - len(visual) for m in members if m >= len(visual)))
        # With words, the moment is where they are: there both signals hold (a cue or a sign is inside the
        # shot the picture matched); the clips lend their rank, not their length.
        spans = [text[j] for j in txt] or [visual[i] for i in vis]
        ranks = ([vis[0]] if vis else []) + ([txt[0]] if txt else [])
        both = bool(txt) and any(visual[i].matched for i in vis)
        fused.append(Fused(vis, txt, min(s.start for s in spans), max(s.end for s in spans), rrf(ranks, k), both))
    # On a tie of fused scores (the first of one ranking against the first of the other), words first: every
    # word of the query in one cue or line is the more specific evidence.
    fused.sort(key=lambda f: (not f.both, -f.score, f.text[:1] or (len(text),), f.visual[:1] or (len(visual),)))
    return fused
