"""The squash example: a ledger app with a long history, and a billing app pointing into it."""

import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "example-only-not-secret"
INSTALLED_APPS = ["ledger", "billing"]
_url = urlsplit(os.environ.get("DATABASE_URL", "postgresql://localhost/squash_example"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_url.path.lstrip("/")),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": unquote(_url.hostname or ""),
        "PORT": str(_url.port or ""),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
