import sys
from pathlib import Path

# acme-widgets is installed outside the project (like a wheel in site-packages); its
# release has a model field that none of its own migrations adds.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "vendor"))

SECRET_KEY = "test"
INSTALLED_APPS = ["widgets"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused", "HOST": "db.invalid"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
