SECRET_KEY = "test"
INSTALLED_APPS = ["shelf"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused", "HOST": "db.invalid"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
