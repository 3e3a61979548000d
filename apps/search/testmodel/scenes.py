"""Deterministic synthetic scenes with English and Russian captions.

The bundled test model is trained and evaluated only on these scenes, so everything here is a pure
function of the spec and a numpy ``Generator``: the same seed gives byte-identical images, and every
caption names exactly what is drawn (no invisible objects, no ambiguous colours), which is what makes
retrieval metrics on them honest.

Objects are placed inside the centred square "stage" of the canvas because CLIP preprocessing resizes
the short side and centre-crops: anything outside that square would be cut off for the model.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Colour:
    """A colour name with its RGB value and every Russian adjective form the captions need."""

    en: str
    rgb: RGB
    ru_m: str  # masculine nominative singular: красный (круг)
    ru_f: str  # feminine nominative singular: красная (машина)
    ru_n: str  # neuter nominative singular: красное (сердце)
    ru_pl_nom: str  # plural nominative, used with feminine nouns after 2-4: две красные машины
    ru_pl_gen: str  # plural genitive, used with masculine/neuter nouns after 2-4: два красных круга
    ru_prep: str  # masculine prepositional singular: на красном фоне


COLOURS: dict[str, Colour] = {
    c.en: c
    for c in (
        Colour("red", (220, 30, 30), "красный", "красная", "красное", "красные", "красных", "красном"),
        Colour("green", (40, 170, 60), "зелёный", "зелёная", "зелёное", "зелёные", "зелёных", "зелёном"),
        Colour("blue", (30, 70, 220), "синий", "синяя", "синее", "синие", "синих", "синем"),
        Colour("yellow", (245, 215, 30), "жёлтый", "жёлтая", "жёлтое", "жёлтые", "жёлтых", "жёлтом"),
        Colour("white", (245, 245, 245), "белый", "белая", "белое", "белые", "белых", "белом"),
        Colour("orange", (250, 135, 20), "оранжевый", "оранжевая", "оранжевое", "оранжевые", "оранжевых", "оранжевом"),
        Colour("purple", (140, 50, 190), "фиолетовый", "фиолетовая", "фиолетовое", "фиолетовые", "фиолетовых",
               "фиолетовом"),
        Colour("black", (20, 20, 20), "чёрный", "чёрная", "чёрное", "чёрные", "чёрных", "чёрном"),
    )
}


@dataclass(frozen=True)
class ObjectKind:
    """A drawable object type with its nouns; Russian gender drives adjective and numeral agreement."""

    en: str
    en_pl: str
    ru_gender: str  # "m", "f" or "n"
    ru_sg: str  # nominative singular: машина
    ru_gen_sg: str  # genitive singular, the form after 2-4: (две) машины
    aspect: float  # width / height of the drawn object
    backgrounds: tuple[str, ...]  # background kinds where this object may appear


PLAIN = "plain"
TEXTURES: tuple[str, ...] = ("grass", "sky", "road", "water", "night")
ALL_BACKGROUNDS: tuple[str, ...] = (PLAIN, *TEXTURES)

OBJECTS: dict[str, ObjectKind] = {
    o.en: o
    for o in (
        ObjectKind("circle", "circles", "m", "круг", "круга", 1.0, ALL_BACKGROUNDS),
        ObjectKind("square", "squares", "m", "квадрат", "квадрата", 1.0, ALL_BACKGROUNDS),
        ObjectKind("triangle", "triangles", "m", "треугольник", "треугольника", 1.0, ALL_BACKGROUNDS),
        ObjectKind("star", "stars", "f", "звезда", "звезды", 1.0, ALL_BACKGROUNDS),
        ObjectKind("heart", "hearts", "n", "сердце", "сердца", 1.0, ALL_BACKGROUNDS),
        ObjectKind("car", "cars", "f", "машина", "машины", 1.5, (PLAIN, "road", "grass")),
        ObjectKind("tree", "trees", "n", "дерево", "дерева", 0.75, (PLAIN, "grass", "night")),
        ObjectKind("house", "houses", "m", "дом", "дома", 1.0, (PLAIN, "grass", "night")),
        ObjectKind("boat", "boats", "f", "лодка", "лодки", 1.3, (PLAIN, "water")),
    )
}

#: Group centre on the stage (x, y in 0..1) and the axis along which several objects are lined up.
POSITIONS: dict[str, tuple[float, float, str]] = {
    "left": (0.2, 0.5, "v"),
    "right": (0.8, 0.5, "v"),
    "top": (0.5, 0.2, "h"),
    "bottom": (0.5, 0.8, "h"),
    "centre": (0.5, 0.5, "h"),
}
POSITION_EN = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom",
               "centre": "in the centre"}
POSITION_RU = {"left": "слева", "right": "справа", "top": "сверху", "bottom": "снизу", "centre": "в центре"}

TEXTURE_EN = {"grass": "on the grass", "sky": "in the sky", "road": "on a road", "water": "on the water",
              "night": "at night"}
TEXTURE_RU = {"grass": "на траве", "sky": "в небе", "road": "на дороге", "water": "на воде", "night": "ночью"}
#: Object colours that would be (nearly) invisible on a texture.
TEXTURE_CLASH = {"grass": {"green"}, "sky": {"blue"}, "road": {"black"}, "water": {"blue"}, "night": {"black"}}

COUNTS = (1, 2, 3)
NUMERAL_EN = {2: "two", 3: "three"}
NUMERAL_RU = {(2, "m"): "два", (2, "n"): "два", (2, "f"): "две", (3, "m"): "три", (3, "n"): "три", (3, "f"): "три"}

#: Object size as a fraction of the stage side, by how many objects share the group.
BASE_SIZE = {1: 0.3, 2: 0.24, 3: 0.19}


@dataclass(frozen=True)
class ObjectGroup:
    """``count`` objects of one kind and colour placed together at one position."""

    kind: str
    colour: str
    count: int
    position: str


@dataclass(frozen=True)
class SceneSpec:
    """What a scene shows; captions and pixels are both derived from it."""

    background: str  # "plain" or one of TEXTURES
    groups: tuple[ObjectGroup, ...]
    background_colour: str | None = None  # only for "plain"

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ValueError(f"invalid scene {self}: {'; '.join(problems)}")


def validate(spec: SceneSpec) -> list[str]:
    """Return why a spec cannot be drawn truthfully (empty when it can)."""
    problems: list[str] = []
    if spec.background not in ALL_BACKGROUNDS:
        problems.append(f"unknown background {spec.background!r}")
    if (spec.background == PLAIN) != (spec.background_colour is not None):
        problems.append("background_colour is required for plain backgrounds and only for them")
    if spec.background_colour is not None and spec.background_colour not in COLOURS:
        problems.append(f"unknown background colour {spec.background_colour!r}")
    if not spec.groups:
        problems.append("no objects")
    if len({g.position for g in spec.groups}) != len(spec.groups):
        problems.append("two groups share a position")
    for g in spec.groups:
        if g.kind not in OBJECTS or g.colour not in COLOURS or g.count not in COUNTS or g.position not in POSITIONS:
            problems.append(f"unknown attribute in {g}")
            continue
        if spec.background not in OBJECTS[g.kind].backgrounds:
            problems.append(f"{g.kind} does not appear on {spec.background}")
        if g.colour == spec.background_colour or g.colour in TEXTURE_CLASH.get(spec.background, ()):
            problems.append(f"{g.colour} {g.kind} would be invisible on this background")
    return problems


# ---------------------------------------------------------------------------------------------- captions


def _group_en(g: ObjectGroup) -> str:
    kind = OBJECTS[g.kind]
    if g.count == 1:
        article = "an" if g.colour[0] in "aeiou" else "a"
        return f"{article} {g.colour} {kind.en} {POSITION_EN[g.position]}"
    return f"{NUMERAL_EN[g.count]} {g.colour} {kind.en_pl} {POSITION_EN[g.position]}"


def _background_en(spec: SceneSpec) -> str:
    if spec.background == PLAIN:
        colour = spec.background_colour or ""
        article = "an" if colour[0] in "aeiou" else "a"
        return f"on {article} {colour} background"
    return TEXTURE_EN[spec.background]


def caption_en(spec: SceneSpec) -> str:
    """English caption, e.g. "two blue squares on the left on a white background"."""
    groups = " and ".join(_group_en(g) for g in spec.groups)
    return f"{groups} {_background_en(spec)}"


def _group_ru(g: ObjectGroup) -> str:
    kind, colour = OBJECTS[g.kind], COLOURS[g.colour]
    if g.count == 1:
        adjective = {"m": colour.ru_m, "f": colour.ru_f, "n": colour.ru_n}[kind.ru_gender]
        return f"{adjective} {kind.ru_sg} {POSITION_RU[g.position]}"
    # After два/две/три the noun takes genitive singular; the adjective is genitive plural for masculine
    # and neuter nouns (два синих квадрата) and nominative plural for feminine ones (две красные машины).
    adjective = colour.ru_pl_nom if kind.ru_gender == "f" else colour.ru_pl_gen
    numeral = NUMERAL_RU[(g.count, kind.ru_gender)]
    return f"{numeral} {adjective} {kind.ru_gen_sg} {POSITION_RU[g.position]}"


def _background_ru(spec: SceneSpec) -> str:
    if spec.background == PLAIN:
        return f"на {COLOURS[spec.background_colour or ''].ru_prep} фоне"
    return TEXTURE_RU[spec.background]


def caption_ru(spec: SceneSpec) -> str:
    """Russian caption with proper agreement, e.g. "две красные машины слева на дороге"."""
    groups = " и ".join(_group_ru(g) for g in spec.groups)
    return f"{groups} {_background_ru(spec)}"


# ---------------------------------------------------------------------------------------------- sampling


def random_spec(rng: np.random.Generator, *, max_groups: int = 1) -> SceneSpec:
    """Draw a valid scene uniformly over object attributes; backgrounds are half plain, half textured."""
    n_groups = int(rng.integers(1, max_groups + 1))
    while True:
        positions = rng.permutation(list(POSITIONS))[:n_groups]
        groups = tuple(
            ObjectGroup(
                kind=str(rng.choice(list(OBJECTS))),
                colour=str(rng.choice(list(COLOURS))),
                count=int(rng.choice(COUNTS)),
                position=str(pos),
            )
            for pos in positions
        )
        allowed = set(ALL_BACKGROUNDS).intersection(*(OBJECTS[g.kind].backgrounds for g in groups))
        textures = [t for t in TEXTURES if t in allowed]
        if PLAIN in allowed and (not textures or rng.random() < 0.5):
            background, bg_colour = PLAIN, str(rng.choice(list(COLOURS)))
        elif textures:
            background, bg_colour = str(rng.choice(textures)), None
        else:
            continue
        try:
            return SceneSpec(background, groups, bg_colour)
        except ValueError:  # colour clash: draw again
            continue


def all_single_group_specs() -> list[SceneSpec]:
    """Every valid one-group scene (the whole caption space of the test model, ~11k scenes)."""
    backgrounds = [(t, None) for t in TEXTURES] + [(PLAIN, c) for c in COLOURS]
    specs = []
    for kind, colour, count, position in itertools.product(OBJECTS, COLOURS, COUNTS, POSITIONS):
        for background, bg_colour in backgrounds:
            try:
                specs.append(SceneSpec(background, (ObjectGroup(kind, colour, count, position),), bg_colour))
            except ValueError:  # colour clash or object not shown on this background
                continue
    return specs


def distinct_specs(rng: np.random.Generator, n: int, *, max_groups: int = 1) -> list[SceneSpec]:
    """Draw ``n`` specs with pairwise different captions (one right answer per caption in retrieval)."""
    seen: set[str] = set()
    specs: list[SceneSpec] = []
    while len(specs) < n:
        spec = random_spec(rng, max_groups=max_groups)
        key = caption_en(spec)
        if key not in seen:
            seen.add(key)
            specs.append(spec)
    return specs


# ---------------------------------------------------------------------------------------------- rendering


def _jitter(rgb: RGB, rng: np.random.Generator, amount: int = 12) -> RGB:
    noise = rng.integers(-amount, amount + 1, 3)
    return tuple(int(v) for v in np.clip(np.array(rgb) + noise, 0, 255))  # type: ignore[return-value]


def _vertical_gradient(w: int, h: int, top: RGB, bottom: RGB) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    col = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    return np.broadcast_to(col, (h, w, 3)).astype(np.uint8)


def _background(spec: SceneSpec, w: int, h: int, rng: np.random.Generator) -> Image.Image:
    """Plain colour or a simple procedural texture filling the whole canvas."""
    kind = spec.background
    if kind == PLAIN:
        return Image.new("RGB", (w, h), _jitter(COLOURS[spec.background_colour or ""].rgb, rng))
    if kind == "sky":
        return Image.fromarray(_vertical_gradient(w, h, _jitter((90, 160, 235), rng), _jitter((185, 220, 250), rng)))
    if kind == "night":
        img = Image.fromarray(_vertical_gradient(w, h, _jitter((8, 10, 35), rng, 6), _jitter((25, 30, 70), rng, 6)))
        draw = ImageDraw.Draw(img)
        dot = max(1, round(min(w, h) / 200))
        for _ in range(max(8, w * h // 2500)):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            draw.rectangle((x, y, x + dot - 1, y + dot - 1), fill=(200, 200, 210))
        return img
    base = {"grass": (70, 140, 45), "road": (88, 88, 92), "water": (35, 95, 170)}[kind]
    arr = np.array(Image.new("RGB", (w, h), _jitter(base, rng)), dtype=np.int16)
    arr += rng.integers(-10, 11, (h, w, 1), dtype=np.int16)  # grain, same on all channels
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    unit = min(w, h)
    if kind == "grass":
        for _ in range(w * h // 120):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            length = max(2, int(unit * rng.uniform(0.02, 0.05)))
            shade = (40, 110, 30) if rng.random() < 0.5 else (110, 180, 70)
            draw.line((x, y, x + int(rng.integers(-1, 2)), y - length), fill=shade, width=max(1, unit // 150))
    elif kind == "road":
        line_w = max(1, unit // 60)
        for y in (int(h * 0.06), int(h * 0.94)):
            draw.line((0, y, w, y), fill=(225, 225, 225), width=line_w)
        dash, phase = max(4, unit // 10), int(rng.integers(0, max(4, unit // 10)))
        for x in range(-phase, w, 2 * dash):
            draw.line((x, h // 2, x + dash, h // 2), fill=(235, 235, 235), width=line_w)
    elif kind == "water":
        phase, amp, period = rng.uniform(0, 2 * math.pi), unit * 0.012, unit * 0.12
        for i in range(1, 14):
            y0 = h * i / 14
            pts = [(x, y0 + amp * math.sin(x / period * 2 * math.pi + phase + i)) for x in range(0, w + 4, 4)]
            draw.line(pts, fill=(90, 150, 215), width=max(1, unit // 120))
    return img


def _poly(cx: float, cy: float, pts: list[tuple[float, float]], scale: float, angle: float) -> list[tuple[float, float]]:
    ca, sa = math.cos(angle), math.sin(angle)
    return [(cx + scale * (x * ca - y * sa), cy + scale * (x * sa + y * ca)) for x, y in pts]


def _star_points() -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        r = 0.5 if i % 2 == 0 else 0.21
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((r * math.cos(a), r * math.sin(a) + 0.04))
    return pts


def _heart_points() -> list[tuple[float, float]]:
    pts = []
    for i in range(48):
        t = 2 * math.pi * i / 48
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((x / 34, -y / 34 + 0.03))
    return pts


_STAR, _HEART = _star_points(), _heart_points()
_TRIANGLE = [(0.0, -0.47), (0.5, 0.4), (-0.5, 0.4)]
_SQUARE = [(-0.42, -0.42), (0.42, -0.42), (0.42, 0.42), (-0.42, 0.42)]

Drawer = Callable[[ImageDraw.ImageDraw, float, float, float, RGB, float], None]


def _draw_circle(d: ImageDraw.ImageDraw, cx: float, cy: float, s: float, c: RGB, angle: float) -> None:
    r = s * 0.46
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)


def _polygon_drawer(points: list[tuple[float, float]]) -> Drawer:
    def draw(d: ImageDraw.ImageDraw, cx: float, cy: float, s: float, c: RGB, angle: float) -> None:
        d.polygon(_poly(cx, cy, points, s, angle), fill=c)

    return draw


def _draw_car(d: ImageDraw.ImageDraw, cx: float, cy: float, s: float, c: RGB, angle: float) -> None:
    w, h = s * 1.5, s
    x0, y0 = cx - w / 2, cy - h / 2
    d.polygon([(x0 + 0.25 * w, y0 + 0.45 * h), (x0 + 0.35 * w, y0 + 0.1 * h), (x0 + 0.7 * w, y0 + 0.1 * h),
               (x0 + 0.82 * w, y0 + 0.45 * h)], fill=c)
    d.rectangle((x0, y0 + 0.42 * h, x0 + w, y0 + 0.8 * h), fill=c)
    d.polygon([(x0 + 0.33 * w, y0 + 0.43 * h), (x0 + 0.39 * w, y0 + 0.18 * h), (x0 + 0.66 * w, y0 + 0.18 * h),
               (x0 + 0.75 * w, y0 + 0.43 * h)], fill=(170, 200, 220))
    r = 0.14 * h * 1.2
    for wx in (x0 + 0.24 * w, x0 + 0.76 * w):
        d.ellipse((wx - r, y0 + 0.8 * h - r, wx + r, y0 + 0.8 * h + r), fill=(15, 15, 15))


def _draw_tree(d: ImageDraw.ImageDraw, cx: float, cy: float, s: float, c: RGB, angle: float) -> None:
    d.rectangle((cx - 0.07 * s, cy + 0.05 * s, cx + 0.07 * s, cy + 0.5 * s), fill=(110, 65, 25))
    r = 0.3 * s
    d.ellipse((cx - r, cy - 0.5 * s, cx + r, cy - 0.5 * s + 2 * r), fill=c)
    d.ellipse((cx - 0.36 * s, cy - 0.25 * s, cx + 0.05 * s, cy + 0.15 * s), fill=c)
    d.ellipse((cx - 0.05 * s, cy - 0.25 * s, cx + 0.36 * s, cy + 0.15 * s), fill=c)


def _draw_house(d: ImageDraw.ImageDraw, cx: float, cy: float, s: float, c: RGB, angle: float) -> None:
    d.rectangle((cx - 0.36 * s, cy - 0.05 * s, cx + 0.36 * s, cy + 0.48 * s), fill=c)
    d.polygon([(cx - 0.48 * s, cy - 0.03 * s), (cx, cy - 0.48 * s), (cx + 0.48 * s, cy - 0.03 * s)],
              fill=(120, 55, 35))
    d.rectangle((cx - 0.08 * s, cy + 0.18 * s, cx + 0.08 * s, cy + 0.48 * s), fill=(70, 40, 20))


def _draw_boat(d: ImageDraw.ImageDraw, cx: float, cy: float, s: float, c: RGB, angle: float) -> None:
    w = 1.3 * s
    d.polygon([(cx + 0.02 * s, cy - 0.48 * s), (cx + 0.02 * s, cy + 0.08 * s), (cx + 0.42 * s, cy + 0.08 * s)],
              fill=(235, 225, 195))
    d.line((cx, cy - 0.5 * s, cx, cy + 0.15 * s), fill=(80, 50, 30), width=max(1, int(s * 0.04)))
    d.polygon([(cx - w / 2, cy + 0.12 * s), (cx + w / 2, cy + 0.12 * s), (cx + w * 0.35, cy + 0.45 * s),
               (cx - w * 0.35, cy + 0.45 * s)], fill=c)


DRAWERS: dict[str, Drawer] = {
    "circle": _draw_circle,
    "square": _polygon_drawer(_SQUARE),
    "triangle": _polygon_drawer(_TRIANGLE),
    "star": _polygon_drawer(_STAR),
    "heart": _polygon_drawer(_HEART),
    "car": _draw_car,
    "tree": _draw_tree,
    "house": _draw_house,
    "boat": _draw_boat,
}
_ROTATES = {"square", "triangle", "star", "heart"}


def _layout(g: ObjectGroup, rng: np.random.Generator) -> list[tuple[float, float, float, float]]:
    """Return (x, y, size, angle) per object, in stage units, with a little random jitter."""
    gx, gy, axis = POSITIONS[g.position]
    gx, gy = gx + rng.uniform(-0.035, 0.035), gy + rng.uniform(-0.035, 0.035)
    size = BASE_SIZE[g.count] * rng.uniform(0.88, 1.1)
    aspect = OBJECTS[g.kind].aspect
    step = size * (aspect if axis == "h" else 1.0) * 1.18
    out = []
    for i in range(g.count):
        offset = (i - (g.count - 1) / 2) * step
        x, y = (gx + offset, gy) if axis == "h" else (gx, gy + offset)
        x, y = x + rng.uniform(-0.012, 0.012), y + rng.uniform(-0.012, 0.012)
        angle = rng.uniform(-0.15, 0.15) if g.kind in _ROTATES else 0.0
        out.append((x, y, size * rng.uniform(0.95, 1.05), angle))
    return out


def render(
    spec: SceneSpec,
    size: tuple[int, int],
    rng: np.random.Generator,
    *,
    shift: tuple[float, float] = (0.0, 0.0),
) -> Image.Image:
    """Draw ``spec`` on a ``size`` = (width, height) RGB canvas.

    ``rng`` drives colour, position and size jitter so that repeated scenes differ; ``shift`` moves all
    objects by a fraction of the stage (used to animate a scene across video frames with a fixed rng).
    """
    w, h = size
    img = _background(spec, w, h, rng)
    draw = ImageDraw.Draw(img)
    side = min(w, h)
    ox, oy = (w - side) / 2, (h - side) / 2
    for g in spec.groups:
        colour = _jitter(COLOURS[g.colour].rgb, rng)
        for x, y, s, angle in _layout(g, rng):
            px, py = ox + (x + shift[0]) * side, oy + (y + shift[1]) * side
            DRAWERS[g.kind](draw, px, py, s * side, colour, angle)
    return img
