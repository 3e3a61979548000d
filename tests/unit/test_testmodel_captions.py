"""Captions of the generated scenes: exact wording (Russian agreement included) and determinism."""
from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from apps.search.testmodel.scenes import (
    COLOURS,
    COUNTS,
    OBJECTS,
    PLAIN,
    POSITIONS,
    TEXTURES,
    ObjectGroup,
    SceneSpec,
    caption_en,
    caption_ru,
    distinct_specs,
    random_spec,
    render,
)


def one(kind: str, colour: str, count: int, position: str, background: str, bg_colour: str | None = None):
    return SceneSpec(background, (ObjectGroup(kind, colour, count, position),), bg_colour)


CASES = [
    (one("car", "red", 1, "centre", "road"), "a red car in the centre on a road", "красная машина в центре на дороге"),
    (one("circle", "red", 1, "left", PLAIN, "green"), "a red circle on the left on a green background",
     "красный круг слева на зелёном фоне"),
    (one("heart", "red", 1, "right", PLAIN, "white"), "a red heart on the right on a white background",
     "красное сердце справа на белом фоне"),
    (one("tree", "blue", 1, "left", "grass"), "a blue tree on the left on the grass", "синее дерево слева на траве"),
    (one("boat", "orange", 1, "bottom", "water"), "an orange boat at the bottom on the water",
     "оранжевая лодка снизу на воде"),
    (one("triangle", "black", 1, "top", PLAIN, "yellow"), "a black triangle at the top on a yellow background",
     "чёрный треугольник сверху на жёлтом фоне"),
    (one("square", "blue", 2, "top", PLAIN, "white"), "two blue squares at the top on a white background",
     "два синих квадрата сверху на белом фоне"),
    (one("car", "red", 2, "left", "road"), "two red cars on the left on a road", "две красные машины слева на дороге"),
    (one("tree", "green", 2, "centre", "night"), "two green trees in the centre at night",
     "два зелёных дерева в центре ночью"),
    (one("star", "white", 2, "top", "night"), "two white stars at the top at night", "две белые звезды сверху ночью"),
    (one("star", "yellow", 3, "bottom", "sky"), "three yellow stars at the bottom in the sky",
     "три жёлтые звезды снизу в небе"),
    (one("house", "purple", 3, "right", "grass"), "three purple houses on the right on the grass",
     "три фиолетовых дома справа на траве"),
    (one("heart", "blue", 3, "centre", PLAIN, "orange"), "three blue hearts in the centre on an orange background",
     "три синих сердца в центре на оранжевом фоне"),
    (SceneSpec("road", (ObjectGroup("car", "red", 1, "left"), ObjectGroup("square", "blue", 2, "right"))),
     "a red car on the left and two blue squares on the right on a road",
     "красная машина слева и два синих квадрата справа на дороге"),
]


@pytest.mark.parametrize(("spec", "en", "ru"), CASES, ids=[c[1] for c in CASES])
def test_exact_captions(spec: SceneSpec, en: str, ru: str) -> None:
    assert caption_en(spec) == en
    assert caption_ru(spec) == ru


@pytest.mark.parametrize(
    ("kind", "colour", "background", "bg_colour"),
    [("circle", "green", "grass", None), ("boat", "red", "road", None), ("square", "white", PLAIN, "white")],
)
def test_untruthful_scenes_are_rejected(kind: str, colour: str, background: str, bg_colour: str | None) -> None:
    with pytest.raises(ValueError):
        one(kind, colour, 1, "left", background, bg_colour)


def test_same_seed_same_scene_bytes_and_captions() -> None:
    def draw(seed: int) -> tuple[list[str], list[bytes]]:
        specs = distinct_specs(np.random.default_rng(seed), 12)
        images = [render(s, (96, 72), np.random.default_rng([seed, i])) for i, s in enumerate(specs)]
        return [caption_en(s) + "|" + caption_ru(s) for s in specs], [im.tobytes() for im in images]

    assert draw(5) == draw(5)
    assert draw(5) != draw(6)


def test_render_size_and_jitter() -> None:
    spec = one("car", "red", 1, "centre", "road")
    a = render(spec, (320, 180), np.random.default_rng(1))
    b = render(spec, (320, 180), np.random.default_rng(2))
    assert a.size == (320, 180) and a.mode == "RGB"
    assert a.tobytes() != b.tobytes()


def test_random_specs_are_valid_and_varied() -> None:
    rng = np.random.default_rng(0)
    specs = [random_spec(rng) for _ in range(500)]
    assert len({caption_en(s) for s in specs}) > 450
    assert {s.groups[0].kind for s in specs} == set(OBJECTS)
    assert {s.background for s in specs} == {PLAIN, *TEXTURES}


def test_every_caption_fits_the_text_context() -> None:
    """The longest templated caption must not be truncated by the 77-token CLIP tokenizer.

    BPE encodes each whitespace-separated word on its own, so summing cached per-word counts is exact.
    """
    from open_clip.tokenizer import SimpleTokenizer

    from apps.search.prompts import EN_TEMPLATES, RU_TEMPLATES

    tok = SimpleTokenizer()
    word_tokens = functools.cache(lambda word: len(tok.encode(word)))
    en_template, ru_template = max(EN_TEMPLATES, key=len), max(RU_TEMPLATES, key=len)
    longest = 0
    backgrounds = [(t, None) for t in TEXTURES] + [(PLAIN, c) for c in COLOURS]
    for kind, colour, count, pos, (bg, bgc) in itertools.product(OBJECTS, COLOURS, COUNTS, POSITIONS, backgrounds):
        try:
            spec = one(kind, colour, count, pos, bg, bgc)
        except ValueError:
            continue
        for template, caption in ((en_template, caption_en(spec)), (ru_template, caption_ru(spec))):
            longest = max(longest, sum(word_tokens(w) for w in template.format(caption).split()) + 2)
    assert len(tok.encode("кадр из видео: два оранжевых треугольника")) == sum(
        word_tokens(w) for w in "кадр из видео: два оранжевых треугольника".split())
    assert 60 < longest <= 77
