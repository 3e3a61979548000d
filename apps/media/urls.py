from django.urls import path

from . import views

urlpatterns = [
    path("collections/", views.collection_list, name="collection-list"),
    path("collections/<int:pk>/", views.collection_detail, name="collection-detail"),
    path("collections/<int:pk>/cards/", views.collection_cards, name="collection-cards"),
    path("collections/<int:pk>/sharing/", views.collection_sharing, name="collection-sharing"),
]
