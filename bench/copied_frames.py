"""Why frame queries of the shared videos are or are not flagged ``exact_frame``; prints ONE JSON object.

Why: the cropped-frame test (tests/integration/test_shared_media.py) counts exact moments but not what
stops the others. This fingerprints ../shared/media/videos as ingestion does, draws the test's seconds
(same seed, same count per video), and for each frame, whole and as the test's rough screenshot (central
80%, halved, JPEG 40), gives the matcher's verdict and its reason. ``pinnable_by_stored_prints`` counts
the seconds the stored prints could pin at all: some print within NEIGHBOURHOOD_S of it differs from every
print over NEIGHBOURHOOD_S away from it by at least DECISIVE_RATIO x NOISE_DISTANCE (else even a perfect
copy is not decisive: a frozen picture). ``held_out_flagged``: the frames flagged while their own video is
left out of the collection (must be 0).

Seed 20261123, 8 a video (the test's): whole 24/40 exact, cropped 23/40, none wrong, none held out
flagged; 34/40 pinnable (testvideo.mp4's 6 frozen seconds are not: frames 0.8 s apart differ by 0.03
grey levels); issue-236's 4 misses are below MIN_SIMILARITY (0.71-0.85, between prints of fast motion).

No database or model: the matcher's pure functions only, so it takes seconds, not a full ingestion.

Usage: ``.venv/bin/python bench/copied_frames.py [--seed 20261123] [--per-video 8] [--detail]``
"""
from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.fingerprints import fingerprint  # noqa: E402
from analysis.video_analysis import analyze_video  # noqa: E402
from apps.search import frame_match as fm  # noqa: E402
from apps.search.bars import strip_bars  # noqa: E402
from apps.search.crop_match import crop_similarities  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "media" / "videos"


def grab(video: Path, second: float, out: Path) -> Image.Image:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{second:.3f}", "-i", str(video), "-map", "0:v:0",
                    "-frames:v", "1", str(out)], check=True, timeout=60)
    return Image.open(out).convert("RGB")


def screenshot(frame: Image.Image) -> Image.Image:
    """The test's rough screenshot: central 80%, halved, JPEG quality 40."""
    w, h = frame.size
    crop = frame.crop((round(0.1 * w), round(0.1 * h), round(0.9 * w), round(0.9 * h)))
    crop = crop.resize((round(crop.width / 2), round(crop.height / 2)), Image.BICUBIC)
    buffer = io.BytesIO()
    crop.save(buffer, "JPEG", quality=40)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def verdict(gray: np.ndarray, tracks: dict) -> tuple[fm.FrameMatch | str, dict]:
    """best_copy_match's answer, and the verdict (with best similarity and rival ratio) of the step that decided."""
    scored = fm._whole_frame_scores(fingerprint(gray), tracks)
    found = fm._judge(scored)
    if not (found is fm._AMBIGUOUS or isinstance(found, fm.FrameMatch) and found.one_moment):
        sims = crop_similarities(strip_bars(gray), tracks, fm.NEIGHBOURHOOD_S)
        crop_scored = [(v, tracks[v][0], s) for v, s in sims.items()]
        cropped = fm._judge(crop_scored)
        if isinstance(cropped, fm.FrameMatch) and cropped.one_moment or not isinstance(found, fm.FrameMatch):
            found, scored = cropped, crop_scored
    return found, _figures(scored)


def _figures(scored: list) -> dict:
    if not scored:
        return {}
    video, times, sims = max(scored, key=lambda item: float(item[2].max()))
    at = int(np.argmax(sims))
    best = max(1.0 - float(sims[at]), fm.NOISE_DISTANCE)
    far = np.abs(times - times[at]) > fm.NEIGHBOURHOOD_S
    rivals = [1.0 - float(sims[far].max())] if far.any() else []
    rivals += [1.0 - float(s.max()) for v, _, s in scored if v != video]
    return {"best_time": round(float(times[at]), 2), "similarity": round(float(sims[at]), 4),
            "rival_ratio": round(min(rivals) / best, 2) if rivals else None}


def ceiling(times: np.ndarray, prints: np.ndarray, second: float) -> bool:
    """Whether a perfect copy of some print within NEIGHBOURHOOD_S of ``second`` (a flag the test accepts)
    would stand out from the prints over a neighbourhood away from it; False for a frozen picture."""
    for at in np.flatnonzero(np.abs(times - second) <= fm.NEIGHBOURHOOD_S):
        far = np.abs(times - times[at]) > fm.NEIGHBOURHOOD_S
        if not far.any() or float(1.0 - (prints[far] @ prints[at]).max()) >= fm.DECISIVE_RATIO * fm.NOISE_DISTANCE:
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--per-video", type=int, default=8)
    parser.add_argument("--detail", action="store_true", help="one entry per query, not only the counts")
    args = parser.parse_args()
    tracks, durations, names = {}, {}, sorted(p.name for p in VIDEOS.iterdir())
    for i, name in enumerate(names):
        analysis = analyze_video(VIDEOS / name, max_gap=2.0)
        track = analysis.fingerprints
        tracks[i] = (np.asarray(track.times, np.float32), np.stack(track.prints).astype(np.float32))
        durations[i] = analysis.probe.duration
    rng = random.Random(args.seed)
    rows, counts = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(names):
            held = {v: t for v, t in tracks.items() if v != i}
            for _ in range(args.per_video):
                second = round(rng.uniform(0.2, durations[i] - 0.3), 2)
                frame = grab(VIDEOS / name, second, Path(tmp) / "frame.png")
                for kind, image in (("whole", frame), ("cropped", screenshot(frame))):
                    gray = np.asarray(image.convert("L"))
                    if not np.any(fingerprint(gray)):
                        continue  # blank: the search warns and the test does not count it
                    found, figures = verdict(gray, tracks)
                    flagged = isinstance(found, fm.FrameMatch) and found.one_moment
                    right = flagged and found.video_id == i and abs(found.time - second) <= fm.NEIGHBOURHOOD_S + 0.05
                    reason = ("right" if right else "WRONG") if flagged else (
                        "still stretch" if isinstance(found, fm.FrameMatch) else
                        "below MIN_SIMILARITY" if found == fm._NOTHING and figures.get("similarity", 0) < fm.MIN_SIMILARITY
                        else found)
                    held_match = fm.best_copy_match(gray, held)
                    possible = ceiling(*tracks[i], second)
                    c = counts.setdefault(kind, {"queries": 0, "exact": 0, "wrong": 0, "held_out_flagged": 0,
                                                 "pinnable_by_stored_prints": 0, "reasons": {}})
                    c["queries"] += 1
                    c["exact"] += right
                    c["wrong"] += flagged and not right
                    c["held_out_flagged"] += bool(held_match is not None and held_match.one_moment)
                    c["pinnable_by_stored_prints"] += possible
                    key = f"{name}: {reason}"
                    c["reasons"][key] = c["reasons"].get(key, 0) + 1
                    rows.append({"video": name, "second": second, "kind": kind, "reason": reason,
                                 "pinnable": possible, **figures})
    print(json.dumps({"seed": args.seed, "per_video": args.per_video, "counts": counts,
                      **({"queries": rows} if args.detail else {})}, indent=1))


if __name__ == "__main__":
    main()
