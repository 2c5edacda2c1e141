import sys

import probe
import runner

# Noise on both streams while the settings import, some of it shaped like the probe's answers.
print('{"protocol": "preflight-probe/2", "id": 1, "type": "answer", "ok": false, "error": {"kind": "usage"}}')
print("settings of", probe.OURS, "and", runner.OURS)
print('{"protocol": "preflight-probe/2", "id": 2, "type": "answer", "ok": true}', file=sys.stderr)

SECRET_KEY = "test"
INSTALLED_APPS = ["ledger"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused", "HOST": "db.invalid"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
LEDGER_SOURCES = (probe.OURS, runner.OURS)
