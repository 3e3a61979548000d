"""Small helpers shared by the integration tests."""
from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image


def grab_frame(video: Path, second: float, out: Path) -> Image.Image:
    """Decode one full-resolution frame with ffmpeg (independently of the ingestion pipeline)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", f"{second:.3f}", "-i", str(video), "-map", "0:v:0", "-frames:v", "1",
         str(out)],
        check=True,
        timeout=60,
    )
    return Image.open(out).convert("RGB")


def upload(client, endpoint: str, collection: str, path: Path, name: str | None = None):
    with open(path, "rb") as fh:
        if name:
            from django.core.files.uploadedfile import SimpleUploadedFile

            fh = SimpleUploadedFile(name, fh.read())
        return client.post(endpoint, {"collection": collection, "file": fh})
