"""The OCR evaluation's scoring: a word counts as found only in a span at its time and place."""
from __future__ import annotations

from analysis.timed_text import TimedText, WordBox
from apps.search.evaluation.text_eval import score_words
from apps.search.evaluation.text_media import TextItem, TextVideo, with_boxes


def test_recall_and_precision_by_time_place_language_and_size():
    items = with_boxes([TextItem("EXIT station", "eng", 1.0, 3.0, 100, 100, "DejaVuSans", 32),
                        TextItem("новая улица", "rus", 1.0, 3.0, 100, 500, "DejaVuSans", 48)])
    video = TextVideo("v.mp4", 4.0, "gradient", items)
    at = lambda item: (WordBox("w", item.box[0] / 1280, item.box[1] / 720, 0.1, 0.04, 90.0),)  # noqa: E731
    spans = [
        TimedText(1.0, 3.0, "EXIT statoin", "eng", "ocr", at(items[0]), 90.0),  # one word right, one wrong
        TimedText(5.0, 6.0, "новая улица", "rus", "ocr", at(items[1]), 90.0),   # right words, wrong time
        TimedText(1.0, 3.0, "улица", "rus", "ocr", at(items[1]), 90.0),         # right
    ]
    score = score_words([(video, spans)])
    assert score["recall"]["all"] == 0.5 and score["recall"]["eng 32px"] == 0.5 and score["recall"]["rus"] == 0.5
    assert score["words_read"] == 5 and score["precision"]["all"] == 0.4 and abs(score["precision"]["rus"] - 1 / 3) < 1e-3
