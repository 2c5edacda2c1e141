"""Every migration on disk, per app, in the order Django applies them: what the squash report reads.

`migrations` is what `migrate` and `squashmigrations` see on this database: a squash
stands in for the migrations it replaces unless the database applied only some of them.
`replaced` lists the files a squash on disk replaces (their cleanup is due once every
database applied them). Each is described as the plan describes a pending migration
(operations with their lines, elidable, replaces, dependencies), with whether this
database recorded it applied (its own row in django_migrations, not inferred).
"""

from __future__ import annotations

from typing import Any

from _preflight_probe.errors import Detail, in_project
from _preflight_probe.graph import Key, describe_migration, load, source_path


def forwards_order(graph: Any) -> list[Key]:
    """Return every node once, dependencies first, the leaves taken in name order."""
    seen: set[Key] = set()
    order: list[Key] = []
    for leaf in sorted(graph.leaf_nodes()):
        for key in graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                order.append(key)
    return order


def _describe(migration: Any, recorded: set[Key]) -> Detail:
    """describe_migration, with whether it is recorded, the line naming each dependency, and
    the swappable-model settings its operations name that the settings do not define."""
    entry = dict(describe_migration(migration), applied=(migration.app_label, migration.name) in recorded)
    entry["dependency_lines"] = _dependency_lines(migration, source_path(migration))
    entry["undefined_settings"] = _undefined_settings(migration, [op["line"] for op in entry["operations"]])
    return entry


def _dependency_lines(migration: Any, path: str | None) -> dict[str, int | None]:
    """ "app.name" -> the first line of the file naming each dependency's migration (one read)."""
    try:
        with open(path or "", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, ValueError):
        lines = []
    return {
        "{}.{}".format(*key): next((number for number, line in enumerate(lines, 1) if key[1] in line), None)
        for key in migration.dependencies
    }


def _undefined_settings(migration: Any, lines: list[int | None]) -> list[Detail]:
    """Settings of swappable models that a relation in the migration points to, not in the settings.

    A squash writes such a reference as `settings.NAME` (the migration writer's
    SettingsReference), where the original may have named it otherwise (a package's own
    defaults): the squashed migration then fails to import unless the settings define NAME.
    `lines`: each operation's first line, as describe_migration read them.
    """
    from django.conf import settings

    found = []
    for operation, line in zip(migration.operations, lines):
        fields = [field for _, field in getattr(operation, "fields", None) or []]
        if getattr(operation, "field", None) is not None:
            fields.append(operation.field)
        names = {getattr(field, "swappable_setting", None) for field in fields}
        for name in sorted(n for n in names if n and not hasattr(settings, n)):
            found.append({"setting": name, "line": line})
    return found


def verb_history(request: Detail, connection: Any, progress: Any) -> Detail:
    """Every app's migrations in order, the files squashes replace, conflicts, what is recorded."""
    executor = load(connection)  # a broken graph fails here, named as the plan names it
    loader = executor.loader
    recorded = set(executor.recorder.applied_migrations()) if executor.recorder.has_table() else set()
    apps: dict[str, Detail] = {}
    for key in forwards_order(loader.graph):
        migration = loader.graph.nodes[key]
        entry = _describe(migration, recorded)
        entry["parents"] = sorted(list(parent.key) for parent in loader.graph.node_map[key].parents)
        source = source_path(migration)
        app = apps.setdefault(key[0], {"app": key[0], "in_project": False, "migrations": [], "replaced": []})
        app["migrations"].append(entry)
        app["in_project"] = app["in_project"] or bool(source and in_project(source))
    replaced = {tuple(key) for migration in loader.disk_migrations.values() for key in migration.replaces}
    for key in sorted(replaced):
        migration = loader.disk_migrations.get(key)
        if migration is not None and key[0] in apps:
            apps[key[0]]["replaced"].append(_describe(migration, recorded))
    return {
        "apps": [apps[app] for app in sorted(apps)],
        "conflicts": {app: sorted(names) for app, names in sorted(loader.detect_conflicts().items())},
        "unmigrated_apps": sorted(loader.unmigrated_apps),
        "has_migrations_table": bool(executor.recorder.has_table()),
    }
