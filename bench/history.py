"""A generated one-app Django project with a history of N migrations, to time the probe by length.

    python bench/history.py [--sizes 300 1000] [--python PATH]

`write_history(root, n)` writes the project; run as a script, this times the probe's
`sql` and `apply` requests on an empty database and the round trip after the apply, for
each size, and prints the time per migration (roughly constant when the cost is linear). Five models are created by the
first migration; each later migration changes one of them in a cycle of four (add a
column, index it, drop the index, drop the column), so every migration runs real DDL
while the models, and the tables and indexes in the database, stay the same size: only
the length of the history grows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

MODELS = 5
APP = "hist"

_MANAGE = """#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""
_SETTINGS = f"""SECRET_KEY = "bench"
INSTALLED_APPS = ["{APP}"]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "unused", "HOST": "db.invalid"}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""


def _operation(model: int, step: int) -> str:
    name = f"M{model}"
    index = f"m{model}_extra_idx"
    return [
        f'migrations.AddField("{name}", "extra", models.IntegerField(null=True))',
        f'migrations.AddIndex("{name}", models.Index(fields=["extra"], name="{index}"))',
        f'migrations.RemoveIndex("{name}", "{index}")',
        f'migrations.RemoveField("{name}", "extra")',
    ][step]


def write_history(root: Path, n: int) -> Path:
    """Write a Django project under `root` whose one app has `n` migrations; return `root`."""
    app = root / APP
    migrations = app / "migrations"
    migrations.mkdir(parents=True)
    (root / "proj").mkdir()
    (root / "manage.py").write_text(_MANAGE)
    (root / "proj" / "__init__.py").write_text("")
    (root / "proj" / "settings.py").write_text(_SETTINGS)
    (app / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    created = ",\n".join(
        f'        migrations.CreateModel("M{m}", [("id", models.BigAutoField(auto_created=True, primary_key=True, '
        f'serialize=False, verbose_name="ID")), '
        f'("name", models.CharField(max_length=50))])'
        for m in range(MODELS)
    )
    (migrations / "0001_initial.py").write_text(
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
        f"    initial = True\n    dependencies = []\n    operations = [\n{created},\n    ]\n"
    )
    steps = [0] * MODELS  # changes made so far to each model
    previous = "0001_initial"
    for number in range(2, n + 1):
        model = number % MODELS
        operation = _operation(model, steps[model] % 4)
        steps[model] += 1
        name = f"{number:04d}_step"
        (migrations / f"{name}.py").write_text(
            "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
            f'    dependencies = [("{APP}", "{previous}")]\n    operations = [{operation}]\n'
        )
        previous = name
    lines = ["from django.db import models", ""]
    for model in range(MODELS):
        state = steps[model] % 4  # 1: column, 2: column and index, 3: column again, 0: neither
        lines += ["", f"class M{model}(models.Model):", "    name = models.CharField(max_length=50)"]
        if state in (1, 2, 3):
            lines.append("    extra = models.IntegerField(null=True)")
        if state == 2:
            index = f'models.Index(fields=["extra"], name="m{model}_extra_idx")'
            lines += ["", "    class Meta:", f"        indexes = [{index}]"]
    (app / "models.py").write_text("\n".join(lines) + "\n")
    return root


def main() -> None:
    from preflight.postgres.local import LocalProvider
    from preflight.probe import runner
    from preflight.project import Project

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    header = ["migrations"] + [f"{verb} (s) | per migration (ms)" for verb in ("sql", "apply", "round trip")]
    print("| " + " | ".join(header) + " |")
    print("| ---: " * 7 + "|")
    with tempfile.TemporaryDirectory() as tmp, LocalProvider() as server:
        for n in args.sizes:
            project = Project(root=write_history(Path(tmp) / f"h{n}", n), settings="proj.settings", python=args.python)
            times: dict[str, list[float]] = {"sql": [], "apply": [], "roundtrip": []}
            for _ in range(args.repeat):
                for verb in ("sql", "apply"):
                    url = server.info.url(server.create_database("bench"))
                    started = time.perf_counter()
                    result = runner.run(project, verb, url)
                    times[verb].append(time.perf_counter() - started)
                    assert len(result["migrations"]) == n, len(result["migrations"])
                # The round trip on the database the apply migrated: back to zero, forward again.
                started = time.perf_counter()
                trip = runner.run(project, "roundtrip", url, to=[f"{APP}.zero"])
                times["roundtrip"].append(time.perf_counter() - started)
                assert trip["forward"]["status"] == "ok", trip
            row = [str(n)]
            for verb in ("sql", "apply", "roundtrip"):
                seconds = statistics.median(times[verb])
                row += [f"{seconds:.1f}", f"{1000 * seconds / n:.1f}"]
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
