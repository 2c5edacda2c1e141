"""Generate a one-app Django project with a long migration history, for scaling benchmarks.

    write_history(root, n)  # root/manage.py, root/benchsite/settings.py, root/ledger/migrations/0001..n

Each migration is one small, realistic change, in a repeating cycle of ten: a new model
(with a foreign key to the first one, as most tables point at a central one), then new
fields of several types, indexes on fields just added, and a widened `CharField`. The
app's `models.py` is written to match the last migration, so `makemigrations --check`
finds nothing missing, as in a real project. The settings read `DATABASE_URL`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

APP = "ledger"
SETTINGS = "benchsite.settings"
CYCLE = 10  # a new model every CYCLE migrations

# Field types added in turn: (definition in a migration and in models.py).
FIELD_TYPES = (
    "models.IntegerField(null=True)",
    'models.CharField(max_length=40, default="")',
    "models.BooleanField(default=False)",
    "models.DateTimeField(null=True)",
    "models.DecimalField(max_digits=12, decimal_places=2, null=True)",
    "models.BigIntegerField(default=0)",
)

MANAGE = """#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

SETTINGS_PY = '''"""Settings of a generated benchmark project: one app with a long migration history."""
import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "bench-only-not-secret"
INSTALLED_APPS = ["ledger"]


def _database(url):
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname or ""),
        "PORT": str(parts.port or ""),
    }


DATABASES = {"default": _database(os.environ.get("DATABASE_URL", "postgresql://localhost/bench"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
'''


@dataclass
class Model:
    name: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> definition
    indexes: list[tuple[str, str]] = field(default_factory=list)  # (index name, field)
    name_length: int = 50


def _migration(number: int, name: str, previous: str | None, operations: list[str]) -> tuple[str, str]:
    dependencies = f'[("{APP}", "{previous}")]' if previous else "[]"
    body = "".join(f"        {operation},\n" for operation in operations)
    text = (
        "from django.db import migrations, models\n"
        "import django.db.models.deletion\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    initial = {number == 1}\n"
        f"    dependencies = {dependencies}\n"
        f"    operations = [\n{body}    ]\n"
    )
    return f"{number:04d}_{name}", text


def _step(number: int, models_: list[Model]) -> tuple[str, list[str]]:
    """Return the name and operations of migration `number` (1-based), updating `models_`."""
    position = (number - 1) % CYCLE
    if position == 0:
        model = Model(f"Entry{len(models_)}")
        fields = [
            '("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))',
            f'("name", models.CharField(max_length={model.name_length}))',
            '("created", models.DateTimeField(null=True))',
        ]
        model.fields = {"name": f"models.CharField(max_length={model.name_length})"}
        model.fields["created"] = "models.DateTimeField(null=True)"
        if models_:
            first = models_[0].name
            reference = f'models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="{APP}.{first.lower()}")'
            fields.append(f'("owner", {reference})')
            model.fields["owner"] = f'models.ForeignKey("{first}", on_delete=models.CASCADE)'
        models_.append(model)
        joined = ", ".join(fields)
        return f"{model.name.lower()}", [f'migrations.CreateModel(name="{model.name}", fields=[{joined}])']
    model = models_[-1]
    lower = model.name.lower()
    if position in (3, 6):
        column = list(model.fields)[-1]
        index = f"{lower[:12]}_{column[:8]}_{number}_idx"
        model.indexes.append((index, column))
        operation = (
            f'migrations.AddIndex(model_name="{lower}", index=models.Index(fields=["{column}"], name="{index}"))'
        )
        return f"{lower}_{column}_idx", [operation]
    if position == CYCLE - 1:
        model.name_length += 50
        definition = f"models.CharField(max_length={model.name_length})"
        model.fields["name"] = definition
        return f"alter_{lower}_name", [f'migrations.AlterField(model_name="{lower}", name="name", field={definition})']
    column = f"f{number}"
    definition = FIELD_TYPES[number % len(FIELD_TYPES)]
    model.fields[column] = definition
    operation = f'migrations.AddField(model_name="{lower}", name="{column}", field={definition})'
    return f"{lower}_{column}", [operation]


def _models_py(models_: list[Model]) -> str:
    lines = ["from django.db import models", ""]
    for model in models_:
        lines += ["", f"class {model.name}(models.Model):"]
        lines += [f"    {name} = {definition}" for name, definition in model.fields.items()]
        if model.indexes:
            indexes = ", ".join(f'models.Index(fields=["{column}"], name="{name}")' for name, column in model.indexes)
            lines += ["", "    class Meta:", f"        indexes = [{indexes}]"]
        lines.append("")
    return "\n".join(lines)


def write_history(root: Path, n: int) -> Path:
    """Write a Django project with `n` migrations of one app under `root`; return `root`."""
    if n < 1:
        raise ValueError("a history needs at least one migration")
    (root / "benchsite").mkdir(parents=True, exist_ok=True)
    (root / "manage.py").write_text(MANAGE)
    (root / "benchsite" / "__init__.py").write_text("")
    (root / "benchsite" / "settings.py").write_text(SETTINGS_PY)
    migrations = root / APP / "migrations"
    migrations.mkdir(parents=True, exist_ok=True)
    (root / APP / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    models_: list[Model] = []
    previous = None
    for number in range(1, n + 1):
        name, operations = _step(number, models_)
        previous, text = _migration(number, name if number > 1 else "initial", previous, operations)
        (migrations / f"{previous}.py").write_text(text)
    (root / APP / "models.py").write_text(_models_py(models_))
    return root


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="write a generated Django migration history")
    parser.add_argument("root", type=Path)
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    print(write_history(args.root, args.n))
