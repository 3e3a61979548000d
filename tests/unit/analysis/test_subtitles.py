"""Subtitle cues from a video's own streams (real ffmpeg) and from sidecar files: every cue's exact times,
text and language; hostile files give a note, never an exception, and keep every readable cue."""
from __future__ import annotations

from pathlib import Path

import pytest

from analysis.subtitles import (
    SubtitleStream,
    decode_text,
    find_sidecars,
    iso639_2,
    list_streams,
    parse_ass,
    parse_srt,
    parse_vtt,
    plan_streams,
    read_sidecar,
    read_streams,
    sidecar_language,
    strip_ass,
)
from tests.support import subtitle_media as media


def rows(cues) -> list[tuple[float, float, str, str, str]]:
    return [(c.start, c.end, c.text, c.language, c.track) for c in cues]


@pytest.fixture(scope="module")
def mkv(tmp_path_factory) -> Path:
    return media.make_mkv(tmp_path_factory.mktemp("mkv"))


# ------------------------------------------------------------------ embedded streams (real ffmpeg)
def test_mkv_streams_are_listed_with_iso_639_2_languages(mkv):
    assert list_streams(mkv) == [SubtitleStream(1, "subrip", "eng", "English"), SubtitleStream(2, "ass", "rus", "")]


def test_every_cue_of_an_mkv_with_srt_and_ass_streams_is_exact(mkv):
    read = read_streams(mkv)
    assert read.notes == []
    assert rows(read.cues) == (media.expected(media.SRT_ENG, "stream 1 (subrip)")
                               + media.expected(media.ASS_RUS, "stream 2 (ass)"))


def test_mov_text_stream_of_an_mp4_keeps_milliseconds(tmp_path):
    read = read_streams(media.make_mp4_mov_text(tmp_path))
    assert read.notes == []
    assert rows(read.cues) == media.expected(media.MOV_TEXT_ENG, "stream 1 (mov_text)")


def test_webvtt_stream_of_a_webm(tmp_path):
    read = read_streams(media.make_webm_vtt(tmp_path))
    assert read.notes == []
    assert rows(read.cues) == media.expected(media.VTT, "stream 1 (webvtt)")


def test_a_video_without_subtitles_reads_nothing_and_says_nothing(tmp_path):
    out = tmp_path / "plain.mp4"
    media.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:duration=1", "-pix_fmt", "yuv420p", str(out))
    read = read_streams(out)
    assert read.cues == [] and read.notes == []


def test_image_based_and_unknown_streams_are_skipped_with_a_note():
    streams = [SubtitleStream(2, "subrip", "eng"), SubtitleStream(3, "hdmv_pgs_subtitle", "rus"),
               SubtitleStream(4, "dvb_subtitle"), SubtitleStream(5, "dvd_subtitle"), SubtitleStream(6, "xsub"),
               SubtitleStream(7, "arib_caption")]
    text, notes = plan_streams(streams)
    assert text == streams[:1]
    assert notes == ["stream 3 (hdmv_pgs_subtitle): image-based subtitles are not read",
                     "stream 4 (dvb_subtitle): image-based subtitles are not read",
                     "stream 5 (dvd_subtitle): image-based subtitles are not read",
                     "stream 6 (xsub): image-based subtitles are not read",
                     "stream 7 (arib_caption): not a text subtitle format that can be read"]


def test_a_truncated_file_keeps_the_cues_before_the_cut_and_never_raises(mkv, tmp_path):
    data = mkv.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    read = read_streams(cut)
    whole = rows(read_streams(mkv).cues)
    assert read.cues and set(rows(read.cues)) <= set(whole)  # cues before the cut kept, exact; none invented


def test_a_stream_with_a_cue_that_is_not_utf8_loses_nothing_and_the_other_stream_is_whole(tmp_path):
    read = read_streams(media.make_mkv_with_a_bad_stream(tmp_path))
    assert rows(read.cues) == (media.expected(media.MIXED, "stream 1 (subrip)")
                               + media.expected(media.ASS_RUS, "stream 2 (ass)"))
    assert read.notes == ["stream 1 (subrip): 1 cue(s) not in UTF-8, read as cp1251"]


def test_a_file_that_is_no_media_gives_a_note(tmp_path):
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00garbage" * 50)
    read = read_streams(junk)
    assert read.cues == [] and len(read.notes) == 1 and "could not be listed" in read.notes[0]
    assert str(tmp_path) not in read.notes[0]  # no server path in what users see


# ------------------------------------------------------------------ parsers
def test_srt_times_are_exact_milliseconds_and_markup_is_stripped():
    parsed = parse_srt(media.SRT_ENG_TEXT, "eng", "t")
    assert rows(parsed.cues) == media.expected(media.SRT_ENG, "t") and parsed.malformed == 0
    cue = parse_srt("1\n10:02:03,4 --> 10:02:03,45\nx\n").cues[0]
    assert (cue.start, cue.end) == (36123.4, 36123.45)


def test_malformed_srt_blocks_are_skipped_and_counted_the_rest_kept():
    text = ("1\n00:00:01,000 --> 00:00:02,000\nfine\n\n"
            "2\n00:00:0x,000 --> nonsense\nbroken timing\n\n"
            "just some words\n\n"
            "4\n00:00:05,000 --> 00:00:04,000\nends before it starts\n\n"
            "5\n00:00:06,000 --> 00:00:07,000\n\n\n"   # empty cue: dropped, not malformed
            "6\n00:00:08,000 --> 00:00:09,500\nalso fine\n")
    parsed = parse_srt(text, "", "bad.srt")
    assert rows(parsed.cues) == [(1.0, 2.0, "fine", "", "bad.srt"), (8.0, 9.5, "also fine", "", "bad.srt")]
    assert parsed.malformed == 2 and parsed.backwards == 1
    assert parsed.notes("bad.srt") == ["bad.srt: 2 malformed block(s) skipped",
                                       "bad.srt: 1 cue(s) ending before they start skipped"]


def test_overlapping_cues_are_all_kept():
    text = "1\n00:00:01,000 --> 00:00:05,000\nlong\n\n2\n00:00:02,000 --> 00:00:03,000\ninside\n"
    assert [c.text for c in parse_srt(text).cues] == ["long", "inside"]


def test_webvtt_header_notes_styles_tags_and_short_times():
    parsed = parse_vtt(media.VTT_TEXT, "", "v")
    assert rows(parsed.cues) == media.expected(media.VTT, "v") and parsed.malformed == 0


def test_ass_dialogues_in_time_order_without_override_tags_comments_or_drawings():
    parsed = parse_ass(media.ASS_RUS_TEXT, "rus", "a")
    assert rows(parsed.cues) == media.expected(media.ASS_RUS, "a") and parsed.malformed == 0


def test_ass_text_keeps_commas_and_turns_hard_spaces_and_breaks_into_text():
    assert strip_ass(r"{\an8}One,\Ntwo\hthree {\i1}four{\i0}") == "One,\ntwo three four"
    assert strip_ass(r"{\p2}m 0 0 l 1 1{\p0}shown") == "shown"


def test_ass_without_a_format_line_or_with_bad_times_is_malformed_not_fatal():
    no_format = "[Events]\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,text\n"
    assert parse_ass(no_format).malformed == 1
    bad = ("[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
           "Dialogue: 0,zero,0:00:02.00,Default,,0,0,0,,bad\nDialogue: 0,0:00:01.5,0:00:02.25,Default,,0,0,0,,ok\n")
    parsed = parse_ass(bad)
    assert parsed.malformed == 1 and rows(parsed.cues) == [(1.5, 2.25, "ok", "", "")]


# ------------------------------------------------------------------ sidecar files
def test_sidecars_are_found_by_the_videos_name(tmp_path):
    for name in ["movie.mkv", "movie.srt", "movie.ru.srt", "movie.en.vtt", "movie.ass", "movie.rus.srt",
                 "movie.en.forced.SRT", "movie2.srt", "other.srt", "movie.txt", "moviesrt"]:
        (tmp_path / name).write_text("x")
    found = [p.name for p in find_sidecars(tmp_path / "movie.mkv")]
    assert found == ["movie.ass", "movie.en.forced.SRT", "movie.en.vtt", "movie.ru.srt", "movie.rus.srt",
                     "movie.srt"]


@pytest.mark.parametrize(("name", "language"), [
    ("movie.srt", ""), ("movie.ru.srt", "rus"), ("movie.rus.srt", "rus"), ("movie.en.vtt", "eng"),
    ("movie.en-US.forced.vtt", "eng"), ("movie.forced.ger.ass", "deu"), ("movie.qq.srt", ""), ("movie.ass", ""),
])
def test_a_sidecars_language_comes_from_its_name(name, language):
    assert sidecar_language(name, "movie") == language


@pytest.mark.parametrize(("tag", "code"), [
    ("en", "eng"), ("eng", "eng"), ("ru", "rus"), ("RUS", "rus"), ("pt-BR", "por"), ("fre", "fra"), ("und", ""),
    ("", ""), (None, ""), ("tlh", "tlh"),
])
def test_language_tags_become_iso_639_2(tag, code):
    assert iso639_2(tag) == code


def test_sidecar_srt_in_utf8_with_bom_and_crlf(tmp_path):
    path = tmp_path / "movie.ru.srt"
    path.write_bytes(b"\xef\xbb\xbf" + media.SIDECAR_RUS_TEXT.encode("utf-8"))
    read = read_sidecar(path, "movie")
    assert read.notes == [] and rows(read.cues) == media.expected(media.SIDECAR_RUS, "movie.ru.srt")


def test_sidecar_srt_in_cp1251_is_decoded(tmp_path):
    path = tmp_path / "movie.rus.srt"
    path.write_bytes(media.SIDECAR_RUS_TEXT.encode("cp1251"))
    assert rows(read_sidecar(path, "movie").cues) == media.expected(media.SIDECAR_RUS, "movie.rus.srt")


def test_undecodable_bytes_fall_back_to_latin1():
    assert decode_text(b"caf\xe9 \x98") == "caf\xe9 \x98"  # 0x98 is unassigned in cp1251
    assert decode_text("ёлка".encode("utf-16")) == "ёлка"


def test_empty_oversized_and_cueless_sidecars_give_notes(tmp_path):
    empty = tmp_path / "movie.srt"
    empty.write_bytes(b"")
    assert read_sidecar(empty, "movie").notes == ["movie.srt: empty file"]
    big = tmp_path / "movie.en.srt"
    big.write_text(media.SIDECAR_ENG_TEXT * 100)
    read = read_sidecar(big, "movie", max_bytes=1024)
    assert read.cues == [] and read.notes == ["movie.en.srt: larger than the 1024 bytes limit for subtitle files, not read"]
    prose = tmp_path / "movie.ass"
    prose.write_text("nothing like subtitles")
    assert read_sidecar(prose, "movie").notes == ["movie.ass: no cues found"]


def test_sidecar_webvtt_and_ass(tmp_path):
    vtt = tmp_path / "movie.en.vtt"
    vtt.write_text(media.VTT_TEXT)
    assert rows(read_sidecar(vtt, "movie").cues) == [(*c[:3], "eng", "movie.en.vtt") for c in media.VTT]
    ass = tmp_path / "movie.ass"
    ass.write_text(media.ASS_RUS_TEXT)
    assert rows(read_sidecar(ass, "movie").cues) == [(*c[:3], "", "movie.ass") for c in media.ASS_RUS]
