"""Generate a one-app Django project with a long migration history, for scaling benchmarks.

    write_history(root, n)  # root/manage.py, root/benchsite/settings.py, root/ledger/migrations/0001..n
    write_history(root, n, constant=True)  # the same changes on a fixed set of models

Each migration is one small, realistic change to one of the app's models, in turn: a field
added (of several types), an index on it, the model's `CharField` widened, the index and
the field removed again; every 100th migration creates a model (with a foreign key to the
first one, as most tables point at a central one). So the history grows while the schema
grows slowly (a model a hundred migrations), as a real project's does: Django's own work
per migration grows with the model count. With `constant=True` the first migration creates
CONSTANT_MODELS models and no later one creates any: every migration is the same small
change on a schema of fixed size, so the work per migration is constant by construction.
The app's `models.py` matches the last migration, so `makemigrations --check` finds nothing
missing, as in a real project. The settings read `DATABASE_URL`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

APP = "ledger"
SETTINGS = "benchsite.settings"

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
    fields: dict[str, str] = field(default_factory=dict)  # name -> definition in models.py
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


@dataclass
class History:
    """The app's models as the migrations so far leave them."""

    new_model_every: int | None = None  # None: models only in the first migration
    first_models: int = 1  # models the first migration creates
    models: list[Model] = field(default_factory=list)
    changes: int = 0  # migrations that changed a field (not created a model)
    current: Model | None = None  # the model whose field goes through CHANGES

    def step(self, number: int) -> tuple[str, list[str]]:
        """Return the name and operations of migration `number` (1-based)."""
        if number == 1:
            operations = [self._create(number)[1][0] for _ in range(self.first_models)]
            return "initial", operations
        if self.new_model_every and number % self.new_model_every == 0:
            return self._create(number)
        if self.current is None or self.changes % len(CHANGES) == 0:
            self.current = self.models[(self.changes // len(CHANGES)) % len(self.models)]
        change = CHANGES[self.changes % len(CHANGES)]
        self.changes += 1
        return change(self.current, number)

    def _create(self, number: int) -> tuple[str, list[str]]:
        model = Model(f"Entry{len(self.models)}")
        fields = [
            '("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))',
            f'("name", models.CharField(max_length={model.name_length}))',
            '("created", models.DateTimeField(null=True))',
        ]
        model.fields = {"name": f"models.CharField(max_length={model.name_length})"}
        model.fields["created"] = "models.DateTimeField(null=True)"
        if self.models:
            first = self.models[0].name
            reference = f'models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="{APP}.{first.lower()}")'
            fields.append(f'("owner", {reference})')
            model.fields["owner"] = f'models.ForeignKey("{first}", on_delete=models.CASCADE)'
        self.models.append(model)
        joined = ", ".join(fields)
        return model.name.lower(), [f'migrations.CreateModel(name="{model.name}", fields=[{joined}])']


def _add_field(model: Model, number: int) -> tuple[str, list[str]]:
    column, definition = f"f{number}", FIELD_TYPES[number % len(FIELD_TYPES)]
    model.fields[column] = definition
    lower = model.name.lower()
    return f"{lower}_{column}", [f'migrations.AddField(model_name="{lower}", name="{column}", field={definition})']


def _add_index(model: Model, number: int) -> tuple[str, list[str]]:
    column, lower = list(model.fields)[-1], model.name.lower()
    index = f"{lower[:10]}_{column}_idx"
    model.indexes.append((index, column))
    operation = f'models.Index(fields=["{column}"], name="{index}")'
    return f"{lower}_{column}_idx", [f'migrations.AddIndex(model_name="{lower}", index={operation})']


def _alter_name(model: Model, number: int) -> tuple[str, list[str]]:
    model.name_length += 10
    definition = f"models.CharField(max_length={model.name_length})"
    model.fields["name"] = definition
    lower = model.name.lower()
    return f"alter_{lower}_name", [f'migrations.AlterField(model_name="{lower}", name="name", field={definition})']


def _remove_index(model: Model, number: int) -> tuple[str, list[str]]:
    index, column = model.indexes.pop()
    lower = model.name.lower()
    return f"remove_{lower}_{column}_idx", [f'migrations.RemoveIndex(model_name="{lower}", name="{index}")']


def _remove_field(model: Model, number: int) -> tuple[str, list[str]]:
    column = list(model.fields)[-1]
    del model.fields[column]
    lower = model.name.lower()
    return f"remove_{lower}_{column}", [f'migrations.RemoveField(model_name="{lower}", name="{column}")']


# A field's life: added, indexed, the model's name widened, index and field dropped again,
# so the schema (what Django's state and PostgreSQL hold) stays about the same size while
# the history grows; only a new model every NEW_MODEL_EVERY migrations adds to it.
CHANGES = (_add_field, _add_index, _alter_name, _remove_index, _remove_field)
NEW_MODEL_EVERY = 100
CONSTANT_MODELS = 5  # the constant history's fixed schema: each model's field cycle in turn


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


def write_history(root: Path, n: int, *, constant: bool = False) -> Path:
    """Write a Django project with `n` migrations of one app under `root`; return `root`.

    `constant`: CONSTANT_MODELS models from the first migration on, none added later.
    """
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
    history = History(None, CONSTANT_MODELS) if constant else History(NEW_MODEL_EVERY)
    previous = None
    for number in range(1, n + 1):
        name, operations = history.step(number)
        previous, text = _migration(number, name, previous, operations)
        (migrations / f"{previous}.py").write_text(text)
    (root / APP / "models.py").write_text(_models_py(history.models))
    return root


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="write a generated Django migration history")
    parser.add_argument("root", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--constant", action="store_true", help="a fixed set of models, no new one later")
    args = parser.parse_args()
    print(write_history(args.root, args.n, constant=args.constant))
