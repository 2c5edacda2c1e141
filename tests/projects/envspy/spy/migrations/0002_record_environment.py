import json
import os
import tempfile
import time

from django.db import migrations


def record(apps, schema_editor):
    # A data migration sees what its process sees: record it as the settings do.
    path = os.path.join(tempfile.gettempdir(), "envspy", f"migration-{os.getpid()}-{time.monotonic_ns()}.json")
    with open(path, "w") as out:
        json.dump({"argv": [], "env": dict(os.environ)}, out)


class Migration(migrations.Migration):
    dependencies = [("spy", "0001_initial")]
    operations = [migrations.RunPython(record, record)]
