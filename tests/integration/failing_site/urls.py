"""videosearch's URLs plus an API endpoint and a page that raise an unexpected exception."""
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from videosearch.urls import handler400, handler403, handler404, handler500
from videosearch.urls import urlpatterns as site_urls

# Text that must reach the server log but never a client.
FAILURE_TEXT = "deliberate failure reading /private/path"


class FailingApiView(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError(FAILURE_TEXT)


def failing_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(FAILURE_TEXT)


urlpatterns = [
    path("api/test-failure/", FailingApiView.as_view()),
    path("test-failure/", failing_page),
    *site_urls,
]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
