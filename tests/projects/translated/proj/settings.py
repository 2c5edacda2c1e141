SECRET_KEY = "test"
# Django's contrib apps and shelf ship German catalogs: with translations active, every
# translated verbose_name and choice reads differently from what the migrations recorded.
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shelf"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused", "HOST": "db.invalid"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "de"
