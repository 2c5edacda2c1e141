"""What to squash, what blocks it, and which replaced files can go: pure, from the probe's history.

Per app, the range a squash can take starts after the app's last squash (Django refuses to
squash a squash) and stops before the first blocker:

- a RunPython or RunSQL not marked `elidable` stops the range before it (squashing keeps
  it, and its code must be copied by hand), and so does an operation naming a swappable
  model whose setting the settings lack (the squash would write `settings.NAME`);
- a range whose squash would close a circle (it depends, through another app, on a
  migration that depends on the range) shrinks until it does not, and the edges are named;
- other apps' migrations that depend on one inside the range are named (file and line of
  the dependency) but do not stop it: Django points them at the squash, which is only a
  problem when it closes a circle (above).

A useful range holds at least MIN_RANGE migrations; an app without one gets the
"migration zero" route and its cost instead. Candidates rank by the from-zero time the
range takes today.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

from preflight.probe.protocol.history import AppHistory, HistoryAnswer, HistoryEntry
from preflight.squash.model import AppSquash, Blocker, Candidate, Deletable, squash_arguments

Key = tuple[str, str]
MIN_RANGE = 2  # squashing one migration saves nothing
CODE_OPERATIONS = ("RunPython", "RunSQL")


def label(key: Key) -> str:
    return f"{key[0]}.{key[1]}"


def analyse(
    history: HistoryAnswer, durations: Mapping[str, float], target: HistoryAnswer | None = None
) -> tuple[tuple[AppSquash, ...], tuple[AppSquash, ...]]:
    """The project's apps with migrations, ranked (the largest from-zero saving first), and installed ones."""
    parents: dict[Key, tuple[Key, ...]] = {entry.key: entry.parents for app in history.apps for entry in app.migrations}
    children: dict[Key, list[Key]] = {}
    for key, its_parents in parents.items():
        for parent in its_parents:
            children.setdefault(parent, []).append(key)
    total = sum(durations.values()) or 0.0
    recorded = _recorded(target) if target is not None else None
    everyone = [entry for app in history.apps for entry in app.migrations]
    by_key = {entry.key: entry for entry in everyone}
    apps = [_app(app, parents, children, by_key, durations, total, recorded, everyone) for app in history.apps]
    ours = tuple(sorted((a for a, h in zip(apps, history.apps, strict=True) if h.in_project), key=_rank))
    installed = tuple(a for a, h in zip(apps, history.apps, strict=True) if not h.in_project)
    return ours, installed


def _rank(app: AppSquash) -> tuple[int, float, int, str]:
    if app.candidate is None:
        return (1, -app.from_zero_ms, -app.migrations, app.app)
    return (0, -app.candidate.from_zero_ms, -app.candidate.migrations, app.app)


def _recorded(target: HistoryAnswer) -> set[Key]:
    return {entry.key for app in target.apps for entry in (*app.migrations, *app.replaced) if entry.applied}


def _app(
    app: AppHistory,
    parents: Mapping[Key, tuple[Key, ...]],
    children: Mapping[Key, list[Key]],
    by_key: Mapping[Key, HistoryEntry],
    durations: Mapping[str, float],
    total: float,
    recorded: set[Key] | None,
    everyone: list[HistoryEntry],
) -> AppSquash:
    entries = list(app.migrations)
    last = max((i for i, entry in enumerate(entries) if entry.migration.replaces), default=None)
    after = 0 if last is None else last + 1
    last_squash = None if last is None else entries[last].migration.name
    sequence = entries[after:]
    blockers = [] if last is None else [_squash_blocker(entries[last])]
    stops: list[tuple[int, Blocker]] = []  # (index in sequence, blocker): the range ends before it
    for index, entry in enumerate(sequence):
        for blocker in _code_blockers(entry):
            stops.append((index, blocker))
    blockers += [blocker for _, blocker in stops]
    end = min([len(sequence), *(index for index, _ in stops)])
    stops_at = next((blocker for index, blocker in stops if index == end), None)
    chosen = sequence[:end]
    for entry in chosen[:-1]:  # a dependency on the range's last migration is one on the squash itself
        blockers += _cross_app(entry, children, by_key, app.app)
    while len(chosen) >= MIN_RANGE:
        cycle = _cycle(chosen, parents, children)
        if cycle is None:
            break
        if stops_at is None or stops_at.kind != "cycle":
            stops_at = cycle
            blockers.append(cycle)
        chosen = chosen[:-1]
    app_ms = sum(durations.get(label(entry.key), 0.0) for entry in entries)
    candidate = None
    reset = None
    if len(chosen) >= MIN_RANGE:
        start = None if after == 0 else chosen[0].migration.name
        candidate = Candidate(
            app=app.app,
            start=start,
            end=chosen[-1].migration.name,
            migrations=len(chosen),
            from_zero_ms=round(sum(durations.get(label(e.key), 0.0) for e in chosen), 3),
            command=_command(app.app, start, chosen[-1].migration.name),
            stops_at=stops_at,
        )
    elif len(entries) >= MIN_RANGE:
        reset = _reset(app.app, len(entries), app_ms)
    replaced_files = tuple(sorted(e.migration.file for e in app.replaced if e.migration.file))
    return AppSquash(
        app=app.app,
        migrations=len(entries),
        since_squash=len(sequence),
        last_squash=last_squash,
        from_zero_ms=round(app_ms, 3),
        share=round(app_ms / total, 4) if total else 0.0,
        blockers=tuple(blockers),
        candidate=candidate,
        reset=reset,
        replaced_files=replaced_files,
        deletable=_deletable(app, entries, recorded, everyone),
    )


def _cross_app(
    entry: HistoryEntry, children: Mapping[Key, list[Key]], by_key: Mapping[Key, HistoryEntry], app: str
) -> list[Blocker]:
    """Other apps' migrations that depend on `entry` inside the range, each where it says so.

    After a squash Django points them at the squash (they then wait for the whole range);
    that limits the range only when it closes a circle, which `_cycle` finds.
    """
    found = []
    for child in sorted(c for c in children.get(entry.key, []) if c[0] != app):
        dependent = by_key.get(child)
        if dependent is None:
            continue
        found.append(
            Blocker(
                "cross_app",
                label(child),
                dependent.migration.file,
                dependent.dependency_lines.get(label(entry.key)),
                f"depends on {label(entry.key)}, inside the range: after the squash it depends on the whole "
                "squash, and its dependency must name the squash once the replaced files are deleted.",
                ((label(child), label(entry.key)),),
                limits=False,
            )
        )
    return found


def _code_blockers(entry: HistoryEntry) -> Iterable[Blocker]:
    names = sorted({undefined.setting for undefined in entry.undefined_settings})
    if names:
        listed = ", ".join(f"settings.{name}" for name in names)
        yield Blocker(
            "undefined_setting",
            label(entry.key),
            entry.migration.file,
            entry.undefined_settings[0].line,
            f"a squash writes {listed} here (swappable models), which the settings do not define, so the "
            "squashed migration would not import: define them in the settings first (each the model's "
            "app_label.ModelName).",
        )
    for operation in entry.migration.operations:
        if operation.type in CODE_OPERATIONS and not operation.elidable:
            yield Blocker(
                "not_elidable",
                label(entry.key),
                entry.migration.file,
                operation.line,
                f"{operation.type} not marked elidable: a squash keeps it, and its code must be copied by hand "
                f"(mark it elidable=True if it only mattered once).",
            )


def _squash_blocker(entry: HistoryEntry) -> Blocker:
    count = len(entry.migration.replaces)
    return Blocker(
        "squashed",
        label(entry.key),
        entry.migration.file,
        None,
        f"a squash of {count} migration{'s' if count != 1 else ''}: Django will not squash it again, so the "
        "range starts after it (to include it, delete the files it replaces and its replaces list first).",
    )


def _cycle(
    chosen: list[HistoryEntry], parents: Mapping[Key, tuple[Key, ...]], children: Mapping[Key, list[Key]]
) -> Blocker | None:
    """The blocker when squashing `chosen` into one migration would close a circle of dependencies."""
    inside = {entry.key for entry in chosen}
    below = _reach((p for key in inside for p in parents.get(key, ()) if p not in inside), parents, inside)
    above = _reach((c for key in inside for c in children.get(key, ()) if c not in inside), children, inside)
    circle = below & above
    if not circle:
        return None
    edges = sorted(
        {(label(key), label(parent)) for key in inside for parent in parents.get(key, ()) if parent in circle}
        | {(label(key), label(parent)) for key in circle for parent in parents.get(key, ()) if parent in inside}
    )
    # Where the circle is closed: the first migration of the range that depends on one of it.
    closing = next(e for e in chosen if any(parent in circle for parent in parents.get(e.key, ())))
    named = next(parent for parent in parents.get(closing.key, ()) if parent in circle)
    return Blocker(
        "cycle",
        label(closing.key),
        closing.migration.file,
        closing.dependency_lines.get(label(named)),
        f"a squash up to {label(chosen[-1].key)} would depend on "
        f"{', '.join(label(k) for k in sorted(circle))}, which depend{'s' if len(circle) == 1 else ''} on the "
        "range itself: a circle Django refuses to load.",
        tuple(edges),
    )


def _reach(start: Iterable[Key], step: Mapping[Key, Iterable[Key]], stop: set[Key]) -> set[Key]:
    seen: set[Key] = set()
    todo = [key for key in start if key not in stop]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        todo.extend(k for k in step.get(key, ()) if k not in stop and k not in seen)
    return seen


def _command(app: str, start: str | None, end: str) -> str:
    """The command to run, each name quoted for the shell where it needs to be (names come from files)."""
    names = squash_arguments(app, start, end)
    return " ".join(["python manage.py squashmigrations", *(shlex.quote(name) for name in names)])


def _reset(app: str, count: int, ms: float) -> str:
    return (
        f"no range of {MIN_RANGE} or more migrations without a blocker. The other way is a "
        f"'migration zero' reset: delete {app}'s {count} migrations, run makemigrations {app}, and on "
        f"every database record the new initial migration without running it (migrate --fake {app} "
        f"zero, then migrate --fake-initial {app}); data migrations are dropped and other apps' "
        f"dependencies on {app} must be edited. Today {app} takes {ms:.0f} ms from zero."
    )


def _deletable(
    app: AppHistory, entries: list[HistoryEntry], recorded: set[Key] | None, everyone: list[HistoryEntry]
) -> tuple[Deletable, ...]:
    if recorded is None or not app.replaced:
        return ()
    on_disk = {entry.key: entry for entry in app.replaced}
    found = []
    for entry in entries:
        replaces = [tuple(key) for key in entry.migration.replaces]
        files = [on_disk[key].migration.file for key in replaces if key in on_disk]  # type: ignore[index]
        if not files:
            continue
        if not (entry.key in recorded or all(key in recorded for key in replaces)):
            continue
        gone = set(replaces)
        dependents = sorted(
            label(other.key)
            for other in everyone
            if other.key not in gone and any(tuple(d) in gone for d in other.migration.dependencies)
        )
        steps = [
            f"delete the {len(files)} file{'s' if len(files) != 1 else ''} {label(entry.key)} replaces",
            *(
                [f"in {', '.join(dependents)}, depend on {label(entry.key)} instead of the deleted ones"]
                if dependents
                else []
            ),
            f"remove the replaces list from {label(entry.key)}: it is a normal migration from now on",
        ]
        found.append(Deletable(label(entry.key), tuple(f for f in files if f), tuple(dependents), tuple(steps)))
    return tuple(found)
