"""A report that never contradicts itself: rollback vs round trip, failed tests, the wrong target, paths.

Real runs on real PostgreSQL and Django: the rollback commands the report offers are run
with `manage.py migrate` on a migrated copy; the tests and gate runs are the real CLI.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE, PROJECTS, copy_project, pg_dump, run_cli
from preflight.postgres.base import Server
from preflight.preview import PreviewOptions, preview
from preflight.probe import runner
from preflight.progress import QuietProgress
from preflight.project import Project
from preflight.report import render
from preflight.target import restore

# Irreversible (RunPython without reverse_code), and it depends on orders.0010: migrating
# orders back past 0010 would have to unapply it first, so no command may go there.
AFTER_BACKFILL = """from django.db import migrations


def note(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_alter_customer_phone"), ("orders", "0010_backfill_line_totals")]
    operations = [migrations.RunPython(note)]
"""
RESTORE = (
    'pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error -d "$DATABASE_URL" backup.dump'
)


@pytest.fixture
def shop(tmp_path: Path) -> Project:
    return Project(root=copy_project(EXAMPLE, tmp_path), settings="shop.settings", python=sys.executable)


def _manage(project: Project, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [project.python, "manage.py", *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        env=runner.probe_env(project, url),
        timeout=300,
    )


def test_rollback_stops_where_the_round_trip_stops(shop: Project, demo_dump: Path, pg: Server) -> None:
    (shop.root / "customers/migrations/0010_after_backfill.py").write_text(AFTER_BACKFILL)
    report = preview(PreviewOptions(project=shop, target_dump=demo_dump, postgres="local"), QuietProgress())
    assert report.round_trip is not None and report.round_trip.backward.status == "irreversible"
    stopped = report.round_trip.backward.migration
    assert {i.migration: i.measured for i in report.irreversible} == {
        "catalog.0012_normalize_skus": stopped == "catalog.0012_normalize_skus",
        "customers.0010_after_backfill": stopped == "customers.0010_after_backfill",
    }
    # catalog and customers cannot go back at all; orders only down to what customers.0010 needs.
    assert [r.command for r in report.rollback] == ["python manage.py migrate orders 0010_backfill_line_totals"]
    assert report.restore_command == RESTORE
    markdown = render.to_markdown(report)
    rollback = markdown.split("### Rollback", 1)[1]
    assert "- ⛔ `catalog.0012_normalize_skus` cannot be migrated back" in rollback
    assert "- ⛔ `customers.0010_after_backfill` cannot be migrated back" in rollback
    assert "restore the backup you took before deploying" in rollback and f"```sh\n{RESTORE}\n```" in rollback
    assert "migrate catalog" not in rollback and "migrate customers" not in rollback
    assert "migrate orders 0008_alter_order_status" not in rollback

    # The offered command really works on a migrated copy; the one the report used to offer does not.
    database, _ = restore(pg, demo_dump, None, 2)
    url = pg.info.url(database)
    try:
        assert runner.run(shop, "apply", url)["failure"] is None
        for command in report.rollback:
            done = _manage(shop, url, *command.command.split()[2:])
            assert done.returncode == 0, done.stderr
        naive = _manage(shop, url, "migrate", "orders", "0008_alter_order_status")
        assert naive.returncode != 0 and "IrreversibleError" in naive.stderr
    finally:
        pg.drop_database(database)


def test_rollback_without_round_trip_uses_the_backwards_sql(shop: Project, demo_dump: Path) -> None:
    report = preview(
        PreviewOptions(project=shop, target_dump=demo_dump, postgres="local", round_trip=False), QuietProgress()
    )
    (entry,) = report.irreversible
    assert entry.migration == "catalog.0012_normalize_skus" and not entry.measured
    assert "IrreversibleError" in entry.reason
    assert [r.command for r in report.rollback] == [
        "python manage.py migrate orders 0008_alter_order_status",
        "python manage.py migrate customers 0006_normalize_emails",
    ]


def _tags(tmp_path: Path) -> Path:
    return copy_project(PROJECTS / "nonidempotent", tmp_path)


def _cli(command: str, project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(command, "--project", str(project), "--postgres", "local", "--quiet", "--no-round-trip", *extra)


def _error_line(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if line.startswith("preflight: error:")]
    return line


@pytest.mark.parametrize("command", ["gate", "preview"])
def test_failing_test_command_fails_the_run(command: str, tmp_path: Path) -> None:
    done = _cli(command, _tags(tmp_path), "--test-command", "echo found-nothing && echo x | grep -q y")
    assert done.returncode == 7, done.stderr
    assert _error_line(done.stderr) == (
        "preflight: error: the post-migration tests failed: 'echo found-nothing && echo x | grep -q y' exited "
        "with 1 against the migrated copy. Fix the tests or the migrations; the report shows the last lines of "
        "its output"
    )
    header = done.stdout.splitlines()[1]
    assert header.startswith("## ❌ Preflight: 2 pending migrations")
    assert header.endswith(" · post-migration tests failed (exit 1)")
    assert "❌ `echo found-nothing && echo x | grep -q y` failed (exit 1)" in done.stdout
    assert "found-nothing" in done.stdout


def test_piped_test_command_runs_through_the_shell_with_the_copy(tmp_path: Path) -> None:
    check = 'MARK=piped; python manage.py check | grep -q "no issues" && echo "$MARK:${DATABASE_URL%%://*}"'
    done = _cli("gate", _tags(tmp_path), "--test-command", check, "--format", "json")
    assert done.returncode == 0, done.stderr
    tests = json.loads(done.stdout)["tests"]
    assert tests["exit_code"] == 0 and tests["tail"] == "piped:postgresql"


def test_test_command_stops_what_it_left_running(tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    project = _tags(tmp_path)
    done = _cli("preview", project, "--test-command", f"(sleep 2; touch {marker}) & echo started", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tests"]["tail"] == "started"
    subprocess.run(["sleep", "3"], check=True)
    assert not marker.exists()  # the background job was killed with the command's process group


@pytest.fixture
def foreign_dump(pg: Server, tmp_path: Path) -> Path:
    """A plain pg_dump of a database that is not a Django project's: one table, no django_migrations."""
    database = pg.create_database("foreign")
    with pg.connect(database) as conn:
        conn.execute("CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric NOT NULL)")
        conn.execute("INSERT INTO invoices SELECT g, g * 1.5 FROM generate_series(1, 100) g")
    dump = pg_dump(pg, database, tmp_path / "billing.dump")
    pg.drop_database(database)
    return dump


def test_target_without_django_migrations(foreign_dump: Path, tmp_path: Path) -> None:
    project = _tags(tmp_path)
    gate = _cli("gate", project, "--target-dump", str(foreign_dump))
    assert gate.returncode == 5, gate.stderr
    assert _error_line(gate.stderr) == (
        "preflight: error: the target dump billing.dump has no django_migrations table: probably not this "
        "project's database. Check --target-url/--target-dump, or pass --allow-empty-target if it is meant to "
        "be empty"
    )
    assert gate.stdout == ""
    warning = "⚠️ **The target has no `django_migrations` table**: it is probably not this project's database"
    for command, extra in (("preview", ()), ("gate", ("--allow-empty-target",))):
        done = _cli(command, project, "--target-dump", str(foreign_dump), *extra)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[1].startswith("## ⚠️ Preflight: 2 pending migrations")
        assert warning in done.stdout


def test_a_dump_with_django_migrations_is_not_warned_about(pg: Server, tmp_path: Path) -> None:
    project = Project(root=_tags(tmp_path), settings="proj.settings", python=sys.executable)
    database = pg.create_database("tags")
    assert runner.run(project, "apply", pg.info.url(database), to=["tags.0001_initial"])["failure"] is None
    dump = pg_dump(pg, database, tmp_path / "tags.dump")
    pg.drop_database(database)
    done = _cli("gate", project.root, "--target-dump", str(dump), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["target"]["has_migrations_table"] is True


def test_installed_package_migrations_are_shown_relative_to_the_package(shop: Project) -> None:
    report = preview(PreviewOptions(project=shop, postgres="local", round_trip=False), QuietProgress())
    files = {m.label: m.file for m in report.migrations}
    auth = "django/contrib/auth/migrations/0011_update_proxy_permissions.py"
    assert files["auth.0011_update_proxy_permissions"] == auth
    assert files["contenttypes.0001_initial"] == "django/contrib/contenttypes/migrations/0001_initial.py"
    assert files["orders.0001_initial"] == "orders/migrations/0001_initial.py"
    assert all(f and not f.startswith(("/", "..")) for f in files.values()), files
    markdown = render.to_markdown(report)
    assert f"File: `{auth}`" in markdown
    assert "site-packages" not in markdown and str(Path(sys.prefix)) not in markdown


def test_display_path_of_a_virtualenv_inside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.probe.session import child_module

    probe = child_module("errors")
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    (site / "django" / "contrib" / "auth" / "migrations").mkdir(parents=True)
    (tmp_path / "shop" / "migrations").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(site)])
    assert probe.display_path(str(site / "django/contrib/auth/migrations/0001_initial.py")) == (
        "django/contrib/auth/migrations/0001_initial.py"
    )
    assert probe.display_path(str(tmp_path / "shop/migrations/0001_initial.py")) == "shop/migrations/0001_initial.py"
    assert probe.display_path(os.path.join(os.sep, "elsewhere", "x.py")) is None


def test_action_input_allow_empty_target() -> None:
    from preflight.action.settings import from_env

    assert from_env({"INPUT_ALLOW-EMPTY-TARGET": "on"}).args.allow_empty_target is True
    assert from_env({}).args.allow_empty_target is False


def test_rollback_commands_quote_names_from_the_pull_request() -> None:
    from types import SimpleNamespace

    from preflight.probe.protocol import GraphNode, PlanAnswer
    from preflight.report.build import _rollback

    hostile = "0002_x$(touch pwned);`id`"
    plan = PlanAnswer(
        pending=(),
        rollback={"pwn": "0001_initial"},
        nodes=(
            GraphNode("pwn", "0001_initial", ()),
            GraphNode("pwn", hostile, (("pwn", "0001_initial"),)),
            GraphNode("pwn", "0003_after", (("pwn", hostile),)),
        ),
    )
    migrations = [SimpleNamespace(app="pwn", name=hostile), SimpleNamespace(app="pwn", name="0003_after")]
    (command,) = _rollback(plan, migrations, [SimpleNamespace(migration=f"pwn.{hostile}")])  # type: ignore[arg-type]
    assert command.to == hostile
    assert shlex.split(command.command) == ["python", "manage.py", "migrate", "pwn", hostile]
