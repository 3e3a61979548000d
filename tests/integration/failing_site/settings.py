"""videosearch's settings with the failing views' URL conf."""
from videosearch.settings import *  # noqa: F403

ROOT_URLCONF = "tests.integration.failing_site.urls"
