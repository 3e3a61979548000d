"""URL map: web pages, REST API (+ OpenAPI schema), admin and range-capable media files."""
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from apps.media.account_views import api_token
from apps.media.api import JobViewSet, PhotoViewSet, VideoViewSet
from apps.media.file_serving import serve_media
from apps.search.api import CollectionViewSet, ExplainView, SearchView

router = DefaultRouter()
router.register("collections", CollectionViewSet, basename="collection")
router.register("videos", VideoViewSet, basename="video")
router.register("photos", PhotoViewSet, basename="photo")
router.register("jobs", JobViewSet, basename="job")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/token/", api_token, name="api-token"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's language switch (POST)
    path("api/search/", SearchView.as_view(), name="api-search"),
    path("api/explain/", ExplainView.as_view(), name="api-explain"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include(router.urls)),
    re_path(r"^media/(?P<path>.+)$", serve_media, name="media-file"),
    path("", include("apps.media.urls")),
    path("", include("apps.search.urls")),
]

# JSON under /api/, HTML pages elsewhere (apps/core/api_errors.py).
handler400 = "apps.core.api_errors.json_or_html_400"
handler403 = "apps.core.api_errors.json_or_html_403"
handler404 = "apps.core.api_errors.json_or_html_404"
handler500 = "apps.core.api_errors.json_or_html_500"
