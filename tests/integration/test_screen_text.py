"""On-screen text as a stage of a real ingest: a generated video with burned-in English and Russian lines gives
TextSpan rows with the right words, times and boxes; the collection's switch off reads nothing; a failing
Tesseract leaves a note and an indexed, searchable video; a job killed while reading resumes without redoing
the visual analysis."""
from __future__ import annotations

from pathlib import Path

import pytest

from analysis.screen_text import SAMPLES_PER_SECOND
from analysis.text_terms import words_of
from apps.media.models import Collection, IngestJob, Keyframe, Status, TextSource, TextSpan, Video
from apps.media.services.register import register_path
from apps.search.evaluation.text_media import encode, small_text_video

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]  # jobs run on commit

STEP = 1 / SAMPLES_PER_SECOND
FRAME = 0.1  # the generated video's 10 fps


@pytest.fixture(scope="module")
def text_video(tmp_path_factory) -> tuple[Path, list]:
    clip = small_text_video()
    return encode(clip, tmp_path_factory.mktemp("text") / clip.name), clip.items


def ingest(path: Path, **fields) -> Video:
    collection = Collection.objects.create(name=f"text-{len(fields)}-{Collection.objects.count()}",
                                           embedder="testmodel", **fields)
    video = register_path(collection, path).item
    video.refresh_from_db()
    return video


def test_burned_in_lines_become_spans_with_words_times_and_boxes(storage_dirs, text_video):
    path, items = text_video
    video = ingest(path)
    assert video.status == Status.INDEXED and video.text_read_at is not None and video.text_note == ""
    spans = list(TextSpan.objects.filter(video=video, source=TextSource.SCREEN))
    for item in items:
        found = [s for s in spans if words_of(s.text) == words_of(item.text)]
        assert len(found) == 1, (item.text, [s.text for s in spans])
        span = found[0]
        assert span.language == item.language and span.track == "ocr"
        assert abs(span.start - item.start) <= STEP + FRAME and abs(span.end - item.end) <= STEP + FRAME
        x, y, w, h = item.box
        first = span.boxes[0]
        assert first["x"] == pytest.approx(x / 1280, abs=0.01) and first["y"] == pytest.approx(y / 720, abs=0.02)
        assert span.confidence >= 60
    job = IngestJob.objects.get(video=video)
    assert job.status == Status.INDEXED


def test_switch_off_reads_no_text(storage_dirs, text_video):
    video = ingest(text_video[0], read_screen_text=False)
    assert video.status == Status.INDEXED
    assert not TextSpan.objects.filter(video=video).exists() and video.text_read_at is None


def test_failing_tesseract_is_a_note_and_the_video_stays_indexed(storage_dirs, text_video, monkeypatch, tmp_path):
    broken = tmp_path / "bin"
    broken.mkdir()
    fake = broken / "tesseract"
    fake.write_text("#!/bin/sh\ncase \"$1\" in --list-langs) printf 'eng\\nrus\\n';; *) echo 'boom' >&2; exit 3;; esac\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken}:{Path('/usr/bin')}:{Path('/bin')}")
    from analysis import ocr
    ocr.installed_languages.cache_clear()
    try:
        video = ingest(text_video[0])
    finally:
        ocr.installed_languages.cache_clear()
    assert video.status == Status.INDEXED and video.indexed_at is not None
    assert video.text_note.startswith("on-screen text: tesseract failed: boom")
    assert Keyframe.objects.filter(video=video).exists()
    assert not TextSpan.objects.filter(video=video).exists()


def test_a_job_killed_while_reading_resumes_with_only_the_reading(storage_dirs, text_video, monkeypatch):
    from apps.search import indexing, screen_text_stage

    real = screen_text_stage.read_screen_text
    calls = []

    def killed(run, video, watch):  # the worker dies once the stage began
        run.stage(Status.READING)
        calls.append(watch)
        raise SystemExit("killed")

    monkeypatch.setattr(screen_text_stage, "read_screen_text", killed)
    collection = Collection.objects.create(name="resume-text", embedder="testmodel")
    with pytest.raises(SystemExit):
        register_path(collection, text_video[0])
    video = Video.objects.get(collection=collection)
    assert video.status == Status.READING and video.indexed_at is not None  # searchable meanwhile
    assert video.state_label == "reading text; searchable" and not video.reingesting
    keyframes = list(Keyframe.objects.filter(video=video).values_list("pk", flat=True))
    job = IngestJob.objects.get(video=video)
    IngestJob.objects.filter(pk=job.pk).update(status=Status.QUEUED)  # what the sweeper's requeue does
    monkeypatch.setattr(screen_text_stage, "read_screen_text", real)
    analysed = []
    monkeypatch.setattr(indexing, "analyze_video", lambda *a, **k: analysed.append(1))
    assert indexing.run_job(job.pk) == Status.INDEXED
    video.refresh_from_db()
    assert not analysed and list(Keyframe.objects.filter(video=video).values_list("pk", flat=True)) == keyframes
    assert {" ".join(words_of(s.text)) for s in TextSpan.objects.filter(video=video)} >= {"exit 23 station"}


def test_the_switch_and_languages_through_the_api_and_its_schema(storage_dirs, client):
    made = client.post("/api/collections/", {"name": "signs", "embedder": "testmodel", "read_screen_text": False,
                                             "text_languages": "eng"}, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["read_screen_text"] is False and made.json()["text_languages"] == "eng"
    assert made.json()["videos"]["reading"] == 0
    pk = made.json()["id"]
    bad = client.patch(f"/api/collections/{pk}/", {"text_languages": "eng; rm -rf"}, content_type="application/json")
    assert bad.status_code == 400 and "text_languages" in bad.json()["details"]
    changed = client.patch(f"/api/collections/{pk}/", {"read_screen_text": True, "text_languages": "eng+rus"},
                           content_type="application/json")
    assert changed.status_code == 200 and Collection.objects.get(pk=pk).read_screen_text
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]["Collection"]
    assert {"read_screen_text", "text_languages"} <= set(schema["properties"])


def test_the_reading_stage_in_words_and_counts():
    from django.utils import translation

    from apps.media.services import job_progress

    job = IngestJob(status=Status.READING, video_id=1, done=2, total=5)
    assert job_progress.describe(job) == "reading text 2/5 frames" and job_progress.percent(job) == 40
    with translation.override("ru"):
        assert job_progress.describe(job).startswith("чтение текста 2/5")
