"""`preflight apply` end to end: the real command on real PostgreSQL, the example project and test projects.

What a user sees is asserted: the exit code, the one-line error, the report's lines, the
backup file, the audit record, and what `django_migrations` holds afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from conftest import EXAMPLE, copy_project, run_cli, scenario
from preflight.postgres.base import Server
from preflight.project import Project

APPROVE = ("--approve", "DS102", "--approve-reason", "order notes moved to the CRM in March")


@pytest.fixture
def production(pg: Server, tmp_path: Path) -> tuple[Project, str, str]:
    """The demo's production database (the example target, 3,000 order lines), its project and URL."""
    from preflight.demo import seed_database
    from preflight.progress import QuietProgress

    project = Project(root=copy_project(EXAMPLE, tmp_path), settings="shop.settings", python=sys.executable)
    database = seed_database(pg, project, 3000, QuietProgress())
    yield project, database, pg.info.url(database)
    pg.drop_database(database)


def applied_rows(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [tuple(row) for row in conn.execute("SELECT app, name FROM django_migrations ORDER BY id")]


def apply(project: Project, url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli("apply", "--project", str(project.root), "--target-url", url, "--quiet", *args, env=env)


def test_apply_on_the_example_target_backs_up_applies_verifies_and_says_the_way_back(
    production: tuple[Project, str, str], tmp_path: Path
) -> None:
    project, _, url = production
    before = applied_rows(url)
    audit = tmp_path / "audit.jsonl"
    report_md, report_json = tmp_path / "apply.md", tmp_path / "apply.json"
    done = apply(
        project, url, "--backup-dir", str(tmp_path / "backups"), "--audit-log", str(audit),
        "--output", str(report_md), "--json", str(report_json), *APPROVE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = applied_rows(url)
    new = after[len(before) :]
    assert len(new) == 12 and len(set(after)) == len(after)  # each pending migration recorded once
    markdown = report_md.read_text()
    assert markdown.startswith(
        "<!-- preflight-apply -->\n## ✅ Preflight apply: 12 migrations applied to `postgresql://"
    )
    backups = list((tmp_path / "backups").iterdir())
    assert len(backups) == 1 and backups[0].suffix == ".dump" and backups[0].stat().st_size > 0
    assert f"**Backup:** `{backups[0]}`" in markdown and "verified" in markdown
    assert "- ✅ `showmigrations`: nothing pending" in markdown and "- ✅ `manage.py check`: no errors" in markdown
    # catalog.0012 runs RunSQL without a reverse: past it, the way back is this backup.
    assert "`catalog.0012_normalize_skus` cannot be migrated back" in markdown
    assert (
        "pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error "
        f'-d "$DATABASE_URL" {backups[0]}' in markdown
    )
    assert "python manage.py migrate orders" in markdown  # the apps that can go back, per app
    data = json.loads(report_json.read_text())
    assert data["deployment"]["result"] == "applied" and data["deployment"]["backup"]["path"] == str(backups[0])
    assert data["deployment"]["backup"]["objects"]
    record = json.loads(audit.read_text().splitlines()[-1])
    assert (record["result"], record["via"], record["action"], record["backup"]) == (
        "applied", "cli", "apply", str(backups[0]),
    )  # fmt: skip
    assert len(record["migrations"]) == 12 and record["who"]
    assert "password" not in audit.read_text() and url not in markdown + audit.read_text()

    again = apply(project, url, "--backup-dir", str(tmp_path / "backups"), "--audit-log", str(audit), *APPROVE)
    assert again.returncode == 0, again.stderr
    assert "## ✅ Preflight apply: nothing pending on `postgresql://" in again.stdout
    assert applied_rows(url) == after
    assert len(list((tmp_path / "backups").iterdir())) == 1  # nothing pending: no backup either
    assert json.loads(audit.read_text().splitlines()[-1])["result"] == "nothing-pending"


def test_dry_run_prints_the_plan_and_writes_nothing(production: tuple[Project, str, str], tmp_path: Path) -> None:
    project, _, url = production
    before = applied_rows(url)
    done = apply(
        project, url, "--dry-run", "--audit-log", str(tmp_path / "audit.jsonl"), "--audit-table", "ops_audit", *APPROVE
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(url) as conn:  # not even the audit table: the file has the record
        assert conn.execute("SELECT to_regclass('ops_audit')").fetchone() == (None,)
    assert "## 🧪 Preflight apply (dry run): 12 migrations would be applied to" in done.stdout
    assert 'ALTER TABLE "orders_order" DROP COLUMN "notes" CASCADE' in done.stdout  # the SQL is shown
    assert applied_rows(url) == before
    assert json.loads((tmp_path / "audit.jsonl").read_text())["result"] == "dry-run"


def test_dry_run_gives_the_projects_django_a_read_only_session(pg: Server, tmp_path: Path) -> None:
    """The proof: the session --dry-run gives Django cannot write, whatever the project's code does."""
    from preflight.apply.pipeline import ApplyOptions, session_url
    from preflight.probe.session import ProbeSession

    database = pg.create_database("dryrun")
    try:
        url = pg.info.url(database)
        project = scenario("slow", tmp_path)
        read_only = session_url(ApplyOptions(target_url=url, dry_run=True))
        named = ApplyOptions(target_url=url, session_name="preflight apply 1")
        assert session_url(named) == url + "?application_name=preflight%20apply%201"  # to stop it if interrupted
        own = ApplyOptions(target_url=url + "?options=-c%20search_path%3Dshop", session_name="x", dry_run=True)
        assert session_url(own).endswith(  # the URL's own options kept beside the read-only session
            "?application_name=x&options=-c%20search_path%3Dshop%20-c%20default_transaction_read_only%3Don"
        )
        with ProbeSession(project, read_only) as probe:
            assert [m.label for m in probe.plan().pending][:1] == ["ledger.0001_initial"]
            answer = probe.apply(to=["ledger.0001_initial"])
        assert answer.failure is not None and "read-only transaction" in answer.failure.error
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('django_migrations')").fetchone() == (None,)
    finally:
        pg.drop_database(database)


def test_blocked_apply_changes_nothing_and_takes_no_backup(
    production: tuple[Project, str, str], tmp_path: Path
) -> None:
    project, _, url = production
    before = applied_rows(url)
    audit = tmp_path / "audit.jsonl"
    done = apply(project, url, "--backup-dir", str(tmp_path / "backups"), "--audit-log", str(audit))
    assert done.returncode == 1
    assert done.stderr.startswith("preflight: error: nothing was applied: blocked by 1 finding (--fail-on destructive)")
    assert "DS102" in done.stderr
    assert applied_rows(url) == before and not list((tmp_path / "backups").iterdir())  # checked writable, left empty
    assert "## ⛔ Preflight apply: blocked by 1 finding; nothing was applied to" in done.stdout
    record = json.loads(audit.read_text())
    assert record["result"] == "blocked" and "DS102 orders.0012_remove_order_notes" in record["reason"]


def test_a_bad_audit_table_is_refused_before_anything_runs(tmp_path: Path) -> None:
    project = scenario("slow", tmp_path)
    done = run_cli("apply", "--project", str(project.root), "--target-url", "postgresql://u:pw@db.invalid/x",
                   "--no-backup", "--audit-table", "ops.preflight-audit")  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("preflight: error: --audit-table 'ops.preflight-audit' is not a table name.")


def test_an_audit_table_that_cannot_be_written_stops_the_run_before_the_target_changes(
    production: tuple[Project, str, str], tmp_path: Path
) -> None:
    project, _, url = production
    before = applied_rows(url)
    done = apply(project, url, "--no-backup", "--audit-table", "no_such_schema.audit", *APPROVE)
    assert done.returncode == 5
    assert done.stderr.splitlines()[-1].startswith(
        "preflight: error: cannot write the audit record to table no_such_schema.audit:"
    )
    assert applied_rows(url) == before


def test_apply_needs_a_backup_dir_or_an_explicit_no_backup(tmp_path: Path) -> None:
    project = scenario("slow", tmp_path)
    done = run_cli("apply", "--project", str(project.root), "--target-url", "postgresql://u:pw@db.invalid/x")
    assert done.returncode == 2
    assert done.stderr == (
        "preflight: error: apply backs up the target first and needs --backup-dir. Pass --backup-dir DIR, "
        "or --no-backup to apply without one (the report and audit record say so)\n"
    )


def _until_lock_held(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted").fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the first apply never took the migration lock")


def test_two_applies_at_once_migrate_once(pg: Server, tmp_path: Path) -> None:
    """The second waits for the first's lock, then finds nothing pending: no migration runs twice."""
    database = pg.create_database("twice")
    try:
        url = pg.info.url(database)
        project = scenario("slow", tmp_path)
        env = {**os.environ, "SLOW_MIGRATION_SECONDS": "4"}
        args = ["--pass-env", "SLOW_MIGRATION_SECONDS", "--no-backup", "--fail-on", "never"]
        command = [sys.executable, "-m", "preflight", "apply", "--project", str(project.root), "--target-url", url]
        first = subprocess.Popen([*command, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _until_lock_held(url)  # the first one holds it, and is in its 4-second migration
        second = subprocess.run([*command, *args, "--wait", "60"], env=env, capture_output=True, text=True)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert "## ✅ Preflight apply: 3 migrations applied" in out
        assert second.returncode == 0, second.stderr
        assert "## ✅ Preflight apply: nothing pending on" in second.stdout
        # It waited for the lock (unless the machine was so slow that the first had finished meanwhile).
        assert (
            "waiting for the migration lock" in second.stderr or "the migration lock was free at once" in second.stdout
        )
        rows = applied_rows(url)
        assert sorted(rows) == sorted(set(rows)) and len(rows) == 3
    finally:
        pg.drop_database(database)


def test_an_apply_that_cannot_get_the_lock_within_wait_exits_8_naming_the_holder(
    production: tuple[Project, str, str], tmp_path: Path
) -> None:
    from preflight.apply.lock import KEY

    project, _, url = production
    before = applied_rows(url)
    audit = tmp_path / "audit.jsonl"
    with psycopg.connect(url, autocommit=True, application_name="deploy-42") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [KEY])
        done = apply(project, url, "--no-backup", "--wait", "1", "--audit-log", str(audit), *APPROVE)
    assert done.returncode == 8, done.stderr
    line = done.stderr.splitlines()[-1]
    assert line.startswith("preflight: error: another migration holds the lock on postgresql://")
    assert "deploy-42" in line and line.endswith("Wait for that deploy to finish, or raise --wait")
    assert applied_rows(url) == before
    assert json.loads(audit.read_text())["result"] == "locked"


class _RacedSession:
    """A real probe session whose target another deploy migrates right after the first plan is read."""

    def __init__(self, project: Project, url: str) -> None:
        from preflight.probe.session import ProbeSession

        self.session, self.project, self.url, self.plans = ProbeSession(project, url), project, url, 0

    def __enter__(self) -> _RacedSession:
        self.session.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.__exit__(None, None, None)

    def plan(self, to: list[str] | None = None):
        from preflight.probe.session import ProbeSession

        answer = self.session.plan(to)
        self.plans += 1
        if self.plans == 1:  # the other deploy: a second Django applies the first migration now
            with ProbeSession(self.project, self.url) as other:
                assert other.apply(to=["ledger.0001_initial"]).failure is None
        return answer

    def __getattr__(self, name: str):
        return getattr(self.session, name)


def test_a_target_migrated_between_the_plan_and_its_sql_is_read_again(pg: Server, tmp_path: Path) -> None:
    """Another deploy applies a migration between the plan and the SQL: read both again, apply the rest once."""
    from preflight.apply.pipeline import ApplyOptions, run
    from preflight.probe.protocol import DeploySettings
    from preflight.progress import QuietProgress

    database = pg.create_database("raced")
    try:
        url = pg.info.url(database)
        project = scenario("slow", tmp_path)
        project.root.joinpath("ledger", "migrations", "0002_slow.py").write_text(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
            '    dependencies = [("ledger", "0001_initial")]\n'
            "    operations = [migrations.RunSQL('SELECT 1', migrations.RunSQL.noop)]\n"
        )
        options = ApplyOptions(
            target_url=url, project=project, no_backup=True, deploy=DeploySettings(), fail_on="never"
        )
        report = run(options, lambda: _RacedSession(project, url), QuietProgress())
        assert report.deployment is not None and report.deployment.result == "applied"
        assert [m.label for m in report.migrations] == ["ledger.0002_slow", "ledger.0003_entry_note"]
        rows = applied_rows(url)
        assert sorted(rows) == sorted(set(rows)) and len(rows) == 3
    finally:
        pg.drop_database(database)


def test_ctrl_c_mid_migration_stops_its_session_before_the_lock_is_released(pg: Server, tmp_path: Path) -> None:
    """The project's Django is a child: killed, its session would go on migrating, locks held, unseen."""
    import signal

    database = pg.create_database("ctrlc")
    try:
        url = pg.info.url(database)
        project = scenario("slow", tmp_path)
        audit = tmp_path / "audit.jsonl"
        env = {**os.environ, "SLOW_MIGRATION_SECONDS": "60"}
        command = [sys.executable, "-m", "preflight", "apply", "--project", str(project.root), "--target-url", url,
                   "--pass-env", "SLOW_MIGRATION_SECONDS", "--no-backup", "--fail-on", "never", "--quiet",
                   "--audit-log", str(audit)]  # fmt: skip
        running = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with psycopg.connect(url, autocommit=True) as watch:
            sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%' AND state = 'active'"
            deadline = time.monotonic() + 60
            while watch.execute(sleeping).fetchone()[0] == 0:
                assert time.monotonic() < deadline and running.poll() is None, running.stderr.read()
                time.sleep(0.05)
            running.send_signal(signal.SIGINT)  # Ctrl-C
            _, err = running.communicate(timeout=60)
            assert running.returncode == 130
            assert err.splitlines()[-1].startswith(
                "preflight: error: interrupted by Ctrl-C while applying ledger.0002_slow"
            ), err
            assert "its session was stopped: an atomic migration rolled back" in err
            # Gone at once, not after the 60 s the migration would have slept: no session, no lock.
            assert watch.execute(sleeping).fetchone()[0] == 0
            assert watch.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0] == 0
        assert applied_rows(url) == [("ledger", "0001_initial")]
        record = json.loads(audit.read_text())
        assert record["result"] == "failed" and record["reason"].startswith("interrupted by Ctrl-C while applying")
    finally:
        pg.drop_database(database)


def test_a_migration_failing_on_the_target_exits_4_saying_what_state_it_left(pg: Server, tmp_path: Path) -> None:
    database = pg.create_database("failing")
    try:
        url = pg.info.url(database)
        project = scenario("deploy_failing", tmp_path)
        audit = tmp_path / "audit.jsonl"
        done = apply(project, url, "--no-backup", "--fail-on", "never", "--audit-log", str(audit),
                     "--json", str(tmp_path / "apply.json"), "--output", str(tmp_path / "apply.md"))  # fmt: skip
        assert done.returncode == 4, done.stderr
        line = done.stderr.splitlines()[-1]
        assert line.startswith("preflight: error: migration ")
        data = json.loads((tmp_path / "apply.json").read_text())
        deployment = data["deployment"]
        failed = data["failure"]["migration"]
        assert deployment["result"] == "failed" and deployment["pending_after"][0] == failed
        applied = [m["app"] + "." + m["name"] for m in data["migrations"] if m["status"] == "applied"]
        assert [f"{app}.{name}" for app, name in applied_rows(url)] == applied
        markdown = (tmp_path / "apply.md").read_text()
        if deployment["state"] == "partial":  # archive.0002: two statements ran and stay
            assert "(it is not atomic and 2 of its statements stayed applied)" in line
            assert "**The database is partly migrated:**" in markdown and len(deployment["ran"]) == 2
        else:  # ledger.0002: rolled back whole
            assert "(it was rolled back whole, the migrations before it stay applied)" in line
            assert "**The database is as it was before this migration:** it runs in one transaction" in markdown
        record = json.loads(audit.read_text())
        assert record["result"] == "failed" and record["migrations"] == applied
        assert record["reason"].startswith(f"{failed}: ")
    finally:
        pg.drop_database(database)


def test_post_migrate_failing_after_the_migrations_keeps_what_they_did(pg: Server, tmp_path: Path) -> None:
    database = pg.create_database("postmigrate")
    try:
        url = pg.info.url(database)
        project = scenario("deploy_post_migrate", tmp_path)
        done = apply(project, url, "--no-backup", "--json", str(tmp_path / "apply.json"))
        assert done.returncode == 4, done.stderr
        assert "after the migrations, post_migrate or the squash bookkeeping failed: RuntimeError: the shelf's" in (
            done.stderr
        )
        data = json.loads((tmp_path / "apply.json").read_text())
        assert data["deployment"]["result"] == "unverified"
        assert [m["status"] for m in data["migrations"]] == ["applied"]
        assert applied_rows(url) == [("shelf", "0001_initial")]
        assert "**Notes:**" in done.stdout
    finally:
        pg.drop_database(database)


def test_a_run_that_ends_early_removes_its_last_report_but_never_a_device_or_fifo(tmp_path: Path) -> None:
    project = scenario("slow", tmp_path)
    stale, fifo = tmp_path / "apply.json", tmp_path / "report.fifo"
    stale.write_text('{"deployment": {"result": "applied"}}')  # the last run's
    os.mkfifo(fifo)  # as /dev/null is a device: written to, never removed
    done = run_cli("apply", "--project", str(project.root), "--target-url", "postgresql://u:pw@127.0.0.1:1/x",
                   "--no-backup", "--json", str(stale), "--output", str(fifo))  # fmt: skip
    assert done.returncode == 5, done.stderr
    assert not stale.exists() and fifo.exists() and not fifo.is_file()


def test_rehearse_gates_on_a_copy_with_measured_findings_then_applies(
    production: tuple[Project, str, str], tmp_path: Path
) -> None:
    project, _, url = production
    done = apply(project, url, "--rehearse", "--postgres", "local", "--no-backup",
                 "--json", str(tmp_path / "apply.json"), "--output", str(tmp_path / "apply.md"), *APPROVE)  # fmt: skip
    assert done.returncode == 0, done.stderr
    markdown = (tmp_path / "apply.md").read_text()
    assert "**Rehearsed:** the findings below are `preflight gate`'s, measured on a throwaway copy" in markdown
    data = json.loads((tmp_path / "apply.json").read_text())
    assert data["deployment"]["rehearsed"] is True and data["deployment"]["result"] == "applied"
    # Measured on the copy, as only a rehearsal can: the round trip stopped at catalog.0012.
    assert "measured on the copy: migrating back stops at catalog.0012_normalize_skus" in markdown
    assert "LK216" not in markdown  # the copy ran with apply's own lock_timeout
    assert "timings" in data and data["timings"]["rehearse"] > 0


def test_a_migration_failing_in_the_rehearsal_applies_nothing(pg: Server, tmp_path: Path) -> None:
    database = pg.create_database("rehearsed")
    try:
        url = pg.info.url(database)
        project = scenario("deploy_failing", tmp_path)
        done = apply(project, url, "--rehearse", "--postgres", "local", "--no-backup", "--fail-on", "never")
        assert done.returncode == 4, done.stderr
        assert done.stderr.splitlines()[-1].startswith(
            "preflight: error: nothing was applied: the rehearsal on a copy failed: migration "
        )
        with psycopg.connect(url) as conn:  # not even the migrations before the failing one
            assert conn.execute("SELECT to_regclass('django_migrations')").fetchone() == (None,)
    finally:
        pg.drop_database(database)
