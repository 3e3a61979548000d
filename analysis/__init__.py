"""Video analysis without Django: probe, decode, shot detection, keyframe choice, frame fingerprints.

Everything here works on files and numpy frames and imports nothing from Django, ``apps``,
``videosearch`` or ``workers`` (checked by ``lint-imports``, see ``[tool.importlinter]`` in
pyproject.toml), so it can be tested, benchmarked and reused without a settings module. The entry
point is :func:`analysis.video_analysis.analyze_video`; ``apps.media`` stores what it finds.

Modules: ``probe`` (ffprobe facts), ``decode`` (one ffmpeg process streaming small frames),
``detectors/`` (cut detection and its second opinions), ``shots`` (cuts to shots and segments),
``keyframe_choice`` (which frame of a segment to embed), ``fingerprints`` (tiny per-moment frames for
copied-frame search), ``errors`` (readable reasons a file cannot be analysed), ``video_analysis``
(the single-pass pipeline tying them together).
"""
