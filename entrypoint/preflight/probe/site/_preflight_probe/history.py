"""Every migration on disk, per app, in the order Django applies them: what the squash report reads.

The loader is built without swapping squashed migrations in (as `squashmigrations` and
`showmigrations` see the files), so a squash and the migrations it replaces are both
listed, each with what its file declares (describe_migration: operations with their lines,
elidable, replaces, dependencies) and whether the connected database recorded it applied.
"""

from __future__ import annotations

from typing import Any

from _preflight_probe.errors import Detail
from _preflight_probe.graph import Key, describe_migration, load


def forwards_order(graph: Any) -> list[Key]:
    """Return every node once, dependencies first, each app's leaves taken in name order."""
    seen: set[Key] = set()
    order: list[Key] = []
    for leaf in sorted(graph.leaf_nodes()):
        for key in graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                order.append(key)
    return order


def verb_history(request: Detail, connection: Any, progress: Any) -> Detail:
    """Every app's migrations in order, the conflicts, and what the database recorded."""
    from django.db.migrations.loader import MigrationLoader

    executor = load(connection)  # a broken graph fails here, named as the plan names it
    loader = MigrationLoader(connection, replace_migrations=False)
    applied = set(loader.applied_migrations)
    apps: dict[str, list[Detail]] = {}
    for key in forwards_order(loader.graph):
        migration = loader.disk_migrations.get(key)
        if migration is None:
            continue
        apps.setdefault(key[0], []).append(dict(describe_migration(migration), applied=key in applied))
    return {
        "apps": [{"app": app, "migrations": migrations} for app, migrations in sorted(apps.items())],
        "conflicts": {app: sorted(names) for app, names in sorted(loader.detect_conflicts().items())},
        "unmigrated_apps": sorted(loader.unmigrated_apps),
        "has_migrations_table": bool(executor.recorder.has_table()),
    }
