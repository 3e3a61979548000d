"""A cropped, rescaled, recompressed or letterboxed copy of a frame: found at its moment, and no false match."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from analysis.fingerprints import FingerprintTrack
from apps.search.bars import strip_bars
from apps.search.crop_match import Crop, CroppedQuery
from apps.search.frame_match import best_copy_match

HEIGHT, WIDTH = 180, 320


def picture(seed: int, size: tuple[int, int] = (HEIGHT, WIDTH), coarse: tuple[int, int] = (9, 16)) -> np.ndarray:
    """A smooth random grey picture with detail at about a cell's size, like footage at thumbnail size."""
    grid = (np.random.default_rng(seed).random(coarse) * 220 + 16).astype(np.float32)
    return np.clip(cv2.resize(grid, (size[1], size[0]), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def track(frames: list[np.ndarray], step: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    t = FingerprintTrack(per_second=1 / step)
    for i, frame in enumerate(frames):
        t.offer(i * step, frame)
    return np.asarray(t.times, np.float32), np.stack(t.prints).astype(np.float32)


def degrade(frame: np.ndarray, crop: tuple[float, float, float, float] = (0, 0, 1, 1), scale: float = 1.0,
            quality: int | None = None) -> np.ndarray:
    """``frame`` cut to ``crop`` (x, y, w, h in fractions), rescaled, then JPEG-compressed."""
    x, y, w, h = crop
    top, left = round(y * frame.shape[0]), round(x * frame.shape[1])
    out = frame[top:top + round(h * frame.shape[0]), left:left + round(w * frame.shape[1])]
    image = Image.fromarray(out)
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC)
    if quality is not None:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        image = Image.open(buffer)
    return np.asarray(image.convert("L"))


def framed(gray: np.ndarray, bars: str, share: float, level: int) -> np.ndarray:
    """``gray`` with uniform bars of grey ``level`` added top and bottom (letterbox) or left and right (pillarbox)."""
    h, w = gray.shape
    if bars == "letterbox":
        band = np.full((round(h * share), w), level, np.uint8)
        return np.vstack([band, gray, band])
    band = np.full((h, round(w * share)), level, np.uint8)
    return np.hstack([band, gray, band])


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return [picture(i) for i in range(24)]


@pytest.fixture(scope="module")
def tracks(frames) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    return {7: track(frames), 8: track([picture(100 + i) for i in range(24)])}


def assert_moment(match, video: int, time: float) -> None:
    assert match is not None and match.video_id == video and match.one_moment, match
    assert abs(match.time - time) < 1e-6 and match.similarity >= 0.9 and match.start <= match.time <= match.end


@pytest.mark.parametrize("crop", [
    (0.1, 0.1, 0.8, 0.8),     # central 80%
    (0.0, 0.0, 0.8, 0.8),     # top-left
    (0.25, 0.2, 0.75, 0.8),   # bottom-right, another shape
    (0.03, 0.15, 0.9, 0.7),   # a wide strip
])
def test_a_crop_rescaled_and_compressed_is_found_at_its_moment(frames, tracks, crop):
    query = degrade(frames[13], crop, scale=0.5, quality=40)
    assert_moment(best_copy_match(query, tracks), 7, 13 * 0.25)


@pytest.mark.parametrize("bars, level", [("letterbox", 0), ("pillarbox", 0), ("letterbox", 255), ("pillarbox", 40)])
def test_bars_around_a_frame_or_a_crop_of_it_are_ignored(frames, tracks, bars, level):
    whole = framed(degrade(frames[5]), bars, 0.2, level)
    assert_moment(best_copy_match(jpeg(whole, 40), tracks), 7, 5 * 0.25)
    cropped = framed(degrade(frames[18], (0.1, 0.1, 0.8, 0.8), scale=0.5), bars, 0.25, level)
    assert_moment(best_copy_match(jpeg(cropped, 40), tracks), 7, 18 * 0.25)


def jpeg(gray: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("L"))


def test_strip_bars_cuts_exactly_the_bars_and_a_pixel_of_edge():
    frame = picture(3, (100, 200))
    stripped = strip_bars(framed(framed(frame, "letterbox", 0.1, 0), "pillarbox", 0.15, 0))
    assert stripped.shape == (100 - 2, 200 - 2)  # one pixel of smeared edge trimmed on each side
    assert np.array_equal(stripped, frame[1:-1, 1:-1])
    assert strip_bars(frame) is frame  # no bars: untouched
    mostly_flat = framed(frame[:, :60], "pillarbox", 1.0, 0)  # bars wider than the picture: not a framed picture
    assert strip_bars(mostly_flat) is mostly_flat
    flat = np.zeros((50, 80), np.uint8)
    assert strip_bars(flat) is flat


def test_predicted_cells_of_the_right_crop_match_the_frame_print(frames):
    """At the true rectangle, the cells predicted from the crop are those of the frame's own print."""
    frame = frames[2]
    crop = Crop(0.1, 0.1, 0.8, 0.8)
    cells = CroppedQuery(degrade(frame, (0.1, 0.1, 0.8, 0.8)).astype(np.float32)).cells(crop)
    top, bottom, left, right = crop.cells()
    assert (top, bottom, left, right) == (2, 14, 2, 14)  # cells 2-13: wholly inside 1.6-14.4
    thumb = cv2.resize(frame, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float64)[top:bottom, left:right]
    thumb = (thumb - thumb.mean()) / np.linalg.norm(thumb - thumb.mean())
    assert float((cells[top:bottom, left:right] * thumb).sum()) > 0.995
    assert not cells[:top].any() and not cells[:, right:].any()
    assert CroppedQuery(np.full((90, 160), 77.0)).cells(crop) is None  # flat: identifies nothing


def test_an_unrelated_picture_or_a_crop_of_footage_not_in_the_collection_gives_no_match(tracks):
    for seed in (500, 501, 502):
        assert best_copy_match(degrade(picture(seed), (0.1, 0.1, 0.8, 0.8), 0.5, 40), tracks) is None
        assert best_copy_match(picture(seed), tracks) is None
    assert best_copy_match(np.full((90, 160), 128, np.uint8), tracks) is None
    assert best_copy_match(framed(np.full((90, 160), 128, np.uint8), "letterbox", 0.2, 0), tracks) is None
    assert best_copy_match(picture(1), {}) is None


def test_a_picture_that_resembles_the_footage_gives_no_exact_match():
    """Same background, a different moving object: like the footage, a copy of none of its moments."""
    background = picture(42)
    frames = []
    for i in range(16):
        frame = background.copy()
        frame[60:100, 10 + 18 * i:50 + 18 * i] = 250
        frames.append(frame)
    other = background.copy()
    other[20:50, 120:200] = 10  # an object the footage never shows
    match = best_copy_match(degrade(other, (0.1, 0.1, 0.8, 0.8), 0.5, 40), {1: track(frames)})
    assert match is None or not match.one_moment


def test_a_cropped_picture_recurring_in_separate_places_gives_no_match(frames):
    shot = frames[3]
    footage = [shot] * 4 + frames[10:22] + [shot] * 4  # the same shot twice, 3 s apart
    query = degrade(shot, (0.1, 0.1, 0.8, 0.8), 0.5, 40)
    assert best_copy_match(query, {1: track(footage)}) is None
    assert best_copy_match(query, {1: track([shot] * 8), 2: track(frames[10:14] + [shot] * 8)}) is None


def test_a_crop_also_seen_shifted_in_a_pan_gives_no_exact_match():
    """In a pan the left 80% of one moment is the right 80% of the moment before: which one is unknowable."""
    panorama = picture(77, (HEIGHT, WIDTH * 3), (9, 48))
    shift = WIDTH // 5  # 20% of the frame per fingerprint, 2 s apart (beyond the matcher's 1 s neighbourhood)
    footage = [panorama[:, i * shift:i * shift + WIDTH] for i in range(10)]
    query = degrade(footage[4], (0.0, 0.1, 0.8, 0.8), 0.5, 40)
    match = best_copy_match(query, {1: track(footage, step=2.0)})
    assert match is None or not match.one_moment


def test_a_long_video_ranks_frames_by_a_sparse_grid_first_and_still_finds_the_moment(frames, tracks, monkeypatch):
    """Past FULL_GRID_FRAMES fingerprints only the frames the sparse grid ranks first get the whole grid."""
    import apps.search.crop_match as crop_match

    monkeypatch.setattr(crop_match, "FULL_GRID_FRAMES", 4)
    query = degrade(frames[13], (0.1, 0.1, 0.8, 0.8), scale=0.5, quality=40)
    assert_moment(best_copy_match(query, tracks), 7, 13 * 0.25)
    assert best_copy_match(degrade(picture(500), (0.1, 0.1, 0.8, 0.8), 0.5, 40), tracks) is None


def shapes(centres: list[tuple[int, int]], radius: int, ground: int, ink: int) -> np.ndarray:
    """A plain picture: a few discs on a flat ground (what generated demo footage looks like)."""
    out = np.full((HEIGHT, WIDTH), ground, np.uint8)
    for x, y in centres:
        cv2.circle(out, (x, y), radius, ink, -1)
    return out


def test_a_plain_picture_of_other_shapes_gives_no_match_even_as_a_still():
    """With a free rectangle, three discs can be laid over three other discs; that proves nothing."""
    still = shapes([(60, 40), (160, 45), (260, 40)], 18, 20, 230)  # a still shot: stars at the top at night
    footage = [picture(i) for i in range(8)] + [still] * 20
    other = shapes([(50, 50), (150, 50), (250, 35)], 22, 40, 200)[:, 20:300]  # other discs, other places
    assert best_copy_match(other, {1: track(footage)}) is None  # the crop search alone calls it a still (0.93)
