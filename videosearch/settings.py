"""Django settings. Every deployment-specific value comes from an environment variable."""
from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from apps.search.embedders.config import data_dir, model_settings

from .database import database_settings
from .model_list import parse_embedders
from .secret_key import load_or_create_secret_key
from .security_headers import STRICT_POLICY

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable, blanks dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless asked for: a forgotten setting must not publish tracebacks and settings.
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",  # runserver serves static files the way production does
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "apps.media",
    "apps.search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "videosearch.security_headers.ContentSecurityPolicyMiddleware",  # before WhiteNoise: static files get it too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # after sessions, before common: the language of pages and API answers
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "videosearch.urls"
WSGI_APPLICATION = "videosearch.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Storage shared by the web server and every worker: database, media files and index files.
DATA_DIR = data_dir(os.environ)  # $VIDEOSEARCH_DATA_DIR, else BASE_DIR / "var"
DATA_DIR.mkdir(parents=True, exist_ok=True)
# No secret in the repository: the environment's, else one generated for this installation (DATA_DIR/secret_key).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or load_or_create_secret_key(DATA_DIR)
MEDIA_ROOT = Path(os.environ.get("VIDEOSEARCH_MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "/media/"
INDEX_ROOT = Path(os.environ.get("VIDEOSEARCH_INDEX_ROOT", DATA_DIR / "indexes"))
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one until collectstatic has run
# Static files are served by WhiteNoise, also with DEBUG off. scripts/serve.sh runs collectstatic and sets
# VIDEOSEARCH_STATIC_MANIFEST=1: hashed names cached for a year, gzip and Brotli copies made once. Without it (runserver,
# the demo, the tests) files are found in place, no collectstatic step needed.
STATIC_MANIFEST = env_bool("VIDEOSEARCH_STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# Files browsers fetch from the site root whatever a page names (/favicon.ico: the admin's pages name no icon,
# and its 404 was a console error there), served by WhiteNoise from this folder.
WHITENOISE_ROOT = BASE_DIR / "videosearch" / "site_root"

DATABASES = {
    "default": database_settings(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        sqlite_test_name=os.environ.get("VIDEOSEARCH_TEST_DB", str(DATA_DIR / "test-db.sqlite3")),
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TIME_ZONE = "UTC"
# Interface languages (docs/i18n.md): the browser's Accept-Language, or the header's switch (a cookie), picks one;
# English when it asks for neither. Pages, messages and API errors are translated; the catalog is
# locale/ru/LC_MESSAGES/django.po, compiled to django.mo and committed (scripts/messages.sh remakes both).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_TZ = True

# Uploads: large videos stream to disk, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
MAX_UPLOAD_BYTES = int(os.environ.get("VIDEOSEARCH_MAX_UPLOAD_MB", "4096")) * 1024 * 1024
# The limit is enforced while the body streams in (first handler), before Django's handlers store anything.
FILE_UPLOAD_HANDLERS = [
    "apps.media.upload_limits.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
MAX_IMAGE_PIXELS = int(os.environ.get("VIDEOSEARCH_MAX_IMAGE_PIXELS", str(80_000_000)))

# Celery: Redis when configured, otherwise tasks run in-process (offline demo).
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
# A task whose worker died is handed to another worker once it has been unacknowledged this long.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("VIDEOSEARCH_TASK_VISIBILITY_S", "3600")),
    "unacked_restore_interval": int(os.environ.get("VIDEOSEARCH_TASK_RESTORE_SWEEP_S", "10")),
    "unacked_restore_throttle": 1,
}

# Durable jobs (apps/media/services/sweeper.py): a running job beats every JOB_HEARTBEAT_S; one silent for
# JOB_STALE_S (its worker died) is sent again by the sweeper (every JOB_SWEEP_EVERY_S under `celery beat`, and
# when a worker starts), up to JOB_MAX_ATTEMPTS runs; then it ends "failed".
JOB_HEARTBEAT_S = env_float("VIDEOSEARCH_JOB_HEARTBEAT_S", 10.0)
JOB_STALE_S = env_float("VIDEOSEARCH_JOB_STALE_S", 60.0)
JOB_MAX_ATTEMPTS = int(os.environ.get("VIDEOSEARCH_JOB_MAX_ATTEMPTS", "3"))
JOB_SWEEP_EVERY_S = env_float("VIDEOSEARCH_JOB_SWEEP_EVERY_S", 20.0)
# A failed send (broker down) gives up quickly: the job stays queued and the sweeper sends it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.4, "interval_max": 1}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-jobs": {"task": "videosearch.requeue_stale_jobs", "schedule": JOB_SWEEP_EVERY_S,
                           "options": {"expires": JOB_SWEEP_EVERY_S}},
}

# Models and search.
# EMBEDDER (VIDEOSEARCH_EMBEDDER, default: the multilingual open_clip model), MODEL_DIR (VIDEOSEARCH_MODEL_DIR,
# default DATA_DIR/models), TORCH_DEVICE (VIDEOSEARCH_DEVICE, cpu), EMBED_BATCH_SIZE (VIDEOSEARCH_EMBED_BATCH, 32):
# read by apps/search/embedders/config.py, which also serves them to plain scripts that run without Django.
_models = model_settings(os.environ, DATA_DIR)
EMBEDDER = _models.EMBEDDER
# The models a collection may use, by name: "default" (EMBEDDER), "testmodel", plus VIDEOSEARCH_EMBEDDERS
# ("name=spec,name=spec" or a JSON object). Clients pick a name; only this list can hold a spec (or a server path).
EMBEDDERS: dict[str, str] = parse_embedders(os.environ.get("VIDEOSEARCH_EMBEDDERS", ""), EMBEDDER)
MODEL_DIR = _models.MODEL_DIR
TORCH_DEVICE = _models.TORCH_DEVICE
TORCH_THREADS = int(os.environ.get("VIDEOSEARCH_TORCH_THREADS", "0"))  # 0: torch's default
# Queries of a collection are encoded by its model's ONNX export when MODEL_DIR/onnx/ holds one (issue 11).
ONNX_QUERIES = env_bool("VIDEOSEARCH_ONNX_QUERIES", True)
INDEX_BACKEND = os.environ.get("VIDEOSEARCH_INDEX_BACKEND", "flat")
# Collection indexes each process keeps loaded between requests (least recently used let go first).
OPEN_INDEXES = int(os.environ.get("VIDEOSEARCH_OPEN_INDEXES", "8"))
MAX_KEYFRAME_GAP_S = env_float("VIDEOSEARCH_MAX_KEYFRAME_GAP", 2.0)
EMBED_BATCH_SIZE = _models.EMBED_BATCH_SIZE
# Photos added together (a folder import, a multi-file upload) go to the workers this many per task:
# one batched embedding and one index write per task instead of one per photo.
PHOTO_TASK_BATCH = int(os.environ.get("VIDEOSEARCH_PHOTO_TASK_BATCH", "32"))

# Accounts: session login for the web pages (CSRF on), API tokens for scripts. Anonymous clients may only read
# public collections; every write needs an account (apps/media/access.py decides who sees what).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "search"
LOGOUT_REDIRECT_URL = "search"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",  # first: an anonymous write gets 401 + WWW-Authenticate
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.PageNumbers",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.ApiAutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api_errors.json_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.SafeJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
}
# Rate limits (apps/core/throttles.py): "N/second|minute|hour|day" or "off". Anonymous clients are counted
# per IP address, signed-in users each on their own. Anonymous uploads are strict: the site is for its users.
THROTTLE_RATES = {
    "search_anon": os.environ.get("VIDEOSEARCH_THROTTLE_SEARCH_ANON", "30/min"),
    "search_user": os.environ.get("VIDEOSEARCH_THROTTLE_SEARCH_USER", "300/min"),
    "upload_anon": os.environ.get("VIDEOSEARCH_THROTTLE_UPLOAD_ANON", "20/hour"),
    "upload_user": os.environ.get("VIDEOSEARCH_THROTTLE_UPLOAD_USER", "60/min"),
}
# The client's address for those counts: REMOTE_ADDR, or with N proxies in front the address the Nth proxy
# (counting from this server) saw. Never the whole X-Forwarded-For, which a client can fill with anything.
# Default: none, or one under the HTTPS profile (its reverse proxy).
_behind_proxy = env_bool("VIDEOSEARCH_HTTPS", False)
REST_FRAMEWORK["NUM_PROXIES"] = int(os.environ.get("VIDEOSEARCH_NUM_PROXIES", "1" if _behind_proxy else "0"))
# Counts live in the cache: Redis when configured, so every web process shares them; else per process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

SPECTACULAR_SETTINGS = {
    "TITLE": "videosearch API",
    "DESCRIPTION": "Find moments in videos and photos by text (Russian or English) or by example image.",
    "VERSION": "1.0.0",
    # Exact enough to generate clients from (and for schemathesis, tests/integration/test_api_schema.py):
    # request and response bodies as separate components (ids, counts and dates are never sent), the
    # schema endpoint itself left out of the API it describes.
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "ENUM_NAME_OVERRIDES": {"MediaStatusEnum": "apps.media.models.Status", "QueuedEnum": ["queued"]},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "apps.core.openapi.json_text_values"],
}

# Response headers. CSP: the strict policy of videosearch/security_headers.py unless VIDEOSEARCH_CSP replaces it
# (set but empty: no header). nosniff is Django's default; stated so that no one turns it off by accident
# (media responses set it themselves too, apps/media/file_serving.py).
CONTENT_SECURITY_POLICY = os.environ.get("VIDEOSEARCH_CSP", STRICT_POLICY)
SECURE_CONTENT_TYPE_NOSNIFF = True

# Media files: "" streams them from Django (with byte ranges); "nginx" answers X-Accel-Redirect to
# MEDIA_ACCEL_PREFIX + the file's path, "sendfile" X-Sendfile with its absolute path (Apache mod_xsendfile,
# lighttpd): the front server then sends the bytes and answers Range itself (README, "Production").
MEDIA_ACCEL = os.environ.get("VIDEOSEARCH_MEDIA_ACCEL", "").strip().lower()
if MEDIA_ACCEL not in ("", "nginx", "sendfile"):
    raise ImproperlyConfigured(f"VIDEOSEARCH_MEDIA_ACCEL must be empty, 'nginx' or 'sendfile', not {MEDIA_ACCEL!r}")
MEDIA_ACCEL_PREFIX = "/" + os.environ.get("VIDEOSEARCH_MEDIA_ACCEL_PREFIX", "protected-media").strip("/") + "/"

# Production profile: HTTPS terminated by a reverse proxy that sets X-Forwarded-Proto (see README, "Production").
# `manage.py check --deploy` reports no issues under it.
HTTPS = env_bool("VIDEOSEARCH_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("VIDEOSEARCH_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("VIDEOSEARCH_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("VIDEOSEARCH_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is hard to undo, so it is opt-in; its reminder would otherwise always show.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("VIDEOSEARCH_LOG_LEVEL", "INFO")},
}
