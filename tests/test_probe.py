"""The probe in real Django (4.2 and 5.2) against real PostgreSQL."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import DJANGO_SERIES, EXAMPLE, copy_project, scenario
from preflight.demo import seed_database
from preflight.errors import ProjectError
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.progress import QuietProgress
from preflight.project import Project


def _manage(project: Project, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [project.python, "manage.py", *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        env=runner.probe_env(project, url),
    )


@pytest.fixture(params=DJANGO_SERIES)
def series_shop(request: pytest.FixtureRequest, django_pythons: dict[str, str], tmp_path: Path) -> Project:
    return Project(root=copy_project(EXAMPLE, tmp_path), settings="shop.settings", python=django_pythons[request.param])


def test_interpreters_carry_the_django_they_claim(django_pythons: dict[str, str]) -> None:
    for series, python in django_pythons.items():
        out = subprocess.run(
            [python, "-c", "import django; print(django.get_version())"], capture_output=True, text=True, check=True
        ).stdout
        assert out.startswith(series)


def _against_sqlmigrate(project: Project, url: str, migrations: list[dict]) -> list[tuple[str, str | None, str | None]]:
    """(label, what sqlmigrate [--backwards] printed, what the probe has) for every migration, both ways."""
    jobs = [(m, backwards) for m in migrations for backwards in (False, True)]

    def sqlmigrate(job: tuple[dict, bool]) -> tuple[str, str | None, str | None]:
        migration, backwards = job
        args = ["sqlmigrate", migration["app"], migration["name"]] + (["--backwards"] if backwards else [])
        done = _manage(project, url, *args)
        ours = migration["backwards" if backwards else "forwards"]
        label = f"{migration['app']}.{migration['name']}{' (backwards)' if backwards else ''}"
        if done.returncode != 0:
            # sqlmigrate itself crashes here (it introspects a table that does not exist
            # yet); the probe must record the same error instead of inventing SQL.
            # Python prints a non-builtin exception with its module path; the probe keeps the class name.
            theirs = re.sub(r"^(?:[a-z_]\w*\.)+(?=[A-Z])", "", done.stderr.strip().splitlines()[-1])
            return label, theirs, ours.get("error")
        return label, done.stdout, ours["text"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(sqlmigrate, jobs))


def test_sql_is_byte_identical_to_sqlmigrate(pg: Server, series_shop: Project) -> None:
    database = pg.create_database("empty")
    url = pg.info.url(database)
    result = runner.run(series_shop, "sql", url)
    migrations = result["migrations"]
    shop_apps = {"catalog", "customers", "orders"}
    assert sum(1 for m in migrations if m["app"] in shop_apps) == 34
    compared = _against_sqlmigrate(series_shop, url, migrations)
    assert len(compared) == len(migrations) * 2
    # Two sqlmigrate runs differ from each other where a migration bakes timezone.now()
    # into the SQL (auth.0005 backwards); mask those timestamps, and nothing else.
    stamp = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00:00'::timestamptz")
    masked = [label for label, theirs, ours in compared if theirs != ours]
    assert masked == ["auth.0005_alter_user_last_login_null (backwards)"]
    mismatches = [
        label for label, theirs, ours in compared if stamp.sub("NOW", theirs or "") != stamp.sub("NOW", ours or "")
    ]
    assert mismatches == []
    assert sum(1 for _, theirs, _ in compared if theirs) > 60  # real SQL, not a field of empty strings
    assert result["_django"].startswith(series_shop.python.split("django-")[1].split("/")[0])
    pg.drop_database(database)


@pytest.mark.parametrize("series", DJANGO_SERIES)
def test_sql_of_operations_sharing_states_is_byte_identical_to_sqlmigrate(
    pg: Server, django_pythons: dict[str, str], series: str, tmp_path: Path
) -> None:
    """Each operation's SQL comes from the states the ones before it left, forwards and backwards.

    The `reshaping` project's migrations hold several operations on related models (a
    renamed model, a foreign key to a field widened later, a many-to-many), RunPython,
    RunSQL, SeparateDatabaseAndState, a migration that cannot go back, and a custom
    operation sqlmigrate cannot print, whose field the next migration indexes.
    """
    project = scenario("reshaping", tmp_path, django_pythons[series])
    database = pg.create_database("reshaping")
    url = pg.info.url(database)
    result = runner.run(project, "sql", url)
    assert [m["name"] for m in result["migrations"]][-1] == "0007_code_index"
    compared = _against_sqlmigrate(project, url, result["migrations"])
    # The irreversible RunPython's message names its function with an address of the process.
    address = re.compile(r" at 0x[0-9a-f]+")
    assert [label for label, theirs, ours in compared if theirs != ours] == ["atlas.0005_one_way (backwards)"]
    unmasked = [(label, address.sub("", theirs or ""), address.sub("", ours or "")) for label, theirs, ours in compared]
    assert [label for label, theirs, ours in unmasked if theirs != ours] == []
    ours = {label: text for label, _, text in compared}
    # The custom operation's field is in the state the next migration starts from.
    assert 'CREATE INDEX "tag_code_idx" ON "atlas_tag" ("code");' in (ours["atlas.0007_code_index"] or "")
    assert (ours["atlas.0005_one_way (backwards)"] or "").startswith("IrreversibleError: Operation <RunPython")
    assert 'ALTER TABLE "atlas_book" ALTER COLUMN "editor_id" TYPE varchar(120)' in (ours["atlas.0003_keys"] or "")
    pg.drop_database(database)


def _unapplied(showmigrations: str) -> list[str]:
    return re.findall(r"^\[ \]\s+(\S+)$", showmigrations, re.M)


def test_plan_matches_showmigrations_at_the_demo_baseline(pg: Server, series_shop: Project) -> None:
    database = seed_database(pg, series_shop, 2000, QuietProgress())
    url = pg.info.url(database)
    plan = runner.run(series_shop, "plan", url)
    shown = _manage(series_shop, url, "showmigrations", "--plan")
    assert shown.returncode == 0, shown.stderr
    pending = [f"{m['app']}.{m['name']}" for m in plan["pending"]]
    assert pending == _unapplied(shown.stdout)
    assert len(pending) == 12
    assert plan["rollback"] == {
        "catalog": "0008_alter_category_slug",
        "customers": "0006_normalize_emails",
        "orders": "0008_alter_order_status",
    }
    assert plan["conflicts"] == {}
    pg.drop_database(database)


def test_plan_describes_operations_with_their_lines(pg: Server, shop: Project) -> None:
    database = pg.create_database("empty")
    plan = runner.run(shop, "plan", pg.info.url(database))
    by_label = {f"{m['app']}.{m['name']}": m for m in plan["pending"]}
    assert {m["file"] for m in by_label.values() if m["app"] == "orders"} >= {
        "orders/migrations/0001_initial.py",
        "orders/migrations/0011_orderline_product_order_idx.py",
    }
    for migration in plan["pending"]:
        if migration["app"] not in {"catalog", "customers", "orders"}:
            continue
        lines = (shop.root / migration["file"]).read_text().splitlines()
        for operation in migration["operations"]:
            assert operation["type"] + "(" in lines[operation["line"] - 1], (migration["name"], operation)
    non_atomic = by_label["catalog.0011_product_name_idx"]
    assert non_atomic["atomic"] is False
    assert non_atomic["operations"][0]["describe"].startswith("Concurrently create index")
    # RunPython with a reverse is reversible; the noop reverse counts as one too.
    assert by_label["orders.0010_backfill_line_totals"]["reversible"] is True
    assert by_label["customers.0005_customer_email_lower_idx"]["operations"][0]["type"] == "RunSQL"
    pg.drop_database(database)


def test_apply_records_timings_and_statements(pg: Server, series_shop: Project) -> None:
    shop = series_shop
    database = seed_database(pg, shop, 3000, QuietProgress())
    result = runner.run(shop, "apply", pg.info.url(database))
    assert result["failure"] is None
    migrations = {f"{m['app']}.{m['name']}": m for m in result["migrations"]}
    assert len(migrations) == 12
    assert all(m["status"] == "applied" and m["duration_ms"] > 0 for m in migrations.values())
    index = migrations["orders.0011_orderline_product_order_idx"]["statements"]
    create = [s for s in index if s["sql"].startswith("CREATE INDEX")]
    assert len(create) == 1 and create[0]["duration_ms"] > 0
    assert (
        create[0]["sql"]
        == 'CREATE INDEX "orders_line_product_order_idx" ON "orders_orderline" ("product_id", "order_id")'
    )
    backfill = [s for s in migrations["orders.0010_backfill_line_totals"]["statements"] if not s["internal"]]
    updates = [s for s in backfill if s["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and updates[0]["rows"] == 3000
    assert updates[0]["params"] == 0 or "%s" in updates[0]["sql"]
    recorded = [s for s in migrations["orders.0011_orderline_product_order_idx"]["statements"] if s["internal"]]
    assert any("django_migrations" in s["sql"] for s in recorded)
    assert result["post_migrate"] is not None
    # Everything pending is now applied on that database.
    assert runner.run(shop, "plan", pg.info.url(database))["pending"] == []
    pg.drop_database(database)


def test_failing_migration_is_reported_with_its_statement(pg: Server, tmp_path: Path) -> None:
    project = scenario("failing", tmp_path)
    database = pg.create_database("empty")
    result = runner.run(project, "apply", pg.info.url(database))
    statuses = [(m["name"], m["status"]) for m in result["migrations"]]
    assert statuses == [
        ("0001_initial", "applied"),
        ("0002_seed_items", "applied"),
        ("0003_unique_sku", "failed"),
        ("0004_item_stock", "not_run"),
    ]
    failure = result["failure"]
    assert failure["migration"] == "inventory.0003_unique_sku"
    assert failure["type"] == "IntegrityError" and failure["sqlstate"] == "23505"
    assert failure["statement"].startswith('ALTER TABLE "inventory_item" ADD CONSTRAINT')
    assert failure["user_frame"]["line"] == 7  # the AlterField in 0003_unique_sku.py
    assert failure["user_frame"]["file"].endswith("0003_unique_sku.py")
    assert failure["frame"]["file"].endswith(".py")  # the traceback's last frame, kept too
    assert failure["partially_applied"] is False
    with pg.connect(database) as conn:  # the atomic migration left nothing behind
        assert conn.execute("SELECT count(*) FROM django_migrations WHERE name = '0003_unique_sku'").fetchone() == (0,)
    pg.drop_database(database)


def test_raising_run_python_points_at_the_line(pg: Server, tmp_path: Path) -> None:
    project = scenario("raising", tmp_path)
    database = pg.create_database("empty")
    failure = runner.run(project, "apply", pg.info.url(database))["failure"]
    assert failure["error"] == "ValueError: ledger does not balance"
    assert failure["user_frame"]["file"].endswith("ledger/migrations/0002_check_balances.py")
    assert failure["user_frame"]["line"] == 5
    assert failure["statement"] is None
    pg.drop_database(database)


@pytest.mark.parametrize(
    "name, match",
    [
        (
            "broken_settings",
            r"settings module 'proj.settings' does not import: ModuleNotFoundError: No module named "
            r"'site_secrets' \(proj/settings.py:7\)",
        ),
        ("conflict", r"conflicting migrations: notes has leaves 0002_note_body, 0002_note_pinned"),
    ],
)
def test_project_errors(pg: Server, tmp_path: Path, name: str, match: str) -> None:
    database = pg.create_database("empty")
    with pytest.raises(ProjectError, match=match):
        runner.run(scenario(name, tmp_path), "plan" if name != "conflict" else "apply", pg.info.url(database))
    pg.drop_database(database)


def test_interpreter_without_django(pg: Server, tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run(["python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    project = scenario("raising", tmp_path, python=str(venv / "bin" / "python"))
    with pytest.raises(ProjectError, match="Django is not importable"):
        runner.run(project, "plan", pg.info.url("postgres"))


def test_user_settings_are_redirected_to_the_copy(pg: Server, shop: Project) -> None:
    # shop.settings defaults to postgresql://localhost/shop; the override must win.
    database = pg.create_database("empty")
    url = pg.info.url(database)
    done = subprocess.run(
        [
            shop.python,
            "-c",
            "from django.conf import settings as s; d = s.DATABASES['default'];"
            "print(d['NAME'], d['HOST'], d['PORT'], d['ENGINE'])",
        ],
        cwd=shop.root,
        env=runner.probe_env(shop, url),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == [database, pg.info.host, str(pg.info.port), "django.db.backends.postgresql"]
    pg.drop_database(database)
