"""Subtitles through a real ingest (``manage.py ingest`` -> register_path -> the job): every cue of a video's
streams and of the sidecar files beside it lands in TextSpan rows with its exact times, text and language;
a re-ingest reads them again from the kept copies; bad subtitles give notes, never a failed visual index."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.media.models import Collection, Keyframe, Status, TextSource, TextSpan, Video
from apps.media.services import storage
from apps.media.services.register import create_job, register_path
from apps.media.services.strays import collection_strays
from apps.media.services.subtitle_reading import set_note_lines
from tests.support import subtitle_media as media

pytestmark = [pytest.mark.django_db(transaction=True)]


def ingest(folder: Path, collection: str = "subs") -> str:
    out = io.StringIO()
    call_command("ingest", str(folder), collection=collection, model="testmodel", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def spans(video: Video) -> list[tuple[float, float, str, str, str]]:
    rows = TextSpan.objects.filter(video=video, source=TextSource.SUBTITLE).order_by("track", "start", "id")
    return [(s.start, s.end, s.text, s.language, s.track) for s in rows]


def by_track(*groups) -> list[tuple[float, float, str, str, str]]:
    return sorted((row for group in groups for row in group), key=lambda row: (row[4], row[0]))


@pytest.fixture
def movie_folder(tmp_path) -> Path:
    """source/movie.mkv (SRT eng + ASS rus streams) with movie.srt and movie.ru.srt (cp1251) beside it."""
    folder = tmp_path / "source"
    folder.mkdir()
    media.make_mkv(folder)
    for made in folder.glob("source-*"):
        made.unlink()  # the files the streams were made from are no sidecars
    (folder / "movie.srt").write_text(media.SIDECAR_ENG_TEXT, encoding="utf-8")
    (folder / "movie.ru.srt").write_bytes(media.SIDECAR_RUS_TEXT.encode("cp1251"))
    return folder


EXPECTED = by_track(media.expected(media.SRT_ENG, "stream 1 (subrip)"), media.expected(media.ASS_RUS, "stream 2 (ass)"),
                    media.expected(media.SIDECAR_ENG, "movie.srt"), media.expected(media.SIDECAR_RUS, "movie.ru.srt"))


def test_ingest_stores_every_cue_of_the_streams_and_sidecars_exactly(storage_dirs, movie_folder):
    out = ingest(movie_folder)
    assert "1 indexed" in out and "skipped" not in out  # the sidecars are no strange files
    video = Video.objects.get()
    assert video.status == Status.INDEXED and Keyframe.objects.filter(video=video).exists()
    assert spans(video) == EXPECTED
    assert video.text_note == ""
    machine = TextSpan.objects.get(video=video, track="stream 2 (ass)", start=2.45)
    assert "машин" in machine.terms.split()  # stemmed for the text index
    kept = storage.absolute(storage.sidecar_dir(video.collection_id, video.pk))
    assert sorted(p.name for p in kept.iterdir()) == ["movie.ru.srt", "movie.srt"]


def test_reingest_reads_the_kept_sidecars_again_without_duplicates(storage_dirs, movie_folder):
    ingest(movie_folder)
    video = Video.objects.get()
    for sidecar in movie_folder.glob("*.srt"):
        sidecar.unlink()  # the originals are gone: the kept copies are what a re-ingest reads
    set_note_lines(video, ["an old note of this stage"])
    Video.objects.filter(pk=video.pk).update(text_note="ocr: a line of another stage\n" + Video.objects.get().text_note)
    create_job(video)  # in-process (eager)
    video.refresh_from_db()
    assert video.status == Status.INDEXED and spans(video) == EXPECTED
    assert video.text_note == "ocr: a line of another stage"  # this stage's old line replaced, the other kept


def test_an_upload_has_no_sidecars_and_reads_its_streams(storage_dirs, movie_folder, client):
    Collection.objects.create(name="up", embedder="testmodel")
    with open(movie_folder / "movie.mkv", "rb") as fh:
        assert client.post("/api/videos/", {"collection": "up", "file": fh}).status_code == 201
    video = Video.objects.get()
    assert video.status == Status.INDEXED
    assert spans(video) == by_track(media.expected(media.SRT_ENG, "stream 1 (subrip)"),
                                    media.expected(media.ASS_RUS, "stream 2 (ass)"))


def test_hostile_sidecars_give_notes_and_keep_every_good_cue(storage_dirs, tmp_path):
    folder = tmp_path / "source"
    folder.mkdir()
    media.make_mkv_with_a_bad_stream(folder, "film.mkv")
    for made in [folder / "mixed.srt", folder / "good.ass"]:
        made.unlink()
    (folder / "film.srt").write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nfine\n\ngarbage block\n\n"
        "3\n00:00:04,000 --> 00:00:03,000\nbackwards\n\n"
        "4\n00:00:05,000 --> 00:00:07,000\nlong\n\n5\n00:00:06,000 --> 00:00:06,500\noverlap\n")
    (folder / "film.ru.srt").write_bytes("1\n00:00:00,500 --> 00:00:01,000\nЁлка\n".encode("cp1251"))
    (folder / "film.en.srt").write_bytes(b"")
    block = b"1\n00:00:00,000 --> 00:00:01,000\nx\n\n"
    (folder / "film.de.srt").write_bytes(block * (10 * 2**20 // len(block) + 10))
    registered = register_path(Collection.objects.create(name="hostile", embedder="testmodel"), folder / "film.mkv")
    video = Video.objects.get(pk=registered.item.pk)
    assert video.status == Status.INDEXED and Keyframe.objects.filter(video=video).exists()
    assert spans(video) == by_track(
        media.expected(media.MIXED, "stream 1 (subrip)"), media.expected(media.ASS_RUS, "stream 2 (ass)"),
        [(1.0, 2.0, "fine", "", "film.srt"), (5.0, 7.0, "long", "", "film.srt"), (6.0, 6.5, "overlap", "", "film.srt")],
        [(0.5, 1.0, "Ёлка", "rus", "film.ru.srt")])
    assert video.text_note.splitlines() == [
        "subtitles: stream 1 (subrip): 1 cue(s) not in UTF-8, read as cp1251",
        "subtitles: film.de.srt: larger than the 10 MB limit for subtitle files, not read",
        "subtitles: film.en.srt: empty file",
        "subtitles: film.srt: 1 malformed block(s) skipped",
        "subtitles: film.srt: 1 cue(s) ending before they start skipped",
    ]
    kept = storage.absolute(storage.sidecar_dir(video.collection_id, video.pk)) / "film.de.srt"
    assert kept.stat().st_size == 10 * 2**20 + 1  # not stored whole


def test_a_corrupt_file_still_gets_its_visual_index_and_the_cues_before_the_damage(storage_dirs, tmp_path):
    folder = tmp_path / "source"
    folder.mkdir()
    whole = media.make_mkv(folder)
    data = bytearray(whole.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4000] = bytes(4000)  # a hole of zeros in the middle of the clusters
    damaged = folder / "damaged.mkv"
    damaged.write_bytes(bytes(data))
    registered = register_path(Collection.objects.create(name="corrupt", embedder="testmodel"), damaged)
    video = Video.objects.get(pk=registered.item.pk)
    assert video.status == Status.INDEXED, video.error
    found = spans(video)
    expected = set(by_track(media.expected(media.SRT_ENG, "stream 1 (subrip)"),
                            media.expected(media.ASS_RUS, "stream 2 (ass)")))
    assert found and set(found) <= expected  # what was read is exact, nothing invented
    assert "subtitles: stream 1 (subrip): ffmpeg reported a problem (" in video.text_note


def test_deleting_the_video_removes_its_kept_sidecars_and_verify_sees_no_stray(storage_dirs, movie_folder):
    ingest(movie_folder)
    video = Video.objects.get()
    kept = storage.absolute(storage.sidecar_dir(video.collection_id, video.pk))
    assert kept.is_dir() and collection_strays(video.collection, 0) == []
    video.delete()
    assert not kept.exists()
