"""Frame fingerprints: which images get one, how often a video is sampled, and the file they are kept in."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.fingerprints import FingerprintTrack, fingerprint, load


def checker(low: int, high: int) -> np.ndarray:
    """A 16 x 16 grey checkerboard (fingerprint size, so resizing leaves it as it is)."""
    board = np.indices((16, 16)).sum(axis=0) % 2
    return np.where(board == 1, high, low).astype(np.uint8)


def test_a_flat_or_nearly_flat_image_has_no_fingerprint() -> None:
    """One grey level of contrast (std 0.5) is flat; three (std 1.5) is a picture, fingerprinted to unit length."""
    for flat in (np.full((16, 16), 128, np.uint8), checker(128, 129)):
        print_ = fingerprint(flat)
        assert print_.shape == (256,) and print_.dtype == np.float32 and not print_.any()
    at_the_bar = fingerprint(checker(128, 130))  # std exactly 1 level: a picture, just
    assert np.linalg.norm(at_the_bar) == pytest.approx(1.0)
    print_ = fingerprint(checker(128, 131))
    assert print_.shape == (256,) and np.linalg.norm(print_) == pytest.approx(1.0)
    assert print_.mean() == pytest.approx(0.0, abs=1e-7)
    assert set(np.round(print_ * 16, 5)) == {-1.0, 1.0}  # +-1/16 each: zero-mean, unit norm


def test_four_fingerprints_a_second_by_default() -> None:
    track = FingerprintTrack()
    picture = checker(0, 255)
    for i in range(40):  # 20 frames a second for 2 s
        track.offer(i / 20, picture)
    assert track.times == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75])


def test_a_frame_a_microsecond_early_is_on_time() -> None:
    """Frame times are sums of floats: one that falls a hair before the next step is taken, not skipped."""
    track = FingerprintTrack(per_second=1.0)
    picture = checker(0, 255)
    for t in (0.0, 0.5, 1.0 - 1e-6, 1.5, 1.9999975, 2.9):  # the second step is due at 1.999999
        track.offer(t, picture)
    assert track.times == [0.0, 1.0 - 1e-6, 2.9]


def test_saved_fingerprints_load_back(tmp_path) -> None:
    track = FingerprintTrack()
    track.offer(0.0, checker(0, 255))
    track.offer(0.25, checker(255, 0))
    path = tmp_path / "fingerprints.npz"
    track.save(path)
    times, prints = load(path)
    assert times.tolist() == [0.0, 0.25] and prints.dtype == np.float32 and prints.shape == (2, 256)
    assert prints[0] @ prints[1] == pytest.approx(-1.0, abs=1e-3)  # a negative of the picture
    assert list(tmp_path.iterdir()) == [path]  # the temporary file is gone


def test_a_video_without_fingerprints_saves_an_empty_file(tmp_path) -> None:
    path = tmp_path / "fingerprints.npz"
    FingerprintTrack().save(path)
    times, prints = load(path)
    assert times.shape == (0,) and prints.shape == (0, 256)


def test_a_missing_or_unreadable_file_loads_as_none(tmp_path) -> None:
    assert load(tmp_path / "missing.npz") is None
    assert load(tmp_path) is None  # a folder: OSError
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert load(tmp_path / "junk.npz") is None
    np.savez(tmp_path / "other.npz", something=np.zeros(2))
    assert load(tmp_path / "other.npz") is None  # no times or prints
