"""The append-only change log that continues an index snapshot.

Why: rewriting the whole ``index.bin`` for every added video costs O(collection) in I/O under the
writer lock (seconds at 100k vectors), so concurrent workers queue behind it and every search
process reloads the whole file after each write. A change is instead appended here as one record,
fsynced; the snapshot is rewritten only when the log has grown to a good fraction of it.

One record: ``<u32 body length><u32 crc32 of body><body>``; body: ``<u32 header length><JSON
header: op ("add" | "remove"), model_id, n, dim><n int64 ids>[<n x dim float32 vectors>]``.
Readers stop at the first incomplete or damaged record: it is either being written right now (they
will see it next time) or the tail a crashed writer left, which the next writer cuts off.
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_FRAME = struct.Struct("<II")
_HEADER_LEN = struct.Struct("<I")


@dataclass(frozen=True)
class LogRecord:
    """One change: vectors added (replacing same ids) or ids removed."""

    op: str  # "add" | "remove"
    model_id: str | None
    ids: np.ndarray
    vectors: np.ndarray | None = None


def encode(record: LogRecord) -> bytes:
    """The bytes of one framed record."""
    dim = int(record.vectors.shape[1]) if record.vectors is not None else None
    header = json.dumps({"op": record.op, "model_id": record.model_id, "n": int(len(record.ids)), "dim": dim}).encode()
    parts = [_HEADER_LEN.pack(len(header)), header, np.ascontiguousarray(record.ids, dtype="<i8").tobytes()]
    if record.vectors is not None:
        parts.append(np.ascontiguousarray(record.vectors, dtype="<f4").tobytes())
    body = b"".join(parts)
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


def _decode_body(body: bytes) -> LogRecord:
    (hlen,) = _HEADER_LEN.unpack_from(body, 0)
    header = json.loads(body[4:4 + hlen])
    n, dim, pos = int(header["n"]), header["dim"], 4 + hlen
    ids = np.frombuffer(body, dtype="<i8", count=n, offset=pos).astype(np.int64)
    vectors = None
    if dim is not None:
        vectors = np.frombuffer(body, dtype="<f4", count=n * dim, offset=pos + 8 * n).reshape(n, dim).astype(np.float32)
    return LogRecord(header["op"], header["model_id"], ids, vectors)


def read_from(path: Path, offset: int) -> tuple[list[LogRecord], int] | None:
    """Complete records from ``offset`` on and the offset after the last one; None if no log file."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return None
    records, pos = [], 0
    while pos + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, pos)
        body = data[pos + _FRAME.size:pos + _FRAME.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            break  # being written now, or a crashed writer's torn tail
        records.append(_decode_body(body))
        pos += _FRAME.size + length
    return records, offset + pos


def append(path: Path, valid_end: int, record: LogRecord) -> int:
    """Append one record after ``valid_end`` (cutting off a torn tail); returns the new end.

    Call with the index's writer lock held. Durable on return: the file (and, when the log is new,
    its directory entry) is fsynced.
    """
    data = encode(record)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size != valid_end:
            os.ftruncate(fd, valid_end)
        os.lseek(fd, valid_end, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return valid_end + len(data)
