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


def test_the_evaluation_subtitle_video_holds_every_cue_at_its_exact_time(tmp_path):
    """The cues the search evaluation asks for are in the file it ingests, to the millisecond, in both languages."""
    import subprocess

    from analysis.subtitles import read_streams
    from apps.search.evaluation.text_search_eval import _srt_time, subtitle_video

    assert _srt_time(3725.125) == "01:02:05,125" and _srt_time(0.5) == "00:00:00,500"
    source = tmp_path / "plain.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:d=8",
                    "-pix_fmt", "yuv420p", str(source)], check=True)
    path, cues = subtitle_video(source, tmp_path)
    read = read_streams(path)
    assert sorted((c.start, c.end, c.text, c.language) for c in read.cues) == \
        sorted((c.start, c.end, c.text, c.language) for c in cues)
    assert {c.language for c in cues} == {"eng", "rus"} and len(cues) == 8
