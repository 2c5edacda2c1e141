SECRET_KEY = "test"
INSTALLED_APPS = ["things"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused", "HOST": "db.invalid"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

from site_secrets import API_KEY  # noqa: E402 - the module does not exist
