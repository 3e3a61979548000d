"""The change log's record format on its own (hypothesis): whatever is appended reads back exactly, from any record
boundary; a file cut anywhere reads as the records before the cut; the next append cuts a torn tail off."""
from __future__ import annotations

import dataclasses
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.search.index_log import LogRecord, append, encode, read_from


@st.composite
def records(draw) -> LogRecord:
    n = draw(st.integers(0, 4))
    ids = np.asarray(draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n)), np.int64)
    model = draw(st.sampled_from([None, "test:model-a", "ruclip:ру/модель"]))
    if draw(st.booleans()):
        dim = draw(st.integers(1, 3))
        vectors = np.asarray(draw(st.lists(st.floats(-2, 2, width=32), min_size=n * dim, max_size=n * dim)),
                             np.float32).reshape(n, dim)
        return LogRecord("add", model, ids, vectors)
    return LogRecord("remove", model, ids)


def same(a: LogRecord, b: LogRecord) -> bool:
    if (a.op, a.model_id) != (b.op, b.model_id) or a.ids.tolist() != b.ids.tolist():
        return False
    if a.vectors is None or b.vectors is None:
        return a.vectors is None and b.vectors is None
    return a.vectors.shape == b.vectors.shape and a.vectors.tobytes() == b.vectors.tobytes()


def write(path: Path, recs: list[LogRecord]) -> list[int]:
    """Append each record; returns the offset after each one (starting with 0)."""
    ends = [0]
    for rec in recs:
        ends.append(append(path, ends[-1], rec))
    return ends


@settings(max_examples=30, deadline=None)
@given(st.lists(records(), min_size=1, max_size=5), st.data())
def test_records_read_back_exactly_from_any_boundary(tmp_path_factory, recs, data) -> None:
    path = tmp_path_factory.mktemp("log") / "log-1.bin"
    ends = write(path, recs)
    assert ends[1:] == [sum(len(encode(r)) for r in recs[:i + 1]) for i in range(len(recs))]
    assert path.stat().st_size == ends[-1]
    start = data.draw(st.integers(0, len(recs)))
    got, end = read_from(path, ends[start])
    assert end == ends[-1] and len(got) == len(recs) - start
    assert all(same(a, b) for a, b in zip(got, recs[start:]))
    assert all(r.ids.dtype == np.int64 and (r.vectors is None or r.vectors.dtype == np.float32) for r in got)


@settings(max_examples=30, deadline=None)
@given(st.lists(records(), min_size=1, max_size=4), st.data())
def test_a_file_cut_anywhere_reads_as_the_records_before_the_cut(tmp_path_factory, recs, data) -> None:
    path = tmp_path_factory.mktemp("log") / "log-1.bin"
    ends = write(path, recs)
    cut = data.draw(st.integers(0, ends[-1]))
    path.write_bytes(path.read_bytes()[:cut])
    whole = max(i for i, e in enumerate(ends) if e <= cut)
    got, end = read_from(path, 0)
    assert end == ends[whole] and len(got) == whole
    extra = LogRecord("remove", None, np.asarray([7], np.int64))
    assert append(path, end, extra) == end + len(encode(extra))  # the torn tail is cut off first
    assert path.stat().st_size == end + len(encode(extra))  # ... all of it, however long
    got, _ = read_from(path, 0)
    assert len(got) == whole + 1 and same(got[-1], extra)


def test_the_frame_is_length_and_crc32_of_the_body() -> None:
    rec = LogRecord("remove", "m", np.asarray([1, 2], np.int64))
    data = encode(rec)
    length, crc = struct.unpack_from("<II", data)
    body = data[8:]
    assert length == len(body) and crc == zlib.crc32(body)
    (hlen,) = struct.unpack_from("<I", body)
    assert body[4:4 + hlen] == b'{"op": "remove", "model_id": "m", "n": 2, "dim": null}'
    assert body[4 + hlen:] == np.asarray([1, 2], "<i8").tobytes()


def test_a_damaged_body_stops_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "log-1.bin"
    ends = write(path, [LogRecord("remove", None, np.asarray([i], np.int64)) for i in range(3)])
    data = bytearray(path.read_bytes())
    data[ends[1] + 9] ^= 0x01  # one bit of the second record's body
    path.write_bytes(bytes(data))
    got, end = read_from(path, 0)
    assert [r.ids.tolist() for r in got] == [[0]] and end == ends[1]


def test_records_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LogRecord("remove", None, np.asarray([1], np.int64)).op = "add"


def test_no_log_file_reads_as_none(tmp_path: Path) -> None:
    assert read_from(tmp_path / "missing.bin", 0) is None


def test_appends_are_durable_and_the_log_is_readable_by_other_users(tmp_path: Path, monkeypatch) -> None:
    """Every append fsyncs the file; the first also fsyncs the folder (the new name). The log is 0644 (less the
    umask): workers running as other users read it."""
    import os
    import stat

    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    path = tmp_path / "log-1.bin"
    rec = LogRecord("remove", None, np.asarray([1], np.int64))
    end = append(path, 0, rec)
    assert synced == [str(path), str(tmp_path)]
    append(path, end, rec)
    assert synced == [str(path), str(tmp_path), str(path)]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 & ~umask
