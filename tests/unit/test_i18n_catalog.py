"""The committed Russian catalog: complete, compiled, and with Russian's three plural forms.

The server reads only locale/ru/LC_MESSAGES/django.mo (no gettext tools at runtime), so the .mo must
hold exactly what the .po says; scripts/messages.sh remakes both (docs/i18n.md).
"""
from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import ngettext

from apps.search.page import result_counts
from apps.search.templatetags.js_strings import strings

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "ru" / "LC_MESSAGES"
KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (\".*\")$")


def po_entries(path: Path) -> list[dict]:
    """Each entry of a .po file as {"flags": [...], "msgid": str, "msgstr": str, "msgstr[0]": str, ...}."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": []}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#~"):
                entry["obsolete"] = True
            elif match := KEYWORD.match(line):
                key = match.group(1)
                entry[key] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and key:
                entry[key] += ast.literal_eval(line)
        if "msgid" in entry:
            entries.append(entry)
    return entries


def translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


ENTRIES = po_entries(LOCALE / "django.po")
MESSAGES = [e for e in ENTRIES if e["msgid"] and not e.get("obsolete")]


def test_every_entry_is_translated_and_none_is_fuzzy():
    assert len(MESSAGES) > 100
    untranslated = [e["msgid"] for e in MESSAGES if not all(translations(e))]
    fuzzy = [e["msgid"] for e in ENTRIES if "fuzzy" in e["flags"]]
    assert untranslated == [] and fuzzy == [], "run scripts/messages.sh and translate these (docs/i18n.md)"


def test_plural_entries_have_the_three_russian_forms():
    header = next(e for e in ENTRIES if e["msgid"] == "")["msgstr"]
    assert ("Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
            "(n%100<10 || n%100>=20) ? 1 : 2);") in header
    plurals = [e for e in MESSAGES if "msgid_plural" in e]
    assert plurals and all(sorted(k for k in e if k.startswith("msgstr")) == ["msgstr[0]", "msgstr[1]", "msgstr[2]"]
                           for e in plurals)


def test_the_committed_mo_is_the_compiled_po():
    """Every translation of the .po is in the .mo, word for word (a .po edited but not compiled fails)."""
    with (LOCALE / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)._catalog  # noqa: SLF001 - the compiled entries themselves
    for entry in MESSAGES:
        msgid = entry["msgid"] if "msgctxt" not in entry else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            assert [catalog.get((msgid, n)) for n in range(3)] == [entry[f"msgstr[{n}]"] for n in range(3)], msgid
        else:
            assert catalog.get(msgid) == entry["msgstr"], msgid
    assert len({k[0] if isinstance(k, tuple) else k for k in catalog} - {""}) == len(MESSAGES)


COUNTS = {1: "1 клип", 2: "2 клипа", 5: "5 клипов", 11: "11 клипов", 21: "21 клип", 22: "22 клипа", 12: "12 клипов",
          111: "111 клипов", 104: "104 клипа"}


@pytest.mark.parametrize("n", COUNTS)
def test_russian_plural_forms_of_clips(n):
    with translation.override("ru"):
        assert ngettext("%(count)d clip", "%(count)d clips", n) % {"count": n} == COUNTS[n]
    with translation.override("en"):
        assert ngettext("%(count)d clip", "%(count)d clips", n) % {"count": n} == f"{n} clip{'s' if n != 1 else ''}"


def _answer(clips: int = 0, photos: int = 0, videos: tuple[int, ...] = ()) -> dict:
    results = [{"type": "clip"}] * clips + [{"type": "photo"}] * photos
    results += [{"type": "video", "clips": [{}] * n} for n in videos]
    return {"results": results}


def test_the_search_summary_counts_in_words():
    with translation.override("ru"):
        assert result_counts(_answer(clips=1)) == "1 клип"
        assert result_counts(_answer(clips=2, photos=5)) == "2 клипа, 5 фото"
        assert result_counts(_answer(videos=(3, 2))) == "2 видео, 5 моментов"
        assert result_counts(_answer(videos=(21,))) == "1 видео, 21 момент"
        assert result_counts(_answer()) == "ничего не найдено"
    with translation.override("en"):
        assert result_counts(_answer(clips=2, photos=1)) == "2 clips, 1 photo"
        assert result_counts(_answer(videos=(3, 2))) == "2 videos, 5 moments"


@pytest.mark.parametrize("n, expected", [(1, "1 момент"), (3, "3 момента"), (5, "5 моментов"), (11, "11 моментов"),
                                         (21, "21 момент"), (22, "22 момента")])
def test_a_template_plural_is_russian(n, expected):
    """The "by video" view's count of moments, as templates/search/_video.html writes it."""
    template = Template("{% load i18n %}{% blocktranslate count counter=n %}{{ counter }} moment{% plural %}"
                        "{{ counter }} moments{% endblocktranslate %}")
    with translation.override("ru"):
        assert template.render(Context({"n": n})) == expected


def test_script_words_are_translated():
    with translation.override("ru"):
        ru = strings()
    with translation.override("en"):
        en = strings()
    assert en["play_from_time"] == "Play from {time}" and ru["play_from_time"] == "Смотреть с {time}"
    assert all(ru[key] != en[key] and ("{time}" in en[key]) == ("{time}" in ru[key]) for key in en)
