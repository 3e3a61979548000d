"""The Tesseract reader: TSV parsing, lines, the confidence threshold, and a real read of drawn words."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from analysis import ocr
from analysis.ocr import OcrWord, group_lines, language_of, parse_tsv, read_frame
from analysis.screen_text import Run, merge_readings, regions_to_read
from analysis.text_presence import Region, presence
from analysis.text_terms import words_of
from analysis.timed_text import WordBox
from apps.search.evaluation.text_media import font, plated, render_frame, text_videos

HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def row(level, block, par, line, word, left, top, width, height, conf, text) -> str:
    return "\t".join(str(v) for v in (level, 1, block, par, line, word, left, top, width, height, conf, text))


TSV = "\n".join([
    HEADER,
    row(1, 0, 0, 0, 0, 0, 0, 1280, 720, -1, ""),
    row(4, 1, 1, 1, 0, 100, 50, 300, 40, -1, ""),
    row(5, 1, 1, 1, 2, 260, 50, 140, 40, 91.5, "station"),
    row(5, 1, 1, 1, 1, 100, 52, 120, 38, 95.0, "EXIT"),
    row(5, 1, 1, 2, 1, 100, 120, 60, 30, 12.0, "ee"),
    row(5, 2, 1, 1, 1, 640, 600, 200, 40, 88.0, "улица"),
    row(5, 2, 1, 1, 2, 850, 600, 30, 40, 80.0, "—"),
])


def test_parse_tsv_reads_word_rows_only_and_skips_punctuation():
    words = parse_tsv(TSV)
    assert [w.text for w in words] == ["station", "EXIT", "ee", "улица"]
    assert words[1] == OcrWord("EXIT", 100, 52, 120, 38, 95.0, 1, 1, 1)


def test_lines_group_by_tesseract_numbers_left_to_right_with_fraction_boxes():
    words = [w for w in parse_tsv(TSV) if w.confidence >= ocr.MIN_WORD_CONFIDENCE]
    lines = group_lines(words, 1280, 720)
    assert [(line.text, line.language) for line in lines] == [("EXIT station", "eng"), ("улица", "rus")]
    first = lines[0]
    assert first.boxes[0].x == pytest.approx(100 / 1280) and first.boxes[0].h == pytest.approx(38 / 720)
    assert first.confidence == pytest.approx((95.0 + 91.5) / 2)


def test_a_wide_gap_splits_one_tesseract_line_into_two():
    words = [OcrWord("river", 0, 0, 100, 40, 90, 1, 1, 1), OcrWord("мост", 400, 0, 90, 40, 90, 1, 1, 1)]
    assert [line.text for line in group_lines(words, 1280, 720)] == ["river", "мост"]


def test_language_of_a_line():
    assert language_of("улица 5") == "rus" and language_of("EXIT 23") == "eng" and language_of("23") == ""


def test_unexpected_tsv_header_is_an_error():
    with pytest.raises(ocr.OcrError):
        parse_tsv("garbage\nrow")


def test_missing_language_data_is_a_clear_error():
    with pytest.raises(ocr.OcrUnavailableError, match="tesseract-ocr-xyz"):
        ocr.check_languages("eng+xyz")


def test_missing_tesseract_is_a_clear_error():
    with pytest.raises(ocr.OcrUnavailableError, match="not installed"):
        ocr.check_languages("eng", binary="no-such-tesseract")


def drawn(lines: list[tuple[str, tuple[int, int], int]]) -> tuple[np.ndarray, list[Region]]:
    image = Image.new("RGB", (1280, 720), (40, 90, 140))
    draw = ImageDraw.Draw(image)
    boxes = []
    for text, (x, y), size in lines:
        face = font("DejaVuSans", size)
        draw.text((x, y), text, font=face, fill=(250, 250, 250), stroke_width=2, stroke_fill=(0, 0, 0))
        left, top, right, bottom = face.getbbox(text)
        boxes.append(Region(x + left, y + top, right - left, bottom - top))
    return np.asarray(image), boxes


def test_reads_english_and_russian_words_where_they_are_drawn():
    frame, boxes = drawn([("EXIT 23 station", (100, 100), 40), ("улица Гагарина", (600, 500), 40)])
    lines = read_frame(frame, "eng+rus", regions=boxes)
    texts = {line.text: line for line in lines}
    assert set(texts) == {"EXIT 23 station", "улица Гагарина"}
    street = texts["улица Гагарина"]
    assert street.language == "rus"
    assert street.boxes[0].x == pytest.approx(boxes[1].x / 1280, abs=0.01)
    assert street.boxes[0].y == pytest.approx(boxes[1].y / 720, abs=0.02)


def test_consecutive_readings_of_a_line_merge_into_one_span():
    line = ocr.OcrLine("EXIT 23", (), 90.0, "eng")
    other = ocr.OcrLine("улица", (), 90.0, "rus")
    runs = [Run(1.0, 2.0, 4, 1.5, (), 0.1, None), Run(2.0, 3.0, 4, 2.5, (), 0.1, None),
            Run(5.0, 6.0, 4, 5.5, (), 0.1, None)]
    spans = merge_readings([(runs[0], [line]), (runs[1], [line, other]), (runs[2], [line])], runs)
    assert [(s.text, s.start, s.end) for s in spans] == [
        ("EXIT 23", 1.0, 3.0), ("улица", 2.0, 3.0), ("EXIT 23", 5.0, 6.0)]
    assert all(s.track == "ocr" for s in spans)


def test_a_line_read_differently_at_the_same_place_stays_one_span_with_its_best_reading():
    box = (WordBox("новая", 0.4, 0.7, 0.1, 0.05, 95.0), WordBox("улица", 0.52, 0.7, 0.1, 0.05, 95.0))
    good = ocr.OcrLine("новая улица", box, 95.0, "rus")
    bad = ocr.OcrLine("HOBaA улица", box, 70.0, "eng")
    runs = [Run(2.0, 3.0, 4, 2.5, (), 0.1, None), Run(3.0, 4.0, 4, 3.5, (), 0.1, None)]
    spans = merge_readings([(runs[0], [bad]), (runs[1], [good])], runs)
    assert [(s.text, s.start, s.end, s.language) for s in spans] == [("новая улица", 2.0, 4.0, "rus")]


def test_other_words_at_the_same_place_are_a_new_span():
    box = (WordBox("x", 0.1, 0.1, 0.3, 0.05, 95.0),)
    first = ocr.OcrLine("evening window museum", box, 95.0, "eng")
    second = ocr.OcrLine("market planet hotel", box, 96.0, "eng")
    runs = [Run(0.5, 2.5, 4, 1.0, (), 0.1, None), Run(2.5, 5.0, 4, 3.0, (), 0.1, None)]
    spans = merge_readings([(runs[0], [first]), (runs[1], [second])], runs)
    assert [(s.text, s.start, s.end) for s in spans] == [("evening window museum", 0.5, 2.5),
                                                       ("market planet hotel", 2.5, 5.0)]


def test_the_next_subtitle_sharing_a_word_at_the_same_place_is_a_new_span():
    box = (WordBox("x", 0.1, 0.1, 0.3, 0.05, 95.0),)
    first = ocr.OcrLine("morning summer garden", box, 95.0, "eng")
    second = ocr.OcrLine("morning street library", box, 93.0, "eng")
    runs = [Run(0.5, 2.5, 4, 1.0, (), 0.1, None), Run(3.0, 5.0, 4, 3.5, (), 0.1, None)]
    spans = merge_readings([(runs[0], [first]), (runs[1], [second])], runs)
    assert [s.text for s in spans] == ["morning summer garden", "morning street library"]


def test_outlined_subtitles_over_moving_shapes_are_found_and_read():
    """White text with a dark outline over shapes of every colour (the evaluation's hardest background): its
    letters touch the shapes' outlines, and Otsu's one threshold splits the shapes, not the letters."""
    video = text_videos()[2]
    t = 4.37  # before: 5 of its 12 outlined words read
    frame = render_frame(video, t)
    outlined = [item for item in video.items if item.start <= t < item.end and not plated(item)]
    small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (455, 256), interpolation=cv2.INTER_AREA)
    seen = presence(small)
    run = Run(t, t + 1, 2, t, seen.regions, seen.share, seen)
    read = {word for line in read_frame(frame, "eng+rus", regions=regions_to_read(frame, run, 455))
            for word in words_of(line.text)}
    drawn_words = [word for item in outlined for word in words_of(item.text)]
    found = [word for word in drawn_words if word in read]
    assert len(found) >= 0.8 * len(drawn_words), (drawn_words, read)


def test_dark_words_on_light_plates_over_noise_are_read():
    """Signs: dark letters on light plates over a noisy picture, which the crops' one threshold mixes in (the
    evaluation's "noise" video, its last text period)."""
    video, t = text_videos()[0], 6.0
    frame = render_frame(video, t)
    small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (455, 256), interpolation=cv2.INTER_AREA)
    seen = presence(small)
    run = Run(t, t + 1, 2, t, seen.regions, seen.share, seen)
    read = {word for line in read_frame(frame, "eng+rus", regions=regions_to_read(frame, run, 455))
            for word in words_of(line.text)}
    drawn_words = [word for item in video.items if item.start <= t < item.end and plated(item)
                   for word in words_of(item.text)]
    found = [word for word in drawn_words if word in read]
    assert len(found) >= 0.9 * len(drawn_words), (drawn_words, read)


def test_two_reads_of_a_word_keep_the_whole_word_not_the_piece_a_crop_cut():
    piece = OcrWord("ver", 130, 100, 40, 30, 96.0, 1, 1, 1)
    whole = OcrWord("river", 100, 100, 70, 30, 91.0, 1, 1, 1)
    other = OcrWord("market", 200, 100, 90, 30, 93.0, 1, 1, 1)
    kept = ocr.relined(ocr.union_words([piece, other], [whole], 70.0))
    assert sorted(w.text for w in kept) == ["market", "river"]
    lines = group_lines(kept, 1280, 720)
    assert [line.text for line in lines] == ["river market"]


def test_bright_texture_is_not_read_whole_but_white_letters_are():
    speckled = np.where(np.random.default_rng(3).random((720, 1280)) < 0.003, 255, 60).astype(np.uint8)
    speckled = cv2.dilate(speckled, np.ones((5, 5), np.uint8))  # snow: 2000+ letter-sized flakes
    assert ocr.bright_letters(speckled) is None
    frame, _ = drawn([("EXIT 23 station", (100, 100), 40)])
    letters = ocr.bright_letters(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
    assert letters is not None and (letters[90:160, 100:450] == 0).any() and (letters[300:, :] == 255).all()
