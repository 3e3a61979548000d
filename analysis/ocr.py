"""Read the text on one frame with the Tesseract command-line program: words with boxes, grouped into lines.

Why the CLI and not a binding: ``tesseract`` is a Debian package with its language data beside it, nothing to
build; one process per frame costs ~0.05 s to start, small next to the ~0.5-2 s it reads a 720p frame in.
The frame goes in as PNG on stdin and the words come back as TSV on stdout (level 5 rows: a word, its box,
its confidence, and the block/paragraph/line numbers that group words into lines), so nothing touches disk.

Words under :data:`MIN_WORD_CONFIDENCE` are dropped: on busy backgrounds Tesseract "reads" noise, shapes
and texture as short words with low confidence (measured by ``manage.py evaluate text``, see the README).
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from .text_presence import Region
from .timed_text import TimedText, WordBox

#: Words Tesseract is less sure of than this (0..100) are dropped. Chosen on the evaluation's busy backgrounds
#: and the shared real footage: true words of 24 px and up mostly score 90-97; texture read as words 0-80.
MIN_WORD_CONFIDENCE = 70.0
#: Page segmentation: 11 = "sparse text, as much as possible in no particular order". Video text is a few
#: scattered lines (a title, a sign, a subtitle) over pictures, not a page of columns; mode 3's page layout
#: analysis drops lines it takes for part of a picture.
PAGE_SEGMENTATION_MODE = 11
#: Frames shorter than this are enlarged to it first: Tesseract reads best at 20-30 px letters, and a 360p
#: frame's subtitle is 10-15 px high.
UPSCALE_BELOW_HEIGHT = 720
#: One read never runs longer than this (a pathological frame); it counts as a failure of the stage.
READ_TIMEOUT_S = 120.0
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")
_HAS_WORD_CHAR = re.compile(r"\w", re.UNICODE)


class OcrUnavailableError(RuntimeError):
    """Tesseract, or the data of a language asked for, is not installed; str() says which and how to fix it."""


class OcrError(RuntimeError):
    """Tesseract ran but failed on a frame."""


@dataclass(frozen=True)
class OcrWord:
    """One word as Tesseract reports it, in pixels of the image it was given."""

    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float
    block: int
    paragraph: int
    line: int


@dataclass(frozen=True)
class OcrLine:
    """One line of text on a frame: its words (boxes as fractions of the frame) and their mean confidence."""

    text: str
    boxes: tuple[WordBox, ...]
    confidence: float
    language: str

    def at(self, start: float, end: float) -> TimedText:
        return TimedText(start=start, end=end, text=self.text, language=self.language, track="ocr",
                         boxes=self.boxes, confidence=round(self.confidence, 1))


@lru_cache(maxsize=4)
def installed_languages(binary: str = "tesseract") -> frozenset[str]:
    """The languages whose data Tesseract finds (``tesseract --list-langs``)."""
    if shutil.which(binary) is None:
        raise OcrUnavailableError("tesseract is not installed on the server (Debian: apt-get install tesseract-ocr)")
    done = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
    lines = (done.stdout + "\n" + done.stderr).splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and " " not in line.strip())


def check_languages(languages: str, binary: str = "tesseract") -> None:
    """Raise OcrUnavailableError unless Tesseract and every language of ``languages`` ("eng+rus") are there."""
    missing = [lang for lang in languages.split("+") if lang and lang not in installed_languages(binary)]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        raise OcrUnavailableError(f"Tesseract has no data for {', '.join(missing)} (Debian: apt-get install {packages})")


def read_frame(image: Image.Image | np.ndarray, languages: str = "eng+rus", *,
               regions: Sequence[Region] | None = None, min_confidence: float = MIN_WORD_CONFIDENCE,
               binary: str = "tesseract") -> list[OcrLine]:
    """The lines of text Tesseract reads on ``image`` (RGB or grey), words under ``min_confidence`` dropped.

    ``regions`` (pixel boxes of ``image``, from :mod:`.text_presence`) limit the read to those places: each is
    cut out, binarised as dark text on white and stacked into one mosaic read by one Tesseract run. Why: on
    busy footage Tesseract's own page analysis and global threshold lose half the words (measured: recall
    0.46 on the evaluation's frames read whole); clean crops are read almost perfectly and the mosaic pays the
    process start and model load (~0.3 s for eng+rus) once a frame. With ``regions``, the frame's white and
    yellow letters (:func:`bright_letters`) are also read whole, with Tesseract's own layout analysis, and the
    words of both reads joined (:func:`union_words`): outlined subtitles the line finder cuts or misses.
    Without ``regions`` the frame is read whole.
    """
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    grey = np.asarray(picture.convert("L"))
    height, width = grey.shape
    scale = UPSCALE_BELOW_HEIGHT / height if 0 < height < UPSCALE_BELOW_HEIGHT else 1.0
    if scale != 1.0:
        grey = cv2.resize(grey, (round(width * scale), UPSCALE_BELOW_HEIGHT), interpolation=cv2.INTER_CUBIC)
        regions = None if regions is None else [r.scaled(scale) for r in regions]
    if regions is None:
        words = parse_tsv(run_tesseract(png_bytes(Image.fromarray(grey)), languages, binary=binary))
        placed = words
    else:
        crops = [crop for r in merge_boxes(padded(r, grey.shape) for r in regions) for crop in binarised(grey, r)]
        if not crops:
            return []
        mosaic, offsets = stack(crops)
        words = parse_tsv(run_tesseract(png_bytes(Image.fromarray(mosaic)), languages, binary=binary,
                                        psm=MOSAIC_SEGMENTATION_MODE))
        placed = best_versions(words, offsets, min_confidence)
        if (bright_text := bright_letters(grey)) is not None:
            whole = parse_tsv(run_tesseract(png_bytes(Image.fromarray(bright_text)), languages, binary=binary))
            placed = relined(union_words(placed, whole, min_confidence))
    kept = [w for w in placed if w.confidence >= min_confidence]
    return [line for line in group_lines(kept, grey.shape[1], grey.shape[0]) if plausible(line)]


def bright_letters(grey: np.ndarray) -> np.ndarray | None:
    """The frame's letter-sized blobs of BRIGHT_TEXT_LEVEL and brighter, black on white, or None when it has none.

    Why: subtitles and most captions are white or yellow with a dark outline or shadow. Taken alone, their
    letters stand clear of any background, and Tesseract's page analysis (sparse text) finds the lines itself,
    also those the line finder cuts in two or loses in a busy picture (measured on the evaluation's frames:
    outlined words read 0.83 -> 0.98 joined with the crops' reads). Blobs taller than a line or wider than a
    long word (a white sky, a white shape) and specks are cleared first, so a bright picture costs no read.
    """
    height, width = grey.shape
    mask = ((grey >= BRIGHT_TEXT_LEVEL) * 255).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    letter = (h <= height * BRIGHT_MAX_LETTER_SHARE) & (w <= height * BRIGHT_MAX_LETTER_SHARE * 3) \
        & ((w >= SPECK_PX) | (h >= SPECK_PX)) & (h >= height * BRIGHT_MIN_LETTER_SHARE)
    letter[0] = False
    if letter.sum() > BRIGHT_MAX_LETTERS:  # bright texture (snow, sunlit leaves): a slow read of nothing
        return None
    out = np.where(letter[labels], 0, 255).astype(np.uint8)
    plates = dark_letters_on_plates(grey, out)
    if letter.sum() + plates < BRIGHT_MIN_LETTERS:
        return None
    return out


#: Light plates (signs, captions on a band) are blobs this bright, a line high, at least twice as wide...
PLATE_LEVEL = 180
PLATE_MIN_SHARE, PLATE_MAX_SHARE = 0.02, 0.2
#: ...their letters the pixels this much darker than the plate.
PLATE_CONTRAST = 60


def dark_letters_on_plates(grey: np.ndarray, out: np.ndarray) -> int:
    """Draw into ``out`` (black on white) the dark letters on the frame's light plates; how many plates.

    Why: dark text on a light plate over a busy picture is cut out with the picture around it by the line
    finder and Otsu's threshold mixes both; the plate alone is clean (measured: 32 px plated lines of the
    evaluation read as "a")."""
    height = grey.shape[0]
    mask = ((grey >= PLATE_LEVEL) * 255).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    found = 0
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        if not (height * PLATE_MIN_SHARE <= h <= height * PLATE_MAX_SHARE and w >= 2 * h and area >= 0.5 * w * h):
            continue
        box = grey[y:y + h, x:x + w]
        level = float(np.median(box[labels[y:y + h, x:x + w] == label]))
        out[y:y + h, x:x + w] = np.where(box < level - PLATE_CONTRAST, 0, 255)  # not its bright bits
        found += 1
    return found


#: Bright blobs are letters when 0.5-12 % of the frame's height (a 720p frame's 4-86 px: a letter's dot, a capital)...
BRIGHT_MIN_LETTER_SHARE, BRIGHT_MAX_LETTER_SHARE = 0.005, 0.12
#: ...and a frame with fewer such blobs has no bright text worth a second read.
BRIGHT_MIN_LETTERS = 3
#: A frame with more than this many bright letter-sized blobs is texture, not text, and is not read whole
#: (the evaluation's frames: 58-325 with 8-12 lines of text on screen).
BRIGHT_MAX_LETTERS = 1500
#: Two reads' words are the same word when this share of the smaller box lies in the other.
SAME_WORD_OVERLAP = 0.5


def union_words(first: Sequence[OcrWord], second: Sequence[OcrWord], min_confidence: float) -> list[OcrWord]:
    """The words of two reads of one frame, one per place: of confident words whose boxes overlap, the longer,
    then the more confident. Why the longer: a crop that cuts a word reads its end with confidence ("ver" of
    "river"), the whole-frame read the word."""
    kept: list[OcrWord] = []
    for word in sorted((w for w in (*first, *second) if w.confidence >= min_confidence),
                       key=lambda w: (sum(ch.isalnum() for ch in w.text), w.confidence), reverse=True):
        if not any(_overlap(word, other) >= SAME_WORD_OVERLAP for other in kept):
            kept.append(word)
    return kept


def relined(words: Iterable[OcrWord]) -> list[OcrWord]:
    """Words numbered into lines by where they are (two reads number their lines each their own way): a word
    joins the line of the words it shares most of its height with, so one line read half by each read is one."""
    lines: list[list[OcrWord]] = []
    for word in sorted(words, key=lambda w: (w.top + w.height / 2, w.left)):
        for line in lines:
            top, bottom = min(w.top for w in line), max(w.top + w.height for w in line)
            shared = min(bottom, word.top + word.height) - max(top, word.top)
            if shared >= SAME_LINE_SHARE * min(word.height, bottom - top):
                line.append(word)
                break
        else:
            lines.append([word])
    return [replace(w, block=number, paragraph=0, line=0) for number, line in enumerate(lines) for w in line]


#: Words are on one line when this share of the shorter's height is shared.
SAME_LINE_SHARE = 0.6


def _overlap(a: OcrWord, b: OcrWord) -> float:
    w = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    h = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(1, min(a.width * a.height, b.width * b.height))


@dataclass(frozen=True)
class _Crop:
    box: Region  # where it was cut from (pixels of the frame)
    image: np.ndarray  # binarised: text 0, background 255
    polarity: str  # "light" | "dark" | "bright": which side of which threshold was taken for text


def padded(region: Region, shape: tuple[int, int]) -> Region:
    """A text box with room around it (Tesseract wants a margin; the test's boxes are tight and coarse)."""
    height, width = shape
    pad_y, pad_x = max(3, region.h // 4), max(6, region.h * 4 // 5)
    x0, y0 = max(0, region.x - pad_x), max(0, region.y - pad_y)
    x1, y1 = min(width, region.x + region.w + pad_x), min(height, region.y + region.h + pad_y)
    return Region(x0, y0, x1 - x0, y1 - y0)


def merge_boxes(boxes: Iterable[Region]) -> list[Region]:
    """Overlapping boxes joined (so no word is read twice), top to bottom."""
    merged: list[Region] = []
    for box in sorted(boxes, key=lambda b: (b.y, b.x)):
        for i, other in enumerate(merged):
            if box.x < other.x + other.w and other.x < box.x + box.w and box.y < other.y + other.h \
                    and other.y < box.y + box.h:
                x0, y0 = min(box.x, other.x), min(box.y, other.y)
                x1, y1 = max(box.x + box.w, other.x + other.w), max(box.y + box.h, other.y + other.h)
                merged[i] = Region(x0, y0, x1 - x0, y1 - y0)
                break
        else:
            merged.append(box)
    return merged


def binarised(grey: np.ndarray, box: Region) -> list[_Crop]:
    """The crop as black text on white, in both polarities (light text, dark text) of Otsu's threshold, and
    its brightest pixels alone (:data:`BRIGHT_TEXT_LEVEL`: white or yellow subtitles).

    Blobs touching the crop's edge (the background, a plate's border, a shape cut by the crop) are cleared, so
    of outlined subtitle text the light side keeps the letters' fill and the dark side their outlines; dark text
    on a light plate keeps its letters on the dark side. Both go to Tesseract; :func:`best_versions` keeps the
    one it reads with more confidence (the mosaic makes the second one cheap: one process for all).
    """
    crop = grey[box.y:box.y + box.h, box.x:box.x + box.w]
    if crop.size == 0 or crop.std() < 8:
        return []
    _, light = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    versions = []
    bright = ((crop >= BRIGHT_TEXT_LEVEL) * 255).astype(np.uint8)
    for polarity, text in (("light", light), ("dark", cv2.bitwise_not(light)), ("bright", bright)):
        text = without_edge_blobs(text, speck=SPECK_PX)
        if text.any():
            versions.append(_Crop(box, cv2.bitwise_not(text), polarity))
    return versions


#: A third version of each crop takes only pixels this bright (0..255) for text: subtitles are white or yellow
#: (grey 226) with a dark outline, and over a busy background Otsu's one threshold splits the background
#: instead, so the letters come out joined to it (measured on the evaluation's frames: outlined text's word
#: recall 0.62 -> 0.83 with it; levels 180 / 235 gave 0.75 / no gain; relative to the crop's brightest 0.80).
BRIGHT_TEXT_LEVEL = 210
#: Blobs under this many pixels both ways are specks (noise, grain), not letters (a 24 px letter's dot is 3-4).
SPECK_PX = 3


def without_edge_blobs(mask: np.ndarray, speck: int = 0) -> np.ndarray:
    """``mask`` (255 = candidate text) without the connected blobs that touch its border, nor specks: blobs
    under ``speck`` pixels both wide and high."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h, w = mask.shape
    touching = [label for label in range(1, count)
                if stats[label][0] == 0 or stats[label][1] == 0 or stats[label][0] + stats[label][2] >= w
                or stats[label][1] + stats[label][3] >= h or (stats[label][2] < speck and stats[label][3] < speck)]
    out = mask.copy()
    if touching:
        out[np.isin(labels, touching)] = 0
    return out


#: White space between crops in the mosaic, so Tesseract never joins two of them into one line.
MOSAIC_GAP = 24
#: The mosaic is a column of single lines: mode 6 ("a single uniform block of text").
MOSAIC_SEGMENTATION_MODE = 6


def stack(crops: Sequence[_Crop]) -> tuple[np.ndarray, list[tuple[int, int, _Crop]]]:
    """One white image with the crops one under another; (mosaic, [(left, top, crop) in the mosaic])."""
    width = max(c.image.shape[1] for c in crops) + 2 * MOSAIC_GAP
    height = sum(c.image.shape[0] for c in crops) + MOSAIC_GAP * (len(crops) + 1)
    mosaic = np.full((height, width), 255, np.uint8)
    offsets, top = [], MOSAIC_GAP
    for crop in crops:
        h, w = crop.image.shape
        mosaic[top:top + h, MOSAIC_GAP:MOSAIC_GAP + w] = crop.image
        offsets.append((MOSAIC_GAP, top, crop))
        top += h + MOSAIC_GAP
    return mosaic, offsets


def to_frame(word: OcrWord, offsets: Sequence[tuple[int, int, _Crop]]) -> tuple[int, OcrWord] | None:
    """(index of its crop, the mosaic word moved to where its crop came from in the frame, its line keyed by
    the crop's box), or None for a word outside every crop."""
    cy = word.top + word.height / 2
    for number, (left, top, crop) in enumerate(offsets):
        h = crop.image.shape[0]
        if top <= cy < top + h:
            block = hash((crop.box.x, crop.box.y)) & 0xFFFFFFF
            return number, replace(word, left=word.left - left + crop.box.x, top=word.top - top + crop.box.y,
                                   block=block, paragraph=word.paragraph * 1000 + word.block, line=word.line)
    return None


def best_versions(words: Iterable[OcrWord], offsets: Sequence[tuple[int, int, _Crop]],
                  min_confidence: float) -> list[OcrWord]:
    """The words of each crop's better-read polarity: the one with the larger sum of confident words' scores."""
    by_crop: dict[int, list[OcrWord]] = {}
    for word in words:
        if (found := to_frame(word, offsets)) is not None:
            by_crop.setdefault(found[0], []).append(found[1])
    best: dict[Region, tuple[float, list[OcrWord]]] = {}
    for number, crop_words in by_crop.items():
        box = offsets[number][2].box
        score = sum(w.confidence for w in crop_words if w.confidence >= min_confidence)
        if box not in best or score > best[box][0]:
            best[box] = (score, crop_words)
    return [w for _, crop_words in best.values() for w in crop_words]


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # fast: Tesseract decodes it at once
    return buffer.getvalue()


def run_tesseract(png: bytes, languages: str, *, binary: str = "tesseract",
                  psm: int = PAGE_SEGMENTATION_MODE) -> str:
    """Tesseract's TSV for one PNG image (stdin to stdout, one thread: workers run several jobs at once)."""
    check_languages(languages, binary)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run([binary, "stdin", "stdout", "-l", languages, "--psm", str(psm), "tsv"],
                              input=png, capture_output=True, timeout=READ_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OcrError(f"tesseract took over {READ_TIMEOUT_S:.0f} s on one frame") from exc
    except FileNotFoundError as exc:
        raise OcrUnavailableError("tesseract is not installed on the server") from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise OcrError(f"tesseract failed: {tail[0][:200]}")
    return done.stdout.decode("utf-8", "replace")


def parse_tsv(tsv: str) -> list[OcrWord]:
    """The words (level 5 rows with text) of Tesseract's TSV output, in its reading order."""
    words = []
    lines = tsv.splitlines()
    if not lines:
        return words
    header = lines[0].split("\t")
    try:
        col = {name: header.index(name) for name in ("level", "block_num", "par_num", "line_num", "left", "top",
                                                     "width", "height", "conf", "text")}
    except ValueError as exc:
        raise OcrError(f"tesseract's TSV has an unexpected header: {lines[0][:120]!r}") from exc
    for row in lines[1:]:
        cells = row.split("\t")
        if len(cells) < len(header) or cells[col["level"]] != "5":
            continue
        text = cells[col["text"]].strip()
        if not text or not _HAS_WORD_CHAR.search(text):
            continue  # punctuation alone is no searchable word
        try:
            words.append(OcrWord(
                text=text, left=int(cells[col["left"]]), top=int(cells[col["top"]]),
                width=int(cells[col["width"]]), height=int(cells[col["height"]]),
                confidence=float(cells[col["conf"]]), block=int(cells[col["block_num"]]),
                paragraph=int(cells[col["par_num"]]), line=int(cells[col["line_num"]])))
        except ValueError:
            continue
    return words


def group_lines(words: Iterable[OcrWord], frame_width: int, frame_height: int) -> list[OcrLine]:
    """Words joined into lines by Tesseract's block/paragraph/line numbers, left to right, top to bottom."""
    groups: dict[tuple[int, int, int], list[OcrWord]] = {}
    for word in words:
        groups.setdefault((word.block, word.paragraph, word.line), []).append(word)
    lines = []
    for members in (part for group in groups.values() for part in split_at_gaps(group)):
        boxes = tuple(WordBox(text=w.text, x=w.left / frame_width, y=w.top / frame_height,
                              w=w.width / frame_width, h=w.height / frame_height, confidence=w.confidence)
                      for w in members)
        text = " ".join(w.text for w in members)
        lines.append(OcrLine(text=text, boxes=boxes, confidence=float(np.mean([w.confidence for w in members])),
                             language=language_of(text)))
    lines.sort(key=lambda line: (round(min(b.y for b in line.boxes), 2), min(b.x for b in line.boxes)))
    return lines


#: A line of fewer letters and digits than this is kept only when read with at least SHORT_LINE_CONFIDENCE:
#: texture read as text is mostly one or two characters ("a", "N", "4"), while a route number "23" is read
#: with 90+.
MIN_LINE_CHARS = 3
SHORT_LINE_CONFIDENCE = 88.0


def plausible(line: OcrLine) -> bool:
    chars = sum(ch.isalnum() for ch in line.text)
    return chars >= MIN_LINE_CHARS or line.confidence >= SHORT_LINE_CONFIDENCE


#: Words further apart than this many line heights are separate lines (two signs side by side that Tesseract,
#: or one crop holding both, put on one line).
MAX_WORD_GAP = 1.5


def split_at_gaps(words: list[OcrWord]) -> list[list[OcrWord]]:
    """One Tesseract line, left to right, cut where the space between two words is wider than MAX_WORD_GAP."""
    words = sorted(words, key=lambda w: w.left)
    parts: list[list[OcrWord]] = [[words[0]]] if words else []
    for word in words[1:]:
        previous = parts[-1][-1]
        height = max(previous.height, word.height, 1)
        if word.left - (previous.left + previous.width) > MAX_WORD_GAP * height:
            parts.append([word])
        else:
            parts[-1].append(word)
    return parts


def language_of(text: str) -> str:
    """"rus" when the line is mostly Cyrillic letters, "eng" when mostly Latin, "" without letters."""
    cyrillic, latin = len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))
    if not cyrillic and not latin:
        return ""
    return "rus" if cyrillic >= latin else "eng"
