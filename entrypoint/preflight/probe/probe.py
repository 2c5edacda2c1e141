"""Ask a Django project, in its own interpreter, what its migrations are and what they do.

Standalone: standard library and Django only, never an import of `preflight`, because it
runs in the user's interpreter (their virtualenv), not Preflight's. Supported: Python 3.8+
and Django 4.2 LTS to 5.2 LTS (tested on 4.2 and 5.2).

    python probe.py VERB --out FILE [--database ALIAS] [--to app.migration ...]

Verbs (each writes one JSON document, schema "preflight-probe/1", to FILE):

    plan   the migration graph, the applied set, the pending plan in order, leaf nodes
           per app (conflicts), whether django_migrations exists, and per migration
           its file (relative to the project, or for an installed package to its
           sys.path entry: never absolute), operations (type, describe(), line in
           the file), atomic, reversible, elidable; and the model changes that
           `makemigrations --check` would write (missing_migrations).
    sql    forwards and backwards SQL of every pending migration, byte-identical to
           `manage.py sqlmigrate [--backwards]`, all computed in this one process.
    apply  apply the pending migrations (or those up to --to) one at a time, recording
           every statement executed (connection.execute_wrapper) with its duration, the
           operation it came from, the locks held after it (pg_locks) and the relations
           it rewrote (relfilenode); stop at the first failure and report it with the
           failing statement. --lock-timeout MS, --no-capture.
    roundtrip  migrate back to --to (the state before the plan), then forward again;
           report which migration cannot go back (IrreversibleError) or fails again,
           and each migration's backwards SQL as sqlmigrate --backwards prints it
           right before that migration goes back.

The project's stdout is left alone (user code may print); progress lines go to stderr
prefixed with "@preflight-progress ". The exit status is 0 when the verb succeeded and
1 when FILE holds an error (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import sys
import time
import traceback

SCHEMA = "preflight-probe/1"
PROGRESS = "@preflight-progress "
INTERNAL_MARKERS = (
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "pg_catalog.",
    "information_schema.",
    "FROM pg_",
    "JOIN pg_",
)
MAX_STATEMENTS = 500  # distinct entries per migration; the rest are counted, not listed


class ProbeError(Exception):
    """A failure the caller turns into a message and an exit code."""

    def __init__(self, kind, message, **detail):
        super().__init__(message)
        self.kind, self.message, self.detail = kind, message, detail

    def as_dict(self):
        return dict(self.detail, kind=self.kind, message=self.message)


def progress(event, **fields):
    sys.stderr.write(PROGRESS + json.dumps(dict(fields, event=event)) + "\n")
    sys.stderr.flush()


# -- setting Django up ---------------------------------------------------------------


def display_path(path):
    """Return `path` as a reader should see it, never in this machine's layout.

    Inside the project (and not in a virtualenv there): relative to the project root.
    Elsewhere: relative to the sys.path entry that holds it, so a migration of an
    installed package reads django/contrib/auth/migrations/0001_initial.py. None when
    no sys.path entry holds it.
    """
    real = os.path.realpath(path)
    root = os.path.realpath(os.getcwd())
    installed = any(part in ("site-packages", "dist-packages") for part in real.split(os.sep))
    if real.startswith(root + os.sep) and not installed:
        return os.path.relpath(real, root)
    entries = {os.path.realpath(entry or os.curdir).rstrip(os.sep) for entry in sys.path}
    holding = [entry for entry in entries if real.startswith(entry + os.sep)]
    return os.path.relpath(real, max(holding, key=len)) if holding else None


def _frame(entry):
    shown = display_path(entry.filename) if os.path.isabs(entry.filename) else None
    return {"file": shown or entry.filename, "line": entry.lineno, "function": entry.name, "code": entry.line}


def _user_frame(tb_entries):
    """Return the innermost frame in the project's own code (not Django, not site-packages)."""
    root = os.path.realpath(os.getcwd())
    for entry in reversed(tb_entries):
        if entry.filename.startswith("<"):
            continue  # <frozen importlib._bootstrap>: Python's own, though realpath would put it here
        path = os.path.realpath(entry.filename)
        if path.startswith(root + os.sep) and "site-packages" not in path and not path.endswith("probe.py"):
            return _frame(entry)
    return None


# PostgreSQL's DETAIL lines quote the rows themselves ("Key (email)=(ann@example.com)
# already exists.", "Failing row contains (...)"): production data, kept out of the report.
ROW_VALUES = (
    (re.compile(r"(Key \((?:[^()]|\([^()]*\))*\))=\((?:[^()]|\([^()]*\))*\)"), r"\1=(…)"),
    (re.compile(r"Failing row contains \(.*\)"), "Failing row contains (…)"),
)


def redact_rows(text):
    """Replace the row values PostgreSQL quotes in an error's DETAIL with an ellipsis."""
    for pattern, replacement in ROW_VALUES:
        text = pattern.sub(replacement, text)
    return text


def _describe_exception(exc):
    entries = traceback.extract_tb(exc.__traceback__)
    return {
        "type": type(exc).__name__,
        "error": redact_rows(f"{type(exc).__name__}: {str(exc).strip()}").rstrip(": "),
        "frame": _frame(entries[-1]) if entries else None,
        "user_frame": _user_frame(entries),
        "traceback": redact_rows("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))[-4000:],
    }


def setup_django(alias):
    try:
        import django
    except ImportError as exc:
        raise ProbeError("django_missing", f"Django is not importable in {sys.executable}: {exc}") from exc
    module = os.environ.get("PREFLIGHT_USER_SETTINGS") or os.environ.get("DJANGO_SETTINGS_MODULE", "")
    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - imports the settings module
    except Exception as exc:
        raise ProbeError(
            "settings_import", f"settings module {module!r} does not import", **_describe_exception(exc)
        ) from exc
    try:
        django.setup()
    except Exception as exc:
        raise ProbeError("setup", f"django.setup() failed for settings {module!r}", **_describe_exception(exc)) from exc
    from django.db import DEFAULT_DB_ALIAS, connections

    alias = alias or DEFAULT_DB_ALIAS
    try:
        connection = connections[alias]
    except Exception as exc:
        raise ProbeError("database", f"no database alias {alias!r} in DATABASES", **_describe_exception(exc)) from exc
    if connection.vendor != "postgresql":
        raise ProbeError("database", f"database alias {alias!r} uses {connection.vendor}, not PostgreSQL")
    try:
        connection.ensure_connection()
    except Exception as exc:
        raise ProbeError("database", "cannot connect to the scratch database", **_describe_exception(exc)) from exc
    return django.get_version(), connection


# -- reading migrations ---------------------------------------------------------------


def operation_lines(path):
    """Return (first, last) lines of each element of `operations = [...]` in a migration file."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError):
        return [], None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                targets = []
                if isinstance(statement, ast.Assign):
                    targets = statement.targets
                elif isinstance(statement, ast.AnnAssign):
                    targets = [statement.target]
                if any(isinstance(t, ast.Name) and t.id == "operations" for t in targets):
                    value = statement.value
                    if isinstance(value, (ast.List, ast.Tuple)):
                        spans = [
                            (element.lineno, getattr(element, "end_lineno", element.lineno)) for element in value.elts
                        ]
                        return spans, statement.lineno
                    return [], statement.lineno
    return [], None


def _safe(call, default=None):
    try:
        return call()
    except Exception:
        return default


def migration_file(migration):
    """Return the migration's file for the report: see display_path (None if it has none)."""
    module = sys.modules.get(type(migration).__module__)
    path = getattr(module, "__file__", None)
    if not path:
        return None
    # A module's name is its path below the sys.path entry it was imported from.
    return display_path(path) or type(migration).__module__.replace(".", "/") + ".py"


def describe_migration(migration):
    module = sys.modules.get(type(migration).__module__)
    path = getattr(module, "__file__", None)
    lines, assign_line = operation_lines(path) if path else ([], None)
    if len(lines) != len(migration.operations):
        lines = [(assign_line, assign_line)] * len(migration.operations)  # built dynamically: the list
    operations = []
    for index, operation in enumerate(migration.operations):
        operations.append(
            {
                "index": index,
                "type": type(operation).__name__,
                "module": type(operation).__module__,
                "describe": _safe(operation.describe, type(operation).__name__),
                "line": lines[index][0],
                "end_line": lines[index][1],
                "reversible": bool(_safe(lambda op=operation: op.reversible, False)),
                "elidable": bool(getattr(operation, "elidable", False)),
                "reduces_to_sql": bool(getattr(operation, "reduces_to_sql", True)),
            }
        )
    return {
        "app": migration.app_label,
        "name": migration.name,
        "file": migration_file(migration),
        "atomic": bool(migration.atomic),
        "initial": bool(getattr(migration, "initial", False)),
        "reversible": all(op["reversible"] for op in operations),
        "elidable": bool(operations) and all(op["elidable"] for op in operations),
        "replaces": [list(key) for key in migration.replaces],
        "dependencies": [list(key) for key in migration.dependencies],
        "operations": operations,
    }


def load(connection):
    """Build the executor; a broken migration graph is the project's problem, named precisely."""
    from django.db.migrations.exceptions import BadMigrationError, CircularDependencyError, NodeNotFoundError
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
    except NodeNotFoundError as exc:
        raise _missing_dependency(exc) from exc
    except CircularDependencyError as exc:
        raise _cycle(exc) from exc
    except Exception as exc:
        broken = _broken_file(exc)
        if broken is not None:
            raise broken from exc
        if isinstance(exc, (BadMigrationError, ValueError)):
            raise ProbeError("graph", "the migration graph does not load", **_describe_exception(exc)) from exc
        raise
    return executor


def _relative(path):
    """Return `path` relative to the project (the probe runs in its folder) when it is inside it."""
    root = os.path.realpath(os.getcwd())
    real = os.path.realpath(path)
    return os.path.relpath(real, root) if real.startswith(root + os.sep) else path


def _migration_module_file(app_label, name):
    """Return the file of an already imported migration module, or None."""
    from django.db.migrations.loader import MigrationLoader

    module_name = _safe(lambda: MigrationLoader.migrations_module(app_label)[0])
    module = sys.modules.get(f"{module_name}.{name}") if module_name else None
    path = getattr(module, "__file__", None)
    return _relative(path) if path else None


def _line_naming(path, text):
    """Return the first line of `path` that contains `text` (where a dependency is declared)."""
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if text in line:
                    return number
    except (OSError, ValueError):
        pass
    return None


def _missing_dependency(exc):
    """A migration depends on one that does not exist (or on an app that is not installed)."""
    from django.apps import apps

    origin = getattr(exc, "origin", None)
    node = getattr(exc, "node", None)
    if origin is None or not isinstance(node, tuple) or len(node) != 2:
        # Django's own wording is the clearest here (e.g. a squash that could not replace).
        return ProbeError("graph", "the migration graph does not load", **_describe_exception(exc))
    label = "{}.{}".format(getattr(origin, "app_label", "?"), getattr(origin, "name", origin))
    path = _migration_module_file(getattr(origin, "app_label", ""), getattr(origin, "name", ""))
    line = _line_naming(path, node[1]) if path else None
    installed = _safe(lambda: apps.get_app_config(node[0]) is not None, False)
    return ProbeError(
        "missing_dependency",
        f"migration {label} depends on {node[0]}.{node[1]}, which does not exist"
        if installed
        else f"migration {label} depends on {node[0]}.{node[1]}, but no installed app is labelled {node[0]!r}",
        migration=label,
        missing="{}.{}".format(*node),
        app_installed=installed,
        file=path,
        line=line,
    )


def _cycle(exc):
    """Migrations that depend on each other in a circle; name them in dependency order."""
    # Django lists the cycle parent first: each entry is a dependency of the one after it,
    # and the first depends on the last. Read backwards, each one depends on the next.
    listed = [part.strip() for part in str(exc).split(",") if part.strip()]
    if listed:  # start at the smallest name, so the same cycle always reads the same
        first = listed.index(min(listed))
        listed = listed[first:] + listed[:first]
    order = [listed[0], *reversed(listed[1:]), listed[0]] if listed else []
    files = []
    for label in order[:-1]:
        app, _, name = label.partition(".")
        path = _migration_module_file(app, name)
        if path:
            files.append(path)
    return ProbeError(
        "cycle",
        "circular migration dependencies: " + " -> ".join(order) + " (each depends on the next)",
        cycle=listed,
        files=files,
    )


def _broken_file(exc):
    """A project file (a migration) that raised while Django imported it: which one, which line."""
    if isinstance(exc, SyntaxError) and exc.filename and os.path.isfile(exc.filename):
        path, line = _relative(exc.filename), exc.lineno
        error = f"SyntaxError: {exc.msg}"
    else:
        root = os.path.realpath(os.getcwd())
        inside = [
            entry
            for entry in traceback.extract_tb(exc.__traceback__)
            if not entry.filename.startswith("<")  # <frozen importlib._bootstrap>
            and os.path.realpath(entry.filename).startswith(root + os.sep)
            and "site-packages" not in entry.filename
            and not entry.filename.endswith("probe.py")
        ]
        if not inside:
            return None
        path, line = _relative(inside[0].filename), inside[0].lineno  # the outermost: the file Django imported
        error = f"{type(exc).__name__}: {str(exc).strip()}".rstrip(": ")
    if path.startswith(os.sep):
        return None  # outside the project: not a migration file of its own
    what = "migration file" if "migrations" in path.split(os.sep)[:-1] else "file"
    detail = _describe_exception(exc)
    detail.update(error=error, file=path, line=line)
    return ProbeError("migration_import", f"{what} {path} does not import", **detail)


def check_graph(executor, connection):
    from django.db.migrations.exceptions import InconsistentMigrationHistory

    conflicts = executor.loader.detect_conflicts()
    if conflicts:
        raise ProbeError(
            "conflict",
            "conflicting migrations: "
            + "; ".join(
                "{} has leaves {}".format(app, ", ".join(sorted(names))) for app, names in sorted(conflicts.items())
            ),
            conflicts={app: sorted(names) for app, names in conflicts.items()},
        )
    try:
        executor.loader.check_consistent_history(connection)
    except InconsistentMigrationHistory as exc:
        raise ProbeError(
            "history", "inconsistent migration history on the database", **_describe_exception(exc)
        ) from exc


def parse_targets(executor, names):
    graph = executor.loader.graph
    if not names:
        return graph.leaf_nodes()
    targets = []
    for name in names:
        app, _, migration = name.partition(".")
        if migration == "zero":
            targets.append((app, None))
            continue
        if migration == "__latest__":
            targets.extend(graph.leaf_nodes(app))
            continue
        try:
            targets.append((app, executor.loader.get_migration_by_prefix(app, migration).name))
        except Exception:
            raise ProbeError("usage", f"no migration {migration!r} in app {app!r}") from None
    return targets


def pending_plan(executor, targets):
    return [(migration, backwards) for migration, backwards in executor.migration_plan(targets)]


def rollback_targets(executor, plan):
    """Return, per app in the plan, the migration to go back to (or 'zero')."""
    graph, applied = executor.loader.graph, executor.loader.applied_migrations
    result = {}
    for migration, _ in plan:
        app = migration.app_label
        if app in result:
            continue
        parents = [p for p in graph.node_map[(app, migration.name)].parents if p.key[0] == app]
        applied_parents = sorted(p.key[1] for p in parents if p.key in applied)
        result[app] = applied_parents[-1] if applied_parents else "zero"
    return result


# -- verbs ------------------------------------------------------------------------------


def verb_plan(args, connection):
    executor = load(connection)
    loader, graph = executor.loader, executor.loader.graph
    leaves = {}
    for app, name in graph.leaf_nodes():
        leaves.setdefault(app, []).append(name)
    conflicts = {app: sorted(names) for app, names in leaves.items() if len(names) > 1}
    plan = [] if conflicts else pending_plan(executor, parse_targets(executor, args.to))
    if not conflicts:
        check_graph(executor, connection)
    return {
        "nodes": [
            {"app": key[0], "name": key[1], "parents": sorted(list(p.key) for p in graph.node_map[key].parents)}
            for key in sorted(graph.nodes)
        ],
        "applied": sorted(list(key) for key in loader.applied_migrations),
        "leaves": {app: sorted(names) for app, names in sorted(leaves.items())},
        "conflicts": conflicts,
        "unmigrated_apps": sorted(loader.unmigrated_apps),
        "pending": [describe_migration(migration) for migration, _ in plan],
        "rollback": rollback_targets(executor, plan),
        "missing_migrations": missing_migrations(),
        "health": graph_health(loader),
        "lock_timeout_setting": _lock_timeout_option(connection),
        "can_rollback_ddl": bool(connection.features.can_rollback_ddl),
        # No django_migrations table: an empty database, or not this project's database.
        "has_migrations_table": bool(executor.recorder.has_table()),
    }


def graph_health(loader):
    """Applied migrations the code lacks, and squashes only partly applied.

    A migration a squash of the code replaces is not lacking, though its file may be
    gone (the cleanup after squashing): Django counts it into the squash, as
    showmigrations shows.
    """
    applied = set(loader.applied_migrations)
    on_disk = set(loader.disk_migrations)
    squashed = {tuple(key) for migration in loader.disk_migrations.values() for key in migration.replaces}
    partial = {}
    for key, migration in loader.disk_migrations.items():
        replaced = [tuple(r) for r in migration.replaces]
        done = [r for r in replaced if r in applied]
        if replaced and done and len(done) < len(replaced) and key not in applied:
            partial[f"{key[0]}.{key[1]}"] = [f"{a}.{n}" for a, n in replaced if (a, n) not in applied]
    return {
        "applied_not_in_code": sorted(f"{a}.{n}" for a, n in applied - on_disk - squashed),
        "partially_applied_squashes": partial,
    }


def _lock_timeout_option(connection):
    """lock_timeout set through DATABASES OPTIONS (e.g. {"options": "-c lock_timeout=5s"}), if any."""
    options = str((connection.settings_dict.get("OPTIONS") or {}).get("options") or "")
    match = re.search(r"lock_timeout\s*=\s*([^\s]+)", options)
    return match.group(1).strip("'\"") if match else None


def missing_migrations():
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

    said = []  # (model_name, message) from the questioner

    class Questioner(NonInteractiveMigrationQuestioner):
        # makemigrations --noinput exits 3 where it would ask for a default; note why and
        # go on, so the change is still reported under its app.
        def ask_not_null_addition(self, field_name, model_name):
            return self._asking(model_name, super().ask_not_null_addition, field_name, model_name)

        def ask_not_null_alteration(self, field_name, model_name):
            return self._asking(model_name, super().ask_not_null_alteration, field_name, model_name)

        def ask_auto_now_add_addition(self, field_name, model_name):
            return self._asking(model_name, super().ask_auto_now_add_addition, field_name, model_name)

        def _asking(self, model_name, ask, *args):
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
            found = {}
            for app, migrations in sorted(changes.items()):
                operations = [op for migration in migrations for op in migration.operations]
                models = [_operation_model(op) for op in operations]
                found[app] = dict(
                    {
                        "changes": [_safe(op.describe, type(op).__name__) for op in operations],
                        "notes": [message for model, message in said if model in models],
                    },
                    **_app_origin(apps, app, [m for m in models if m]),
                )
    except Exception as exc:  # a broken model should not hide the rest of the plan
        return {"_error": [f"{type(exc).__name__}: {exc}"]}
    return found


def _makemigrations_autodetector():
    """Return the autodetector class `manage.py makemigrations` uses (a project may override it)."""
    from django.db.migrations.autodetector import MigrationAutodetector

    try:
        from django.core.management import get_commands, load_command_class

        command = load_command_class(get_commands()["makemigrations"], "makemigrations")
    except Exception:
        return MigrationAutodetector
    return getattr(command, "autodetector", MigrationAutodetector)


def _operation_model(operation):
    """The model an autodetected operation changes (lower case), if it names one."""
    name = getattr(operation, "model_name", None) or getattr(operation, "name", None)
    return name.lower() if isinstance(name, str) else None


def _app_origin(apps, app_label, model_names):
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
            return {
                "file": display_path(inspect.getsourcefile(model)),
                "line": inspect.getsourcelines(model)[1],
                "package": None,
                "version": None,
            }
        except Exception:
            continue  # a deleted model, or source not on disk: try the next one
    models_file = getattr(config.models_module, "__file__", None)
    return {"file": display_path(models_file) if models_file else None, "line": None, "package": None, "version": None}


def _distribution(module_name):
    """Return (distribution name, installed version) of a top-level module, as pip names it."""
    from importlib import metadata

    top = module_name.split(".")[0]
    names = []
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


def sqlmigrate_text(statements, wrap, connection):
    """Return exactly what `manage.py sqlmigrate` prints for these statements."""
    output = "\n".join(statements)
    if not output:
        return ""  # sqlmigrate prints "No operations found." to stderr, nothing to stdout
    if wrap:
        output = f"{connection.ops.start_transaction_sql()}\n{output}\n{connection.ops.end_transaction_sql()}"
    return output if output.endswith("\n") else output + "\n"


def split_by_operation(statements, migration, deferred=()):
    """Group collect_sql's statements by operation, using the headers it writes before each.

    For every operation Django's Migration.apply(collect_sql=True) appends "--",
    "-- <describe()>", "--" before that operation's SQL; we walk them in order. The
    schema editor's deferred SQL comes after the last operation's header: `deferred`
    holds (position in `statements`, operation index) where each deferred statement
    starts, and those statements are returned apart, in the order they run, as
    [{"operation": index, "statements": [...]}] (consecutive ones of the same operation
    together). Returns (groups, deferred groups), or (None, None) when the headers do
    not match the operations.
    """
    groups, current = [], None
    expected = [_safe(op.describe, type(op).__name__) for op in migration.operations]
    marks = sorted(deferred)
    tail = marks[0][0] if marks else len(statements)
    index = 0
    while index < tail:
        if len(groups) < len(expected) and statements[index : index + 3] == ["--", "-- " + expected[len(groups)], "--"]:
            current = []
            groups.append(current)
            index += 3
            continue
        if current is not None:
            current.append(statements[index])
        index += 1
    if len(groups) != len(expected):
        return None, None
    later = []
    for number, (start, operation) in enumerate(marks):
        end = marks[number + 1][0] if number + 1 < len(marks) else len(statements)
        if later and later[-1]["operation"] == operation:
            later[-1]["statements"] += statements[start:end]
        else:
            later.append({"operation": operation, "statements": statements[start:end]})
    return groups, later


def verb_sql(args, connection):
    from django.db.migrations.loader import MigrationLoader

    executor = load(connection)
    check_graph(executor, connection)
    plan = pending_plan(executor, parse_targets(executor, args.to))
    # The loader sqlmigrate itself uses: squashed migrations are not swapped in.
    loader = MigrationLoader(connection, replace_migrations=False)
    result = []
    for index, (planned, _) in enumerate(plan):
        progress("sql", k=index + 1, n=len(plan), migration=f"{planned.app_label}.{planned.name}")
        migration = loader.graph.nodes[(planned.app_label, planned.name)]
        entry = {"app": migration.app_label, "name": migration.name}
        for direction, backwards in (("forwards", False), ("backwards", True)):
            entry[direction] = collected_sql(loader, migration, backwards, connection)
        result.append(entry)
    return {"migrations": result}


def collected_sql(loader, migration, backwards, connection):
    """What `sqlmigrate [--backwards]` prints for `migration` with the database as it is now.

    The schema editor reads the catalog for some names (a unique constraint to drop, an
    index to rename): the SQL depends on when it is asked.
    """
    wrap = bool(migration.atomic and connection.features.can_rollback_ddl)
    deferred = []  # (position in the collected SQL, operation) where each deferred statement starts

    def mark(index, editor, later, marks=deferred):
        if later:
            marks.append((len(editor.collected_sql), index))

    try:
        if backwards:
            statements = loader.collect_sql([(migration, backwards)])
        else:
            with tracking_operations(migration, mark):
                statements = loader.collect_sql([(migration, backwards)])
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "statements": [], "text": None}
    groups, later = split_by_operation(statements, migration, deferred)
    return {
        "statements": statements,
        "text": sqlmigrate_text(statements, wrap, connection),
        "by_operation": groups,
        "deferred": later,
    }


USER_RELATIONS = """
    SELECT c.oid, c.relname, c.relkind, c.relfilenode FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm', 'i')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
    ORDER BY c.relkind DESC, c.relname
"""
HELD_LOCKS = """
    SELECT c.oid, c.relname, c.relkind, l.mode FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
      AND c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
    ORDER BY c.relname, l.mode
"""
DDL = ("ALTER", "CREATE", "DROP", "CLUSTER", "VACUUM", "REINDEX", "TRUNCATE", "REFRESH", "DO")
BOOKKEEPING = ("django_migrations", "django_content_type", "auth_permission")


class Capture:
    """What each statement did to the copy: locks it took, relations it rewrote.

    Reads pg_locks and pg_class on the migrating connection itself (through the raw
    DB-API connection, so Django's execute wrappers do not see these queries) right
    after each statement; in a transaction, locks are then held until it commits.
    """

    def __init__(self, connection):
        self.connection = connection
        self.at_plan_start = set()
        self.relations = {}  # oid -> (relname, relkind, relfilenode)
        self.sizes = {}  # oid -> bytes at migration start
        self.seen_locks = set()

    def _rows(self, query, params=None):
        cursor = self.connection.connection.cursor()
        try:
            cursor.execute(query, params)
            return cursor.fetchall()
        finally:
            cursor.close()

    def start_plan(self):
        self.at_plan_start = {row[0] for row in self._rows(USER_RELATIONS)}

    def start_migration(self):
        rows = self._rows(USER_RELATIONS)
        self.relations = {oid: (name, kind, node) for oid, name, kind, node in rows}
        self.sizes = dict(
            self._rows(USER_RELATIONS.replace("c.relname, c.relkind, c.relfilenode", "pg_relation_size(c.oid)"))
        )
        self.seen_locks = set()

    def after(self, sql):
        """Return (locks newly held, rewrites) after a statement that succeeded."""
        locks = []
        for oid, name, kind, mode in self._rows(HELD_LOCKS):
            if name in BOOKKEEPING or (oid, mode) in self.seen_locks:
                continue
            self.seen_locks.add((oid, mode))
            locks.append({"relation": name, "kind": kind, "mode": mode, "new_in_plan": oid not in self.at_plan_start})
        rewrites = []
        if sql.lstrip().upper().startswith(DDL):
            current = {oid: (name, kind, node) for oid, name, kind, node in self._rows(USER_RELATIONS)}
            for oid, (name, kind, node) in current.items():
                before = self.relations.get(oid)
                if before is not None and before[2] != node:
                    after = self._rows("SELECT pg_relation_size(%s)", [oid])[0][0]
                    rewrites.append(
                        {
                            "relation": name,
                            "kind": "table" if kind in "rpm" else "index",
                            "before_bytes": self.sizes.get(oid),
                            "after_bytes": after,
                            "new_in_plan": oid not in self.at_plan_start,
                        }
                    )
            self.relations = current
        return locks, rewrites


# Literals and placeholders, found with a small lexer (the probe has only the standard
# library: PostgreSQL's own scanner, pglast, is not in the project's interpreter).
# Quoted identifiers and comments are matched only so that what is inside them is kept.
_TOKENS = re.compile(
    r"""
      (?P<keep>"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/)
    | (?P<value>(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'
        | (?<![\w$])(?:[BbXxNn]|[Uu]&)?'(?:[^']|'')*'
        | \$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$
        | (?<![\w$.])(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<placeholder>%(?:\([^)]*\))?s)
    """,
    re.S | re.X,
)
_VALUE = "\x00"
_LIST = re.compile(r"\x00(?:\s*,\s*\x00)+")  # IN (%s, %s, ...) of any length
_ROWS = re.compile(r"\(\x00\)(?:\s*,\s*\(\x00\))+")  # VALUES (...), (...) of any length
_SAVEPOINT = re.compile(r"^\s*((?:RELEASE\s+|ROLLBACK\s+TO\s+)?SAVEPOINT)\s+\S+\s*$", re.I)
_NORMAL_CACHE = 10_000  # raw SQL texts remembered; a loop repeats a handful of them


def normalize(sql):
    """Return the key under which repeats of an executed statement are folded.

    The same for statements that differ only in literal values, in the length of a list
    of values (IN (...), VALUES rows) or in a savepoint's name, as pg_stat_statements
    would count them. A schema change is its own key: its locks and rewrites are read.
    """
    if sql.lstrip()[:9].upper().startswith(DDL):
        return sql
    savepoint = _SAVEPOINT.match(sql)
    if savepoint:
        return savepoint.group(1).upper()
    key = _TOKENS.sub(lambda m: m.group("keep") or _VALUE, sql)
    return _ROWS.sub("(" + _VALUE + ")", _LIST.sub(_VALUE, key))


def without_values(sql):
    """Return `sql` with every literal value replaced by a placeholder."""
    return _TOKENS.sub(lambda m: "%s" if m.group("value") else m.group(0), sql)


class StatementRecorder:
    """An execute_wrapper that keeps every statement's SQL, duration and row count.

    Parameters are never kept (a data migration's values may be personal data); the SQL
    keeps its placeholders and the count of parameter sets. Repeats of a statement in a
    migration (a data migration's loop: SELECT, UPDATE, SELECT, UPDATE ... or the same
    UPDATE with other inlined values) are folded into one entry per operation with a
    count, the total and the longest time, the total rows, the first start and the
    locks seen the first time (see normalize). At most MAX_STATEMENTS distinct entries
    are kept; past that, the migration's statements are counted (distinct, executions,
    time, rows), never dropped silently. A failing statement, and Django's bookkeeping,
    are always kept.
    """

    def __init__(self, capture=None):
        self.capture = capture
        self.normal = {}  # raw SQL -> normalize(raw)
        self.reset()

    def at_operation(self, index, schema_editor=None, deferred=False):
        self.operation = index

    def reset(self):
        self.statements, self.failed, self.operation = [], None, None
        self.entries = {}  # (key, operation) -> entry
        self.varied = set()  # entries folding different texts: they show the SQL without values
        self.omitted = {"distinct": set(), "executions": 0, "ms": 0.0, "rows": 0}
        self.started = time.perf_counter()

    def omitted_summary(self):
        """What was executed but not kept: distinct statements, executions, time, rows."""
        dropped = self.omitted
        return {
            "statements_omitted": len(dropped["distinct"]),
            "omitted_executions": dropped["executions"],
            "omitted_ms": dropped["ms"],
            "omitted_rows": dropped["rows"],
        }

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        error = None
        try:
            return execute(sql, params, many, context)
        except Exception as exc:
            error = redact_rows(f"{type(exc).__name__}: {str(exc).strip()}")
            raise
        finally:
            elapsed = (time.perf_counter() - started) * 1000.0
            cursor = context.get("cursor")
            rows = _safe(lambda: cursor.rowcount, -1) if error is None else None
            offset = (started - self.started) * 1000.0
            sql = str(sql)
            entry = self._add(sql, elapsed, rows, error, many, params, offset)
            if entry is not None and self.capture is not None and error is None:
                locks, rewrites = self.capture.after(sql)
                entry["locks"] += locks
                entry["rewrites"] += rewrites

    def _normalize(self, sql):
        found = self.normal.get(sql)
        if found is None:
            if len(self.normal) >= _NORMAL_CACHE:
                self.normal.clear()
            found = self.normal[sql] = normalize(sql)
        return found

    def _add(self, sql, elapsed, rows, error, many, params, offset=0.0):
        """Fold the statement into its entry; return the entry when its locks are to be read."""
        key = self._normalize(sql)
        entry = self.entries.get((key, self.operation)) if error is None else None
        if entry is not None:
            entry["count"] += 1
            entry["duration_ms"] += elapsed
            entry["max_ms"] = max(entry["max_ms"], elapsed)
            if rows is not None and rows >= 0:
                entry["rows"] = max(entry["rows"] or 0, 0) + rows
            if entry["sql"] != sql and id(entry) not in self.varied:
                entry["sql"] = without_values(sql)  # different values: show none of them
                self.varied.add(id(entry))
            # A repeated query takes the locks it took the first time; a schema change is
            # read again (the same ALTER twice can rewrite twice).
            return entry if sql.lstrip()[:9].upper().startswith(DDL) else None
        internal = any(marker in sql for marker in INTERNAL_MARKERS)  # Django's bookkeeping: a few, kept
        if len(self.statements) >= MAX_STATEMENTS and error is None and not internal:
            dropped = self.omitted
            dropped["distinct"].add(hash((key, self.operation)))
            dropped["executions"] += 1
            dropped["ms"] += elapsed
            dropped["rows"] += max(rows or 0, 0)
            return None
        entry = {
            "sql": sql,
            "started_ms": offset,
            "operation": self.operation,
            "locks": [],
            "rewrites": [],
            "duration_ms": elapsed,  # all executions together
            "max_ms": elapsed,
            "rows": rows,
            "count": 1,
            "params": len(params) if params is not None and not many else (len(params) if many else 0),
            "many": bool(many),
            "internal": internal,
            "error": error,
        }
        if error is not None:
            self.failed = entry
        else:
            self.entries[(key, self.operation)] = entry
        self.statements.append(entry)
        return entry


def failing_operation(exc, migration):
    """Return (index, operation) of the operation that raised, from Migration.apply's frame."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name in ("apply", "unapply") and frame.f_locals.get("self") is migration:
            operation = frame.f_locals.get("operation")
            if operation is not None:
                found = operation
        tb = tb.tb_next
    for index, operation in enumerate(migration.operations):
        if operation is found:
            return index, operation
    return None, None


def _sqlstate(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for attribute in ("sqlstate", "pgcode"):
            value = getattr(exc, attribute, None)
            if isinstance(value, str):
                return value
        diag = getattr(exc, "diag", None)
        if diag is not None and getattr(diag, "sqlstate", None):
            return diag.sqlstate
        exc = exc.__cause__ or exc.__context__
    return None


def _emit_post_migrate(state, alias, plan):
    """Send post_migrate as `manage.py migrate` does, so the copy ends where prod will."""
    from django.apps import apps
    from django.core.management.sql import emit_post_migrate_signal
    from django.db.migrations.state import ModelState

    state.clear_delayed_apps_cache()
    post_migrate_apps = state.apps
    with post_migrate_apps.bulk_update():
        model_keys = []
        for model_state in post_migrate_apps.real_models:
            model_key = model_state.app_label, model_state.name_lower
            model_keys.append(model_key)
            post_migrate_apps.unregister_model(*model_key)
    post_migrate_apps.render_multiple([ModelState.from_model(apps.get_model(*model)) for model in model_keys])
    emit_post_migrate_signal(0, False, alias, apps=post_migrate_apps, plan=plan)


def verb_apply(args, connection):
    from django.core.management.sql import emit_pre_migrate_signal

    executor = load(connection)
    check_graph(executor, connection)
    plan = pending_plan(executor, parse_targets(executor, args.to))
    if any(backwards for _, backwards in plan):
        raise ProbeError("usage", "apply only migrates forwards; a --to target lies behind the database's state")
    state = executor._create_project_state(with_applied_migrations=True)
    emit_pre_migrate_signal(0, False, connection.alias, apps=state.apps, plan=plan)
    if args.lock_timeout is not None:
        with connection.cursor() as cursor:  # the session's setting: every statement below inherits it
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{args.lock_timeout}ms"])
    capture = None if args.no_capture else Capture(connection)
    if capture is not None:
        capture.start_plan()
    recorder = StatementRecorder(capture)
    results = []
    failure = None
    with connection.execute_wrapper(recorder):
        for index, (migration, _) in enumerate(plan):
            label = f"{migration.app_label}.{migration.name}"
            progress("apply", k=index + 1, n=len(plan), migration=label)
            if capture is not None:
                capture.start_migration()
            recorder.reset()
            started = time.perf_counter()
            entry = {"app": migration.app_label, "name": migration.name, "atomic": bool(migration.atomic)}
            try:
                with tracking_operations(migration, recorder.at_operation):
                    state = executor.migrate(
                        [(migration.app_label, migration.name)], plan=[(migration, False)], state=state
                    )
            except Exception as exc:
                failure = dict(_describe_exception(exc), migration=label, sqlstate=_sqlstate(exc))
                index, operation = failing_operation(exc, migration)
                if operation is not None:
                    described = describe_migration(migration)
                    failure["operation"] = described["operations"][index]
                    if failure["user_frame"] is None and described["file"]:
                        failure["user_frame"] = {
                            "file": described["file"],
                            "line": described["operations"][index]["line"],
                            "function": f"operations[{index}]",
                            "code": None,
                        }
                failure["statement"] = recorder.failed["sql"] if recorder.failed else None
                failure["partially_applied"] = (not migration.atomic) and any(
                    s["error"] is None and not s["internal"] for s in recorder.statements
                )
                entry["status"] = "failed"
            else:
                entry["status"] = "applied"
            entry["duration_ms"] = (time.perf_counter() - started) * 1000.0
            entry["statements"] = recorder.statements
            entry.update(recorder.omitted_summary())
            entry["locks"], entry["rewrites"] = summarize(entry, migration.atomic)
            results.append(entry)
            if failure:
                break
        post = None
        if failure is None and plan:
            recorder.reset()
            started = time.perf_counter()
            _emit_post_migrate(state, connection.alias, plan)
            post = {"duration_ms": (time.perf_counter() - started) * 1000.0, "statements": len(recorder.statements)}
    for migration, _ in plan[len(results) :]:
        results.append(
            {
                "app": migration.app_label,
                "name": migration.name,
                "atomic": bool(migration.atomic),
                "status": "not_run",
                "duration_ms": None,
                "statements": [],
                "statements_omitted": 0,
            }
        )
    return {
        "migrations": results,
        "failure": failure,
        "post_migrate": post,
        "lock_timeout_ms": args.lock_timeout,
        "captured": capture is not None,
    }


class tracking_operations:
    """Tell `on_operation` which operation of `migration` is running, deferred SQL included.

    The schema editor keeps some SQL (indexes, foreign keys) in `deferred_sql` and runs it
    in its __exit__, after the last operation; that SQL belongs to the operation that
    queued it, so `on_operation` is called again with that operation's index before each
    deferred statement runs (see DeferredSQL): `on_operation(index, schema_editor, deferred)`.
    """

    def __init__(self, migration, on_operation):
        self.migration, self.on_operation = migration, on_operation
        self.current = None  # index of the operation running (or that ran last)
        self.depth = 0  # > 0 while an operation runs: its reads of deferred_sql are not the final run

    def __enter__(self):
        for index, operation in enumerate(self.migration.operations):
            original = operation.database_forwards

            def forwards(app_label, schema_editor, from_state, to_state, _index=index, _original=original):
                self.current = _index
                self.on_operation(_index, schema_editor, False)
                if not isinstance(schema_editor.deferred_sql, DeferredSQL):
                    schema_editor.deferred_sql = DeferredSQL(schema_editor.deferred_sql, self, schema_editor)
                self.depth += 1
                try:
                    return _original(app_label, schema_editor, from_state, to_state)
                finally:
                    self.depth -= 1

            operation.database_forwards = forwards
        return self

    def __exit__(self, *exc_info):
        for operation in self.migration.operations:
            operation.__dict__.pop("database_forwards", None)
        return False


class DeferredSQL(list):
    """schema_editor.deferred_sql that remembers which operation queued each statement.

    Keyed by identity: Django removes entries (a dropped column's index) and renames
    references inside them (a renamed column) in place, so position is no guide.
    Iterated outside every operation (the schema editor's __exit__ running them), it
    reports each statement's operation before handing the statement out.
    """

    def __init__(self, items, tracker, schema_editor):
        super().__init__(items)
        self.tracker, self.schema_editor = tracker, schema_editor
        self.owner = {id(item): tracker.current for item in items}

    def append(self, item):
        self.owner[id(item)] = self.tracker.current
        super().append(item)

    def extend(self, items):
        items = list(items)
        for item in items:
            self.owner[id(item)] = self.tracker.current
        super().extend(items)

    def insert(self, index, item):
        self.owner[id(item)] = self.tracker.current
        super().insert(index, item)

    def __iadd__(self, items):
        self.extend(items)
        return self

    def __iter__(self):
        if self.tracker.depth:  # an operation looking through the list (renames, removals)
            yield from super().__iter__()
            return
        last = len(self.tracker.migration.operations) - 1
        for item in super().__iter__():
            owner = self.owner.get(id(item))
            self.tracker.on_operation(last if owner is None else owner, self.schema_editor, True)
            yield item


def summarize(entry, atomic):
    """Per migration: each lock with how long it was held, and each rewrite."""
    locks, rewrites = [], []
    for index, statement in enumerate(entry["statements"]):
        for lock in statement.get("locks", ()):
            # In a transaction a lock is held from its statement until the commit.
            held = entry["duration_ms"] - statement["started_ms"] if atomic else statement["duration_ms"]
            locks.append(dict(lock, statement=index, operation=statement["operation"], held_ms=held))
        for rewrite in statement.get("rewrites", ()):
            rewrites.append(dict(rewrite, statement=index, operation=statement["operation"]))
    return locks, rewrites


def _step(executor, targets, events, marker):
    """Migrate to `targets`; on failure say which migration and why."""
    executor.loader.build_graph()
    plan = executor.migration_plan(targets)
    started = time.perf_counter()
    try:
        executor.migrate(targets, plan=plan)
    except Exception as exc:
        current = next((m for action, m in reversed(events) if action == marker and m is not None), None)
        return {
            "status": "irreversible" if type(exc).__name__ == "IrreversibleError" else "failed",
            "migration": f"{current.app_label}.{current.name}" if current else None,
            "error": redact_rows(f"{type(exc).__name__}: {str(exc).strip()}"),
            "sqlstate": _sqlstate(exc),
            "migrations": len(plan),
            "duration_ms": (time.perf_counter() - started) * 1000.0,
        }
    return {"status": "ok", "migrations": len(plan), "duration_ms": (time.perf_counter() - started) * 1000.0}


def verb_roundtrip(args, connection):
    """Migrate back to --to (the state before the plan), then forward again to the leaves.

    Right before each migration goes back, its backwards SQL is collected as `sqlmigrate
    --backwards` would print it then: with the forwards applied and the later migrations
    already taken back, which is where a rollback runs it.
    """
    executor = load(connection)
    events = []
    backwards_sql = []

    def on_event(action, migration=None, fake=False):
        events.append((action, migration))
        if action == "unapply_start" and migration is not None:
            entry = {"app": migration.app_label, "name": migration.name}
            entry.update(collected_sql(executor.loader, migration, True, connection))
            backwards_sql.append(entry)

    executor.progress_callback = on_event
    targets = parse_targets(executor, args.to)
    progress("roundtrip", step="backward")
    backward = _step(executor, targets, events, "unapply_start")
    forward = None
    if backward["status"] == "ok":
        progress("roundtrip", step="forward")
        forward = _step(executor, executor.loader.graph.leaf_nodes(), events, "apply_start")
    return {"backward": backward, "forward": forward, "backwards_sql": backwards_sql}


VERBS = {"plan": verb_plan, "sql": verb_sql, "apply": verb_apply, "roundtrip": verb_roundtrip}


def write_json(path, document):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, default=str)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="probe.py")
    parser.add_argument("verb", choices=sorted(VERBS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--database", default=None)
    parser.add_argument("--to", action="append", default=[], help="app.migration target (repeatable)")
    parser.add_argument("--lock-timeout", type=int, default=None, help="apply: lock_timeout in ms for every statement")
    parser.add_argument("--no-capture", action="store_true", help="apply: do not read locks and rewrites")
    args = parser.parse_args(argv)
    document = {
        "schema": SCHEMA,
        "verb": args.verb,
        "python": platform.python_version(),
        "executable": sys.executable,
        "django": None,
        "ok": False,
    }
    try:
        document["django"], connection = setup_django(args.database)
        document["result"] = VERBS[args.verb](args, connection)
        document["ok"] = True
    except ProbeError as exc:
        document["error"] = exc.as_dict()
    except Exception as exc:  # a bug in the probe or in user code outside a migration
        document["error"] = dict(_describe_exception(exc), kind="internal", message="the probe failed")
    write_json(args.out, document)
    return 0 if document["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
