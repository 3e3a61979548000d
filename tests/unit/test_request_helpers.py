"""Pure helpers of the request path: names, languages, temporal IoU, error messages, folder walking."""
from __future__ import annotations

from pathlib import Path

from apps.core.api_errors import first_message
from apps.media.services.storage import safe_name
from apps.search.management.commands.ingest import find_media
from apps.search.prompts import detect_language, expand_query
from apps.search.temporal import temporal_iou


def test_safe_name_strips_directories_and_odd_characters():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("my clip (final).MP4") == "my_clip_final_.MP4"
    assert safe_name("Кошка на крыше.jpg") == "Кошка_на_крыше.jpg"
    assert safe_name("") == "upload"


def test_language_detection_and_templates():
    assert detect_language("красная машина") == "ru"
    assert detect_language("a red car") == "en"
    assert detect_language("车") == "en"  # other scripts fall back to the English templates
    assert expand_query("красная машина")[1] == "фото: красная машина"
    assert expand_query("a red car")[1] == "a photo of a red car"
    long = "a very long query that already reads like a caption of a frame"
    assert expand_query(long) == [long]


def test_temporal_iou():
    assert temporal_iou((0, 10), (0, 10)) == 1.0
    assert temporal_iou((0, 10), (5, 15)) == 5 / 15
    assert temporal_iou((0, 1), (2, 3)) == 0.0


def test_first_error_message_is_readable():
    assert first_message({"collection": ["unknown collection 'x'"]}) == "collection: unknown collection 'x'"
    assert first_message({"non_field_errors": ["give exactly one"]}) == "give exactly one"
    assert first_message({"detail": "Not found."}) == "Not found."


def test_find_media_walks_folders_and_skips_other_files(tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.mp4", "a/b/two.JPG", "a/readme.txt", ".hidden.mp4"):
        (tmp_path / name).write_bytes(b"x")
    files, skipped = find_media(tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["a/b/two.JPG", "a/one.mp4"]
    assert skipped == 1
    assert find_media(tmp_path / "a" / "readme.txt") == ([tmp_path / "a" / "readme.txt"], 0)


def test_language_warning_only_for_other_scripts():
    from apps.search.prompts import language_warning

    assert language_warning("красная машина") is None
    assert language_warning("a red car") is None
    assert language_warning("BMW на дороге") is None
    assert "not in Russian or English" in language_warning("红色的汽车")
    assert language_warning("1234 !!") is not None
