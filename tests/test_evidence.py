"""Evidence from the copy, on real PostgreSQL: locks, rewrites, blocking, failures, round trip, tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EXAMPLE, copy_project, pg_dump, run_cli, scenario
from preflight.postgres.base import Server
from preflight.preview import PreviewOptions, preview, timeout_ms
from preflight.probe import runner
from preflight.progress import QuietProgress
from preflight.project import Project
from preflight.report.model import Report

SLOW_INDEX = """
        migrations.RunSQL("SELECT pg_sleep(1.5)", migrations.RunSQL.noop),  # keeps the SHARE lock 1.5 s longer
"""
UNIQUE_CITY = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_alter_customer_phone"), ("orders", "0013_rename_total_order_grand_total")]
    operations = [
        migrations.AlterField(
            model_name="address", name="city", field=models.CharField(max_length=100, unique=True)
        ),
    ]
"""


@pytest.fixture
def shop(tmp_path: Path) -> Project:
    import sys

    return Project(root=copy_project(EXAMPLE, tmp_path), settings="shop.settings", python=sys.executable)


def run(project: Project, dump: Path, **options: object) -> Report:
    return preview(
        PreviewOptions(project=project, target_dump=dump, postgres="local", **options),  # type: ignore[arg-type]
        QuietProgress(),
    )


def findings(report: Report, code: str) -> list:
    return [f for f in report.findings if f.code == code or f.facts.get("measured_by") == code]


def test_index_migration_lock_and_measured_write_blocking(shop: Project, demo_dump: Path) -> None:
    path = shop.root / "orders/migrations/0011_orderline_product_order_idx.py"
    text = path.read_text()
    path.write_text(text.replace("        ),\n    ]", "        )," + SLOW_INDEX + "    ]"))
    report = run(shop, demo_dump, probe_concurrency=True)
    migration = next(m for m in report.migrations if m.name == "0011_orderline_product_order_idx")
    (lock,) = [lk for lk in migration.locks if lk.relation == "orders_orderline"]
    assert lock.mode == "ShareLock" and lock.held_ms >= 1500
    assert migration.statements[lock.statement].sql.startswith("CREATE INDEX")
    (blocked,) = [b for b in migration.blocked if b.table == "orders_orderline"]
    assert blocked.writes_ms >= 1000  # a second session's writes waited for the SHARE lock
    assert blocked.reads_ms < 300  # SHARE does not block reads
    assert "Writes to orders_orderline wait up to 1." in migration.feel
    # Measured (LK213) and static (LK201) about the same CREATE INDEX are one finding.
    (finding,) = [f for f in report.findings if f.code == "LK201"]
    assert finding.facts["measured_by"] == "LK213" and finding.facts["writes_blocked_ms"] >= 1000
    assert "measured on the copy: SHARE lock on orders_orderline" in finding.message
    assert not [f for f in report.findings if f.code == "LK213"]


def test_column_type_change_rewrites_the_table(shop: Project, demo_dump: Path) -> None:
    report = run(shop, demo_dump)
    migration = next(m for m in report.migrations if m.name == "0009_alter_customer_phone")
    (table,) = [r for r in migration.rewrites if r.kind == "table"]
    assert table.relation == "customers_customer" and table.before_bytes and table.after_bytes
    assert {r.relation for r in migration.rewrites if r.kind == "index"} >= {"customers_customer_pkey"}
    (finding,) = findings(report, "LK214")
    assert finding.migration == "0009_alter_customer_phone" and finding.line == 10
    assert finding.facts["before_bytes"] == table.before_bytes
    assert "is rewritten" in migration.feel
    # Nothing else was rewritten: adding NOT NULL columns with constant defaults is metadata-only.
    assert [m.name for m in report.migrations if any(r.kind == "table" for r in m.rewrites)] == [
        "0009_alter_customer_phone"
    ]


def test_failing_unique_constraint_counts_the_duplicates(shop: Project, demo_dump: Path) -> None:
    (shop.root / "customers/migrations/0010_address_city_unique.py").write_text(UNIQUE_CITY)
    report = run(shop, demo_dump)
    assert report.failure is not None and report.failure.sqlstate == "23505"
    assert report.failure.migration == "customers.0010_address_city_unique"
    (finding,) = [f for f in report.findings if f.category == "data-dependent"]
    # The static rule counted the duplicates before; the failure on the copy confirms it.
    assert finding.code == "DD401" and finding.facts["measured_by"] == "DD403"
    assert finding.facts["violating_rows"] == 250  # every address shares "Springfield"
    assert "250 rows in customers_address(city) share a value" in finding.message


def test_round_trip_catches_the_irreversible_migration(shop: Project, demo_dump: Path) -> None:
    report = run(shop, demo_dump)
    assert report.round_trip is not None
    assert report.round_trip.backward.status == "irreversible"
    assert report.round_trip.backward.migration == "catalog.0012_normalize_skus"
    (finding,) = [f for f in report.findings if f.code == "IR502"]
    assert finding.facts["measured_by"] == "IR503"
    assert not run(shop, demo_dump, round_trip=False).round_trip


def test_reapply_of_a_non_idempotent_data_migration_fails(pg: Server, tmp_path: Path) -> None:
    project = scenario("nonidempotent", tmp_path)
    database = pg.create_database("tags")
    assert runner.run(project, "apply", pg.info.url(database), to=["tags.0001_initial"])["failure"] is None
    dump = pg_dump(pg, database, tmp_path / "tags.dump")
    pg.drop_database(database)
    report = preview(PreviewOptions(project=project, target_dump=dump, postgres="local"), QuietProgress())
    assert report.round_trip is not None and report.round_trip.backward.status == "ok"
    assert report.round_trip.forward is not None and report.round_trip.forward.status == "failed"
    (finding,) = findings(report, "IR504")
    assert finding.migration == "0002_seed_sale_tag" and "IntegrityError" in finding.message


def test_lock_timeout_is_applied_to_every_statement(shop: Project, demo_dump: Path) -> None:
    (shop.root / "orders/migrations/0014_check_lock_timeout.py").write_text("""from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0013_rename_total_order_grand_total")]
    operations = [
        migrations.RunSQL(
            "DO $$ BEGIN IF current_setting('lock_timeout') <> '2s' THEN RAISE EXCEPTION 'no lock_timeout'; "
            "END IF; END $$",
            migrations.RunSQL.noop,
        ),
    ]
""")
    report = run(shop, demo_dump, lock_timeout=2000, round_trip=False)
    assert report.failure is None and report.lock_timeout_ms == 2000
    assert run(shop, demo_dump, round_trip=False).failure is not None  # without it, the check raises


RAW_ALTERS = """from django.db import migrations


class Migration(migrations.Migration):
    atomic = {atomic}
    dependencies = [("orders", "{after}")]
    operations = [
        migrations.RunSQL("UPDATE orders_order SET status = status WHERE id < 0", migrations.RunSQL.noop),
        migrations.RunSQL("ALTER TABLE orders_order ADD COLUMN {column} text", migrations.RunSQL.noop),
    ]
"""


def test_no_lock_timeout_finding_and_its_suppression(shop: Project, demo_dump: Path) -> None:
    migrations = shop.root / "orders/migrations"
    (migrations / "0014_raw_alter.py").write_text(
        RAW_ALTERS.format(atomic=True, after="0013_rename_total_order_grand_total", column="note_a")
    )
    (migrations / "0015_raw_alter_non_atomic.py").write_text(
        RAW_ALTERS.format(atomic=False, after="0014_raw_alter", column="note_b")
    )
    report = run(shop, demo_dump, round_trip=False)
    found = {f.migration: f for f in report.findings if f.code == "LK216"}
    # Django's own DDL on existing tables too (AddField, RemoveField, RenameField); not the
    # row locks of an UPDATE (RunSQL, RunPython), nor CREATE INDEX CONCURRENTLY.
    assert set(found) == {
        "0009_product_weight_grams",
        "0009_alter_customer_phone",
        "0011_orderline_product_order_idx",
        "0007_rename_name_customer_full_name",
        "0008_customer_marketing_opt_in",
        "0009_orderline_line_total",
        "0010_remove_product_legacy_code",
        "0012_remove_order_notes",
        "0013_rename_total_order_grand_total",
        "0014_raw_alter",
        "0015_raw_alter_non_atomic",
    }
    assert found["0008_customer_marketing_opt_in"].message.startswith(
        "AddField takes an ACCESS EXCLUSIVE lock on customers_customer (measured on the copy)"
    )
    atomic, non_atomic = found["0014_raw_alter"], found["0015_raw_alter_non_atomic"]
    assert atomic.statement == non_atomic.statement.replace("note_b", "note_a")
    assert atomic.statement == "ALTER TABLE orders_order ADD COLUMN note_a text"
    assert atomic.facts["measured"] is True and atomic.facts["mode"] == "AccessExclusiveLock"
    assert "ACCESS EXCLUSIVE lock on orders_order (measured on the copy)" in atomic.message
    assert "SET LOCAL lock_timeout = '5s'" in atomic.fix
    assert non_atomic.facts["measured"] is False and non_atomic.facts["operation_index"] == 1
    assert "session-level SET lock_timeout = '5s' (not SET LOCAL" in non_atomic.fix
    settings = shop.root / "shop" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            '"PORT": str(parts.port or ""),',
            '"PORT": str(parts.port or ""),\n        "OPTIONS": {"options": "-c lock_timeout=5s"},',
        )
    )
    assert not [f for f in run(shop, demo_dump, round_trip=False).findings if f.code == "LK216"]


def test_post_migration_tests_run_against_the_migrated_copy(shop: Project, demo_dump: Path) -> None:
    check = (
        'python manage.py shell -c "from orders.models import OrderLine; '
        "assert OrderLine.objects.filter(line_total__gt=0).count() == 3000; print('line totals ok')\""
    )
    report = run(shop, demo_dump, test_command=check, round_trip=False)
    assert report.tests is not None and report.tests.passed, report.tests
    assert "line totals ok" in report.tests.tail
    failing = run(shop, demo_dump, test_command="python -c 'raise SystemExit(3)'", round_trip=False)
    assert failing.tests is not None and failing.tests.exit_code == 3


def test_graph_health_applied_migration_missing_from_code(pg: Server, tmp_path: Path) -> None:
    project = scenario("raising", tmp_path)
    database = pg.create_database("health")
    assert runner.run(project, "apply", pg.info.url(database), to=["ledger.0001_initial"])["failure"] is None
    with pg.connect(database) as conn:
        conn.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('ledger', '0009_hotfix', now())")
    dump = pg_dump(pg, database, tmp_path / "health.dump")
    pg.drop_database(database)
    report = preview(PreviewOptions(project=project, target_dump=dump, postgres="local"), QuietProgress())
    (finding,) = findings(report, "RV603")
    assert "ledger.0009_hotfix" in finding.message


def test_cli_options_and_markdown(shop: Project, demo_dump: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = run_cli(
        "preview",
        "--project",
        str(shop.root),
        "--target-dump",
        str(demo_dump),
        "--postgres",
        "local",
        "--quiet",
        "--lock-timeout",
        "3000",
        "--no-round-trip",
        "--json",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["lock_timeout_ms"] == 3000 and data["round_trip"] is None
    assert "### What production will feel" in done.stdout and "```mermaid\ngantt" in done.stdout
    assert "Every statement ran with `lock_timeout = 3000ms` on the copy." in done.stdout


@pytest.mark.parametrize(
    "text, ms", [("5s", 5000), ("500ms", 500), ("1min", 60000), ("0", 0), ("250", 250), (None, None), ("soon", None)]
)
def test_timeout_text(text: str | None, ms: int | None) -> None:
    assert timeout_ms(text) == ms
