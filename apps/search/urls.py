from django.urls import path

from . import views

urlpatterns = [
    path("", views.search_page, name="search"),
    path("videos/<int:pk>/", views.video_detail, name="video-detail"),  # a video's page (its search strip)
]
