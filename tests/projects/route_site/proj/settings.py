"""A site that mounts the Preflight route, its database from DATABASE_URL (tests/test_route.py)."""

import os
from urllib.parse import unquote, urlsplit

_url = urlsplit(os.environ["DATABASE_URL"])
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_url.path.lstrip("/")),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": _url.port or "",
    }
}
SECRET_KEY = "route-site-test-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "notes",
    "preflight.django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "proj.urls"
# Lets an inactive user's session through authentication, so that the route's own
# is_active check is what refuses it (with ModelBackend it would look anonymous).
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

PREFLIGHT_AUDIT_LOG = os.environ["PREFLIGHT_AUDIT_LOG"]
PREFLIGHT_NO_BACKUP = True
PREFLIGHT_APPLY_TOKEN_SHA256 = os.environ.get("ROUTE_TOKEN_SHA256")
PREFLIGHT_APPLY_RATE = "3/hour"
