from django.urls import include, path

urlpatterns = [path("ops/preflight/", include("preflight.django.urls"))]
