# Records the environment of every process that imports the project's settings (the
# probe, the baseline's probe, --test-command): tests/test_environment.py reads them.
import json
import os
import sys
import tempfile
import time

_spy = os.path.join(tempfile.gettempdir(), "envspy")
os.makedirs(_spy, exist_ok=True)
with open(os.path.join(_spy, f"settings-{os.getpid()}-{time.monotonic_ns()}.json"), "w") as _out:
    json.dump({"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ)}, _out)

SECRET_KEY = "test"
INSTALLED_APPS = ["spy"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused", "HOST": "db.invalid"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
