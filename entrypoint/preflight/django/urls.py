"""The route's URLs: include them under a prefix of your choice, e.g. path("preflight/", include(...))."""

from __future__ import annotations

from django.urls import path

from preflight.django import views

app_name = "preflight"
urlpatterns = [
    path("status/", views.status, name="status"),
    path("apply/", views.apply, name="apply"),
]
