"""Apply the pending migrations to the copy with every statement recorded; the round trip.

Both walk the plan once, as `manage.py migrate` does: one project state carried from
migration to migration (MigrationExecutor.apply_migration), pre_migrate and post_migrate
sent once, the squash bookkeeping (check_replacements) done once at the end.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from _preflight_probe.capture import Capture, StatementRecorder, summarize
from _preflight_probe.errors import Detail, ProbeError, describe_exception, redact_rows, sqlstate
from _preflight_probe.graph import Plan, check_graph, describe_migration, load, parse_targets, pending_plan
from _preflight_probe.sql import States, Steps, collected_backwards
from _preflight_probe.tracking import tracking_operations

Progress = Callable[..., None]


def failing_operation(exc: BaseException, migration: Any) -> tuple[int | None, Any]:
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


def _emit_post_migrate(state: Any, alias: str, plan: Plan) -> None:
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


def _failure(exc: BaseException, migration: Any, recorder: StatementRecorder) -> Detail:
    """Describe a migration that failed: where, which operation, which statement, what stayed."""
    label = f"{migration.app_label}.{migration.name}"
    failure = dict(describe_exception(exc), migration=label, sqlstate=sqlstate(exc))
    index, operation = failing_operation(exc, migration)
    if operation is not None and index is not None:
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
    return failure


def not_run(migration: Any) -> Detail:
    """The entry of a migration of the plan that did not run: a failure came first."""
    return {
        "app": migration.app_label,
        "name": migration.name,
        "atomic": bool(migration.atomic),
        "status": "not_run",
        "duration_ms": None,
        "statements": [],
        "statements_omitted": 0,
    }


def verb_apply(request: Detail, connection: Any, progress: Progress) -> Detail:
    """Apply the plan (or up to `to`) one migration at a time; stop at the first failure."""
    from django.core.management.sql import emit_pre_migrate_signal

    executor = load(connection)
    check_graph(executor, connection)
    plan = pending_plan(executor, parse_targets(executor, request.get("to")))
    if any(backwards for _, backwards in plan):
        raise ProbeError("usage", "apply only migrates forwards; a --to target lies behind the database's state")
    lock_timeout = request.get("lock_timeout")
    state = executor._create_project_state(with_applied_migrations=True)
    emit_pre_migrate_signal(0, False, connection.alias, apps=state.apps, plan=plan)
    if lock_timeout is not None:
        with connection.cursor() as cursor:  # the session's setting: every statement below inherits it
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{int(lock_timeout)}ms"])
    capture = Capture(connection) if request.get("capture", True) else None
    if capture is not None:
        capture.start_plan()
    recorder = StatementRecorder(capture)
    results: list[Detail] = []
    failure = None
    post = None
    with connection.execute_wrapper(recorder):
        for index, (migration, _) in enumerate(plan):
            progress("apply", k=index + 1, n=len(plan), migration=f"{migration.app_label}.{migration.name}")
            if capture is not None:
                capture.start_migration()
            recorder.reset()
            started = time.perf_counter()
            entry: Detail = {"app": migration.app_label, "name": migration.name, "atomic": bool(migration.atomic)}
            try:
                # What executor.migrate() does for one migration, without recomputing the
                # full plan each time: the state carried on, as _migrate_all_forwards does.
                executor.recorder.ensure_schema()
                if "apps" not in state.__dict__:
                    state.apps  # noqa: B018 - render once; each migration then reloads what it changes
                with tracking_operations(migration, recorder.at_operation):
                    state = executor.apply_migration(state, migration)
            except Exception as exc:
                failure = _failure(exc, migration, recorder)
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
        recorder.reset()
        if plan:
            executor.check_replacements()  # a squash whose migrations all ran is recorded applied
        if failure is None and plan:
            recorder.reset()
            started = time.perf_counter()
            _emit_post_migrate(state, connection.alias, plan)
            post = {"duration_ms": (time.perf_counter() - started) * 1000.0, "statements": len(recorder.statements)}
    results += [not_run(migration) for migration, _ in plan[len(results) :]]
    return {
        "migrations": results,
        "failure": failure,
        "post_migrate": post,
        "lock_timeout_ms": lock_timeout,
        "captured": capture is not None,
    }


def _step(executor: Any, targets: list[Any], events: list[tuple[str, Any]], marker: str) -> Detail:
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
            "sqlstate": sqlstate(exc),
            "migrations": len(plan),
            "duration_ms": (time.perf_counter() - started) * 1000.0,
        }
    return {"status": "ok", "migrations": len(plan), "duration_ms": (time.perf_counter() - started) * 1000.0}


def _states_before(executor: Any, plan: Plan) -> tuple[dict[Any, Any], dict[Any, Steps]]:
    """The project state before each migration of a backwards plan, in one forwards walk.

    Keyed by (app, name): the round trip reloads the graph, which makes new Migration
    objects. Also, for a migration of one operation whose state after is the state before
    the next one walked, its Steps: its backwards SQL then needs no state computed again.
    """
    graph = executor.loader.graph
    states = States(executor.loader)
    before: dict[Any, Any] = {}
    steps: dict[Any, Steps] = {}
    for migration, _ in reversed(plan):
        key = (migration.app_label, migration.name)
        if key not in graph.nodes:
            continue
        before[key] = states.before(key).clone()
        previous = states.came_from
        if previous in before:
            found = Steps.between(graph.nodes[previous], before[previous], before[key])
            if found is not None:
                steps[previous] = found
        states.advance(key)
    return before, steps


def verb_roundtrip(request: Detail, connection: Any, progress: Progress) -> Detail:
    """Migrate back to `to` (the state before the plan), then forward again to the leaves.

    Right before each migration goes back, its backwards SQL is collected as `sqlmigrate
    --backwards` would print it then: with the forwards applied and the later migrations
    already taken back, which is where a rollback runs it.
    """
    executor = load(connection)
    events: list[tuple[str, Any]] = []
    backwards_sql: list[Detail] = []
    targets = parse_targets(executor, request.get("to"))
    before, steps = _states_before(executor, executor.migration_plan(targets))

    def on_event(action: str, migration: Any = None, fake: bool = False) -> None:
        events.append((action, migration))
        if action == "unapply_start" and migration is not None:
            entry = {"app": migration.app_label, "name": migration.name}
            state = before.get((migration.app_label, migration.name))
            if state is None:  # not in the plan read before (cannot happen): build it as sqlmigrate does
                state = executor.loader.project_state((migration.app_label, migration.name), at_end=False)
            entry.update(
                collected_backwards(migration, state, connection, steps.get((migration.app_label, migration.name)))
            )
            backwards_sql.append(entry)

    executor.progress_callback = on_event
    progress("roundtrip", step="backward")
    backward = _step(executor, targets, events, "unapply_start")
    forward = None
    if backward["status"] == "ok":
        progress("roundtrip", step="forward")
        forward = _step(executor, executor.loader.graph.leaf_nodes(), events, "apply_start")
    return {"backward": backward, "forward": forward, "backwards_sql": backwards_sql}
