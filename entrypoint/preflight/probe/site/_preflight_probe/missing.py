"""What `makemigrations --check` would write: model changes without a migration."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

from _preflight_probe.errors import Detail, display_path, safe


def missing_migrations() -> Detail:
    """Return what `makemigrations --check --dry-run --noinput` finds, per app.

    Mirrors its handle() in Django 4.2 to 5.2: translations off (@no_translations: a
    translated verbose_name or choice compared under LANGUAGE_CODE differs from the
    untranslated text the migration recorded), a loader without a connection that
    respects MIGRATION_MODULES, every installed app, the non-interactive questioner, and
    the command's own autodetector class (5.2 lets a project override it). Nothing when
    the graph has conflicts: makemigrations refuses those, and the plan reports them.

    {app: {"changes": [describe()], "notes": [what the questioner said], "file", "line",
    "package", "version"}}: file and line of the first changed model when the app is in
    the project; package and version when it is installed (outside the project). On a
    detector failure: {"_error": ["Type: message"]}.
    """
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
    from django.db.migrations.state import ProjectState
    from django.utils import translation

    said: list[tuple[str, str]] = []  # (model_name, message) from the questioner

    class Questioner(NonInteractiveMigrationQuestioner):
        # makemigrations --noinput exits 3 where it would ask for a default; note why and
        # go on, so the change is still reported under its app.
        def ask_not_null_addition(self, field_name: str, model_name: str) -> Any:
            return self._asking(model_name, super().ask_not_null_addition, field_name, model_name)

        def ask_not_null_alteration(self, field_name: str, model_name: str) -> Any:
            return self._asking(model_name, super().ask_not_null_alteration, field_name, model_name)

        def ask_auto_now_add_addition(self, field_name: str, model_name: str) -> Any:
            return self._asking(model_name, super().ask_auto_now_add_addition, field_name, model_name)

        def _asking(self, model_name: str, ask: Callable[..., Any], *args: Any) -> Any:
            self.log = lambda message: said.append((model_name.lower(), str(message)))
            try:
                return ask(*args)
            except SystemExit:
                return None

    try:
        with translation.override(None):
            loader = MigrationLoader(None, ignore_no_migrations=True)
            if loader.detect_conflicts():
                return {}
            questioner = Questioner(specified_apps=set(), dry_run=True, verbosity=1, log=lambda message: None)
            autodetector = _makemigrations_autodetector()(
                loader.project_state(), ProjectState.from_apps(apps), questioner
            )
            changes = autodetector.changes(graph=loader.graph, trim_to_apps=None, convert_apps=None)
            found: Detail = {}
            for app, migrations in sorted(changes.items()):
                operations = [op for migration in migrations for op in migration.operations]
                models = [_operation_model(op) for op in operations]
                found[app] = dict(
                    {
                        "changes": [safe(op.describe, type(op).__name__) for op in operations],
                        "notes": [message for model, message in said if model in models],
                    },
                    **_app_origin(apps, app, [m for m in models if m]),
                )
    except Exception as exc:  # a broken model should not hide the rest of the plan
        return {"_error": [f"{type(exc).__name__}: {exc}"]}
    return found


def _makemigrations_autodetector() -> Any:
    """Return the autodetector class `manage.py makemigrations` uses (a project may override it)."""
    from django.db.migrations.autodetector import MigrationAutodetector

    try:
        from django.core.management import get_commands, load_command_class

        command = load_command_class(get_commands()["makemigrations"], "makemigrations")
    except Exception:
        return MigrationAutodetector
    return getattr(command, "autodetector", MigrationAutodetector)


def _operation_model(operation: Any) -> str | None:
    """The model an autodetected operation changes (lower case), if it names one."""
    name = getattr(operation, "model_name", None) or getattr(operation, "name", None)
    return name.lower() if isinstance(name, str) else None


def _app_origin(apps: Any, app_label: str, model_names: list[str]) -> Detail:
    """Where an app with missing migrations lives: its changed model's file, or its package."""
    import inspect

    config = apps.get_app_config(app_label)
    root = os.path.realpath(os.getcwd())
    path = os.path.realpath(config.path)
    installed = any(part in ("site-packages", "dist-packages") for part in path.split(os.sep))
    if installed or not path.startswith(root + os.sep):
        package, version = _distribution(config.module.__name__)
        return {"file": None, "line": None, "package": package, "version": version}
    for name in model_names:
        try:
            model = config.get_model(name)
            source = inspect.getsourcefile(model)
            if source is None:
                continue
            return {
                "file": display_path(source),
                "line": inspect.getsourcelines(model)[1],
                "package": None,
                "version": None,
            }
        except Exception:
            continue  # a deleted model, or source not on disk: try the next one
    models_file = getattr(config.models_module, "__file__", None)
    return {"file": display_path(models_file) if models_file else None, "line": None, "package": None, "version": None}


def _distribution(module_name: str) -> tuple[str, str | None]:
    """Return (distribution name, installed version) of a top-level module, as pip names it."""
    from importlib import metadata

    top = module_name.split(".")[0]
    names: list[str] = []
    try:
        if hasattr(metadata, "packages_distributions"):  # Python 3.10+
            names = metadata.packages_distributions().get(top, [])
        else:
            names = [
                dist.metadata["Name"]
                for dist in metadata.distributions()
                if top in (dist.read_text("top_level.txt") or "").split()
            ]
        for name in names:
            return name, metadata.version(name)
    except Exception:
        pass  # unreadable metadata: fall back to the module's own name and __version__
    version = getattr(sys.modules.get(top), "__version__", None)
    return (names[0] if names else top), (str(version) if version else None)
