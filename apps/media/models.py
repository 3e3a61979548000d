"""Collections and the media in them, plus what ingestion derives: scenes, keyframes and jobs."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from .services.models_allowed import model_label, spec_for, validate_model_name

#: Collections are looked up by id or name in one rule everywhere; a name of digits alone would read as an id.
NOT_ONLY_DIGITS = RegexValidator(r"\D", "a collection name cannot be digits only: it would read as an id",
                                 code="name_is_an_id")


#: Tesseract language names joined by "+": eng, rus, eng+rus.
OCR_LANGUAGES = RegexValidator(r"^[a-z_]{3,8}(\+[a-z_]{3,8})*$",
                               "languages are Tesseract names joined by '+', such as eng+rus", code="bad_languages")


class Collection(models.Model):
    """A searchable set of videos and photos with one vector index built by one model."""

    name = models.CharField(max_length=200, unique=True, validators=[NOT_ONLY_DIGITS])
    description = models.TextField(blank=True)
    embedder = models.CharField(
        max_length=300,
        blank=True,
        validators=[validate_model_name],
        help_text="Model name from the operator's list (settings.EMBEDDERS, `manage.py list_models`); "
        "blank uses the server default (VIDEOSEARCH_EMBEDDER).",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_collections",
        help_text="Who may change, share and delete it; blank for a collection made by a local command (staff only).",
    )
    public = models.BooleanField(default=False, help_text="Anyone, anonymous visitors included, may search it.")
    read_screen_text = models.BooleanField(
        default=True, help_text="Read on-screen text (OCR) of its videos as a stage of their ingest, so a search "
        "finds a title card, a sign or a route number. Subtitles are read either way.")
    text_languages = models.CharField(
        max_length=60, default="eng+rus", validators=[OCR_LANGUAGES],
        help_text="Languages of its on-screen text, as Tesseract names them, joined by '+' (eng+rus).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def embedder_spec(self) -> str:
        """The spec behind the model name, looked up now (UnconfiguredModelError once it left the list)."""
        return spec_for(self.embedder)

    @property
    def model_label(self) -> str:
        """The model as clients may see it: no server paths."""
        return model_label(self.embedder)

    @property
    def index_dir(self) -> Path:
        return Path(settings.INDEX_ROOT) / f"collection-{self.pk}"


class CollectionShare(models.Model):
    """A collection shared by its owner with one other user, read-only or read-write."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collection_shares")
    can_write = models.BooleanField(default=False, help_text="May upload, re-ingest, delete items and rebuild.")

    class Meta:
        ordering = ["collection", "user"]
        constraints = [models.UniqueConstraint(fields=["collection", "user"], name="one_share_per_user")]

    def __str__(self) -> str:
        return f"{self.collection} -> {self.user} ({'read-write' if self.can_write else 'read-only'})"


class Status(models.TextChoices):
    """Where an item is in the ingestion pipeline."""

    QUEUED = "queued", "queued"
    PROBING = "probing", "probing"
    DETECTING = "detecting", "detecting scenes"
    EMBEDDING = "embedding", "embedding"
    READING = "reading", "reading text"
    INDEXED = "indexed", "indexed"
    FAILED = "failed", "failed"


class MediaItem(models.Model):
    """Fields shared by videos and photos."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="%(class)ss")
    file = models.FileField(max_length=500)
    original_name = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def reingesting(self) -> bool:
        """Being ingested again: its indexed version stays searchable until the new one replaces it."""
        return self.indexed_at is not None and self.status not in (Status.INDEXED, Status.FAILED, Status.READING)

    @property
    def state_label(self) -> str:
        """The status as people read it, saying so when the item is being re-ingested."""
        label = self.get_status_display()
        if self.status == Status.READING:  # after the visual commit: the new version is already searchable
            return f"{label}; searchable"
        return f"re-ingesting ({label}); still searchable" if self.reingesting else label


class Video(MediaItem):
    duration = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    codec = models.CharField(max_length=50, blank=True)
    rotation = models.IntegerField(
        null=True, blank=True, help_text="Display rotation in degrees (0, 90, 180, 270) from the file's metadata; "
        "width and height are as displayed")
    text_note = models.TextField(
        blank=True, help_text="What the text stages left out or could not do (an image-based subtitle stream, "
        "an OCR failure); the visual index does not depend on them.")
    text_read_at = models.DateTimeField(
        null=True, blank=True, help_text="When its on-screen text was last read; blank while not (yet) read.")

    class Meta(MediaItem.Meta):
        constraints = [models.UniqueConstraint(fields=["collection", "sha256"], name="unique_video_per_collection")]


class Photo(MediaItem):
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    thumbnail = models.ImageField(max_length=500, blank=True)

    class Meta(MediaItem.Meta):
        constraints = [models.UniqueConstraint(fields=["collection", "sha256"], name="unique_photo_per_collection")]


class Scene(models.Model):
    """A shot: the stretch between two cuts."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="scenes")
    index = models.IntegerField()
    start = models.FloatField()
    end = models.FloatField()

    class Meta:
        ordering = ["video", "index"]
        constraints = [models.UniqueConstraint(fields=["video", "index"], name="unique_scene_index")]

    def __str__(self) -> str:
        return f"{self.video} shot {self.index} [{self.start:.2f}-{self.end:.2f}]"


class Keyframe(models.Model):
    """One embedded frame; it stands for the segment [segment_start, segment_end) of its shot."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="keyframes")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="keyframes")
    time = models.FloatField()
    segment_start = models.FloatField()
    segment_end = models.FloatField()
    thumbnail = models.ImageField(max_length=500)

    class Meta:
        ordering = ["video", "time"]

    def __str__(self) -> str:
        return f"{self.video} @ {self.time:.2f}s"


class TextSource(models.TextChoices):
    """Where words of a video come from."""

    SUBTITLE = "subtitle", "subtitle"
    SCREEN = "screen", "on-screen text"


class TextSpan(models.Model):
    """Words a video says or shows from ``start`` to ``end``: one subtitle cue, or one line of on-screen text.

    ``terms`` holds the stemmed words (analysis/text_terms.py) the full-text index is built on; write spans
    through apps/media/services/text_spans.py, which fills it.
    """

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="text_spans")
    source = models.CharField(max_length=16, choices=TextSource.choices)
    start = models.FloatField()
    end = models.FloatField()
    text = models.TextField()
    language = models.CharField(max_length=16, blank=True, help_text="ISO 639-2 (eng, rus) where known")
    track = models.CharField(max_length=200, blank=True,
                             help_text="Where it came from: a stream of the file, a sidecar file, or OCR")
    boxes = models.JSONField(default=list, blank=True,
                             help_text="On-screen text: each word's box as fractions of the frame, and confidence")
    confidence = models.FloatField(null=True, blank=True, help_text="OCR: the line's mean word confidence, 0..100")
    terms = models.TextField(blank=True, help_text="Stemmed words, space-separated, for the full-text index")

    class Meta:
        ordering = ["video", "start", "id"]
        indexes = [models.Index(fields=["video", "source", "start"], name="text_span_video_source_start")]

    def __str__(self) -> str:
        return f"{self.video} {self.source} [{self.start:.2f}-{self.end:.2f}] {self.text[:40]}"


class IngestJob(models.Model):
    """One attempt to ingest one item; the item's status mirrors its latest job."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="jobs")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1 within the current stage")
    done = models.IntegerField(
        default=0, help_text="Units of the current stage done: frames analysed (detecting), keyframes or photos "
        "embedded (embedding, indexed)")
    total = models.IntegerField(default=0, help_text="Units of the current stage in all; 0 while unknown")
    error = models.TextField(blank=True)
    attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Last sign of life: a running job beats every few seconds; set on a queued job once it is sent.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status}) {self.item}"

    @property
    def item(self) -> Video | Photo | None:
        return self.video or self.photo

    @property
    def kind(self) -> str:
        return "video" if self.video_id else "photo"
