"""Setting Django up, loading the migration graph, the plan, and errors about the graph."""

from __future__ import annotations

import ast
import os
import re
import sys
import traceback
from typing import Any, List, Tuple

from _preflight_probe.errors import Detail, ProbeError, describe_exception, display_path, in_project, relative, safe
from _preflight_probe.missing import missing_migrations

Key = Tuple[str, str]
Plan = List[Tuple[Any, bool]]  # (Migration, backwards) as MigrationExecutor.migration_plan returns


def setup_django() -> str:
    """Import the settings and run django.setup(); return Django's version (no connection yet)."""
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
            "settings_import", f"settings module {module!r} does not import", **describe_exception(exc)
        ) from exc
    try:
        django.setup()
    except Exception as exc:
        raise ProbeError("setup", f"django.setup() failed for settings {module!r}", **describe_exception(exc)) from exc
    return str(django.get_version())


def connect(alias: str | None) -> Any:
    """Return the connection of `alias` (default: "default"), connected, if it is PostgreSQL."""
    from django.db import DEFAULT_DB_ALIAS, connections

    alias = alias or DEFAULT_DB_ALIAS
    try:
        connection = connections[alias]
    except Exception as exc:
        raise ProbeError("database", f"no database alias {alias!r} in DATABASES", **describe_exception(exc)) from exc
    if connection.vendor != "postgresql":
        raise ProbeError("database", f"database alias {alias!r} uses {connection.vendor}, not PostgreSQL")
    try:
        connection.ensure_connection()
    except Exception as exc:
        raise ProbeError("database", "cannot connect to the scratch database", **describe_exception(exc)) from exc
    return connection


# -- reading migrations ---------------------------------------------------------------


def operation_lines(path: str) -> tuple[list[tuple[int, int]], int | None]:
    """Return (first, last) lines of each element of `operations = [...]` in a migration file."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError):
        return [], None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                targets: list[ast.expr] = []
                if isinstance(statement, ast.Assign):
                    targets = statement.targets
                elif isinstance(statement, ast.AnnAssign):
                    targets = [statement.target]
                if any(isinstance(t, ast.Name) and t.id == "operations" for t in targets):
                    value = getattr(statement, "value", None)
                    if isinstance(value, (ast.List, ast.Tuple)):
                        spans = [
                            (element.lineno, getattr(element, "end_lineno", None) or element.lineno)
                            for element in value.elts
                        ]
                        return spans, statement.lineno
                    return [], statement.lineno
    return [], None


def source_path(migration: Any) -> str | None:
    """Return the absolute path of the file the migration was imported from (None if it has none)."""
    return getattr(sys.modules.get(type(migration).__module__), "__file__", None)


def migration_file(migration: Any) -> str | None:
    """Return the migration's file for the report: see display_path (None if it has none)."""
    path = source_path(migration)
    if not path:
        return None
    # A module's name is its path below the sys.path entry it was imported from.
    return display_path(path) or type(migration).__module__.replace(".", "/") + ".py"


def describe_migration(migration: Any) -> Detail:
    """Return what the plan says of one migration: file, flags, operations and their lines."""
    path = source_path(migration)
    lines, assign_line = operation_lines(path) if path else ([], None)
    spans: list[tuple[int | None, int | None]] = list(lines)
    if len(spans) != len(migration.operations):
        spans = [(assign_line, assign_line)] * len(migration.operations)  # built dynamically: the list
    operations = []
    for index, operation in enumerate(migration.operations):
        operations.append(
            {
                "index": index,
                "type": type(operation).__name__,
                "module": type(operation).__module__,
                "describe": safe(operation.describe, type(operation).__name__),
                "line": spans[index][0],
                "end_line": spans[index][1],
                "reversible": _reversible(operation),
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


def _reversible(operation: Any) -> bool:
    try:
        return bool(operation.reversible)
    except Exception:
        return False


def load(connection: Any) -> Any:
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
            raise ProbeError("graph", "the migration graph does not load", **describe_exception(exc)) from exc
        raise
    return executor


def _migration_module_file(app_label: str, name: str) -> str | None:
    """Return the file of an already imported migration module, or None."""
    from django.db.migrations.loader import MigrationLoader

    module_name = safe(lambda: MigrationLoader.migrations_module(app_label)[0])
    module = sys.modules.get(f"{module_name}.{name}") if module_name else None
    path = getattr(module, "__file__", None)
    return relative(path) if path else None


def _line_naming(path: str, text: str) -> int | None:
    """Return the first line of `path` that contains `text` (where a dependency is declared)."""
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if text in line:
                    return number
    except (OSError, ValueError):
        pass
    return None


def _missing_dependency(exc: Exception) -> ProbeError:
    """A migration depends on one that does not exist (or on an app that is not installed)."""
    from django.apps import apps

    origin = getattr(exc, "origin", None)
    node = getattr(exc, "node", None)
    if origin is None or not isinstance(node, tuple) or len(node) != 2:
        # Django's own wording is the clearest here (e.g. a squash that could not replace).
        return ProbeError("graph", "the migration graph does not load", **describe_exception(exc))
    label = "{}.{}".format(getattr(origin, "app_label", "?"), getattr(origin, "name", origin))
    path = _migration_module_file(getattr(origin, "app_label", ""), getattr(origin, "name", ""))
    line = _line_naming(path, node[1]) if path else None
    installed = safe(lambda: apps.get_app_config(node[0]) is not None, False)
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


def _cycle(exc: Exception) -> ProbeError:
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


def _broken_file(exc: Exception) -> ProbeError | None:
    """A project file (a migration) that raised while Django imported it: which one, which line."""
    if isinstance(exc, SyntaxError) and exc.filename and os.path.isfile(exc.filename):
        path, line = relative(exc.filename), exc.lineno
        error = f"SyntaxError: {exc.msg}"
    else:
        inside = [entry for entry in traceback.extract_tb(exc.__traceback__) if in_project(entry.filename)]
        if not inside:
            return None
        path, line = relative(inside[0].filename), inside[0].lineno  # the outermost: the file Django imported
        error = f"{type(exc).__name__}: {str(exc).strip()}".rstrip(": ")
    if path.startswith(os.sep):
        return None  # outside the project: not a migration file of its own
    what = "migration file" if "migrations" in path.split(os.sep)[:-1] else "file"
    detail = describe_exception(exc)
    detail.update(error=error, file=path, line=line)
    return ProbeError("migration_import", f"{what} {path} does not import", **detail)


def check_graph(executor: Any, connection: Any) -> None:
    """Refuse conflicting leaves and a history the graph cannot explain."""
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
            "history", "inconsistent migration history on the database", **describe_exception(exc)
        ) from exc


def parse_targets(executor: Any, names: list[str] | None) -> list[tuple[str, str | None]]:
    """Return the executor's targets for ["app.migration", "app.zero", "app.__latest__"] (all leaves if none)."""
    graph = executor.loader.graph
    if not names:
        return list(graph.leaf_nodes())
    targets: list[tuple[str, str | None]] = []
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


def pending_plan(executor: Any, targets: list[tuple[str, str | None]]) -> Plan:
    return [(migration, backwards) for migration, backwards in executor.migration_plan(targets)]


def rollback_targets(executor: Any, plan: Plan) -> dict[str, str]:
    """Return, per app in the plan, the migration to go back to (or 'zero')."""
    graph, applied = executor.loader.graph, executor.loader.applied_migrations
    result: dict[str, str] = {}
    for migration, _ in plan:
        app = migration.app_label
        if app in result:
            continue
        parents = [p for p in graph.node_map[(app, migration.name)].parents if p.key[0] == app]
        applied_parents = sorted(p.key[1] for p in parents if p.key in applied)
        result[app] = applied_parents[-1] if applied_parents else "zero"
    return result


def verb_plan(request: Detail, connection: Any) -> Detail:
    """The graph, what is applied, the pending plan described, and the graph's health."""
    executor = load(connection)
    loader, graph = executor.loader, executor.loader.graph
    leaves: dict[str, list[str]] = {}
    for app, name in graph.leaf_nodes():
        leaves.setdefault(app, []).append(name)
    conflicts = {app: sorted(names) for app, names in leaves.items() if len(names) > 1}
    plan = [] if conflicts else pending_plan(executor, parse_targets(executor, request.get("to")))
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


def graph_health(loader: Any) -> Detail:
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


def _lock_timeout_option(connection: Any) -> str | None:
    """lock_timeout set through DATABASES OPTIONS (e.g. {"options": "-c lock_timeout=5s"}), if any."""
    options = str((connection.settings_dict.get("OPTIONS") or {}).get("options") or "")
    match = re.search(r"lock_timeout\s*=\s*([^\s]+)", options)
    return match.group(1).strip("'\"") if match else None
