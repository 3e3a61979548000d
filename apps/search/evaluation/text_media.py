"""Generated videos with burned-in English and Russian words at known times, places, fonts and sizes.

Why generated: real footage has no word-level ground truth, and the OCR figures must say how recall depends
on size and language. Each video is drawn frame by frame with PIL over a busy background (noise, a gradient,
moving shapes: what makes OCR read texture as words) and encoded with ffmpeg (H.264, yuv420p, like most
uploads); the ground truth is the list of :class:`TextItem` it was drawn from. No Django here.
"""
from __future__ import annotations

import random
import subprocess
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1280, 720
FPS = 10
FONT_DIR = Path("/usr/share/fonts/truetype")
FONTS = {
    "DejaVuSans": "dejavu/DejaVuSans.ttf",
    "DejaVuSerif": "dejavu/DejaVuSerif.ttf",
    "DejaVuSansMono": "dejavu/DejaVuSansMono.ttf",
    "DejaVuSans-Bold": "dejavu/DejaVuSans-Bold.ttf",
    "LiberationSans": "liberation/LiberationSans-Regular.ttf",
    "LiberationSerif": "liberation/LiberationSerif-Regular.ttf",
}
#: Text sizes drawn: the font's pixel size (its em, as CSS ``font-size: 24px``); 24 px and up is the goal's range.
SIZES = (24, 32, 48, 64)
ENGLISH = ["EXIT", "street", "station", "market", "garden", "bridge", "coffee", "hotel", "museum", "airport",
           "river", "north", "bakery", "pharmacy", "library", "harbour", "tunnel", "parking", "theatre", "school",
           "winter", "summer", "morning", "evening", "yellow", "orange", "silver", "window", "planet", "forest"]
RUSSIAN = ["ВЫХОД", "улица", "станция", "рынок", "сад", "мост", "кофе", "гостиница", "музей", "аэропорт",
           "река", "север", "пекарня", "аптека", "библиотека", "гавань", "тоннель", "парковка", "театр", "школа",
           "зима", "лето", "утро", "вечер", "жёлтый", "оранжевый", "серебро", "окно", "планета", "лес"]


@dataclass(frozen=True)
class TextItem:
    """A line of words drawn from ``start`` to ``end`` seconds with its top-left corner at (x, y) pixels."""

    text: str
    language: str  # "eng" | "rus"
    start: float
    end: float
    x: int
    y: int
    font: str
    size: int  # font pixel size
    fade_in: float = 0.0  # seconds over which it fades in (a title card)
    box: tuple[int, int, int, int] = (0, 0, 0, 0)  # drawn bounding box (x, y, w, h), filled by the renderer

    @property
    def words(self) -> list[str]:
        return self.text.split()


@dataclass
class TextVideo:
    """One generated video: its length, background and the text drawn on it (the ground truth)."""

    name: str
    duration: float
    background: str  # "noise" | "gradient" | "shapes" | "mixed"
    items: list[TextItem] = field(default_factory=list)
    seed: int = 0
    fps: int = FPS


@lru_cache(maxsize=32)
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / FONTS[name]), size)


def text_box(item: TextItem) -> tuple[int, int, int, int]:
    """(x, y, w, h) in pixels of the drawn text."""
    left, top, right, bottom = font(item.font, item.size).getbbox(item.text)
    return item.x + left, item.y + top, right - left, bottom - top


def background(kind: str, t: float, rng_seed: int) -> np.ndarray:
    """A busy RGB background at time ``t``: moving shapes, gradients and noise that OCR may mistake for text."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    phase = t * 0.7 + rng_seed
    base = np.stack([
        110 + 70 * np.sin(xx / 210 + phase),
        100 + 60 * np.cos(yy / 170 - phase * 0.8),
        120 + 50 * np.sin((xx + yy) / 260 + phase * 1.3),
    ], axis=-1)
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    if kind in ("shapes", "mixed"):
        draw = ImageDraw.Draw(image)
        rng = random.Random(rng_seed)
        for _ in range(14):
            cx, cy = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT)
            vx, vy = rng.uniform(-80, 80), rng.uniform(-50, 50)
            r = rng.uniform(20, 110)
            px, py = (cx + vx * t) % WIDTH, (cy + vy * t) % HEIGHT
            colour = tuple(rng.randrange(256) for _ in range(3))
            if rng.random() < 0.5:
                draw.ellipse((px - r, py - r, px + r, py + r), fill=colour)
            else:
                draw.rectangle((px - r, py - r * 0.6, px + r, py + r * 0.6), fill=colour)
            draw.line((px - r, py + r, px + r * 1.5, py - r), fill=tuple(255 - c for c in colour), width=3)
    pixels = np.asarray(image).astype(np.int16)
    if kind in ("noise", "mixed"):
        noise = np.random.default_rng(rng_seed * 1000 + round(t * 100)).integers(-40, 41, pixels.shape[:2])
        pixels = pixels + noise[..., None]
    return pixels.clip(0, 255).astype(np.uint8)


def plated(item: TextItem) -> bool:
    """Half the lines are drawn as outlined subtitles, half on a light plate (by their text, repeatably)."""
    return zlib.crc32(item.text.encode()) % 2 == 0


def draw_text(image: Image.Image, item: TextItem, alpha: float = 1.0) -> None:
    """Draw one item as burned-in text: white with a dark outline (subtitle style) or dark on a light plate."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    face = font(item.font, item.size)
    opacity = round(255 * alpha)
    if not plated(item):
        stroke = max(2, item.size // 12)
        draw.text((item.x, item.y), item.text, font=face, fill=(255, 255, 255, opacity), stroke_width=stroke,
                  stroke_fill=(0, 0, 0, opacity))
    else:
        x, y, w, h = text_box(item)
        pad = max(4, item.size // 4)
        draw.rectangle((x - pad, y - pad, x + w + pad, y + h + pad), fill=(235, 235, 225, round(opacity * 0.85)))
        draw.text((item.x, item.y), item.text, font=face, fill=(20, 20, 30, opacity))
    image.alpha_composite(layer) if image.mode == "RGBA" else image.paste(layer, (0, 0), layer)


def render_frame(video: TextVideo, t: float) -> np.ndarray:
    """The RGB frame of ``video`` at time ``t``."""
    image = Image.fromarray(background(video.background, t, video.seed))
    for item in video.items:
        if item.start <= t < item.end:
            alpha = 1.0 if item.fade_in <= 0 else min(1.0, (t - item.start) / item.fade_in)
            draw_text(image, item, alpha)
    return np.asarray(image)


def encode(video: TextVideo, path: Path) -> Path:
    """Write ``video`` as H.264 MP4 at ``path`` (frames piped to ffmpeg as raw RGB)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}",
           "-r", str(video.fps), "-i", "pipe:0", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
           "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    try:
        for index in range(round(video.duration * video.fps)):
            proc.stdin.write(render_frame(video, index / video.fps).tobytes())
    finally:
        proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg could not encode {path}")
    return path


def with_boxes(items: list[TextItem]) -> list[TextItem]:
    return [TextItem(**{**item.__dict__, "box": text_box(item)}) for item in items]


def _line(rng: random.Random, words: list[str], count: int) -> str:
    return " ".join(rng.sample(words, count))


def text_videos(seed: int = 13, duration: float = 8.0) -> list[TextVideo]:
    """The evaluation set: text-heavy videos (every size and font, both languages, over each background;
    lines appear mid-shot, change, fade in) and one video of the same backgrounds without any text."""
    rng = random.Random(seed)
    fonts = list(FONTS)
    videos = []
    for number, kind in enumerate(("noise", "gradient", "shapes", "mixed")):
        items = []
        for slot in range(3):  # three text periods a video: appear, hold, change
            start = 0.5 + slot * (duration / 3)
            end = start + duration / 3 - 0.8
            row_y = 40
            for size in SIZES:
                for language, words in (("eng", ENGLISH), ("rus", RUSSIAN)):
                    x = rng.randrange(30, 200) + (0 if language == "eng" else WIDTH // 2)
                    text = _line(rng, words, 2 if size >= 48 else 3)
                    face = fonts[rng.randrange(len(fonts))]
                    if font(face, size).getbbox(text)[2] + x > WIDTH - 20:
                        text = text.split()[0]
                    items.append(TextItem(text, language, round(start, 2), round(end, 2), x, row_y, face, size,
                                          fade_in=0.5 if slot == 1 and size == 64 else 0.0))
                row_y += int(size * 1.9) + 10
        videos.append(TextVideo(f"text-{number}-{kind}.mp4", duration, kind, with_boxes(items), seed=seed + number))
    videos.append(TextVideo("notext-mixed.mp4", duration, "mixed", [], seed=seed + 99))
    return videos


def small_text_video(duration: float = 4.0) -> TextVideo:
    """A short video for the integration tests: one English and one Russian line appearing mid-shot."""
    items = [
        TextItem("EXIT 23 station", "eng", 1.0, 3.0, 80, 120, "DejaVuSans", 40),
        TextItem("новая улица", "rus", 2.0, 4.0, 600, 520, "DejaVuSans", 40),
    ]
    return TextVideo("small-text.mp4", duration, "gradient", with_boxes(items), seed=3)


def frame_has_text(video: TextVideo, t: float) -> bool:
    return any(item.start <= t < item.end for item in video.items)
