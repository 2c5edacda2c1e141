"""The backup before an apply, with the real pg_dump/pg_restore: verified, restorable, refused when not."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from preflight import environment, target
from preflight.apply import backup
from preflight.errors import BackupError, ExitCode, InfrastructureError
from preflight.postgres import binaries
from preflight.postgres.base import Server

PASSWORD = "Backup-s3cret-pw"
SCHEMA = """
CREATE TABLE customer (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE product (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customer (id),
    product_id int NOT NULL REFERENCES product (id),
    placed date NOT NULL
);
CREATE INDEX orders_placed ON orders (placed);
CREATE VIEW recent_orders AS SELECT * FROM orders WHERE placed > date '2024-01-01';
CREATE FUNCTION order_count(c bigint) RETURNS bigint LANGUAGE sql
    AS 'SELECT count(*) FROM orders WHERE customer_id = c';
INSERT INTO customer (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 300) g;
INSERT INTO product (name) SELECT 'product ' || g FROM generate_series(1, 40) g;
INSERT INTO orders (customer_id, product_id, placed)
    SELECT 1 + g % 300, 1 + g % 40, date '2023-06-01' + g % 400 FROM generate_series(1, 5000) g;
"""
EXPECTED = {
    "TABLE": 3,
    "SEQUENCE": 3,
    "INDEX": 1,
    "CONSTRAINT": 4,
    "FK CONSTRAINT": 2,
    "VIEW": 1,
    "MATERIALIZED VIEW": 0,
    "FUNCTION": 1,
    "PROCEDURE": 0,
}


@pytest.fixture(scope="module")
def production(pg: Server) -> Iterator[str]:
    """A seeded database owned by a role with a password; yields its URL."""
    name = pg.create_database("bkprod")
    with pg.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE backup_owner LOGIN PASSWORD {}").format(sql.Literal(PASSWORD)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO backup_owner").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO backup_owner"))
    url = f"postgresql://backup_owner:{PASSWORD}@{pg.info.host}:{pg.info.port}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    yield url
    pg.drop_database(name)
    with pg.connect() as conn:
        conn.execute("DROP OWNED BY backup_owner")
        conn.execute("DROP ROLE backup_owner")


def _take(url: str, directory: Path, pg_bin: str | None = None) -> backup.Backup:
    return backup.take(url, directory, pg_bin, description=target.describe_url(url))


def _row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        return {
            table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]  # type: ignore[index]
            for table in tables
        }


def _catalog(url: str) -> dict[str, int]:
    with target.connect_read_only(url) as conn:
        return backup.catalog_counts(conn, conn.info.server_version)


def _real_dump(url: str, dest: Path, *extra: str) -> Path:
    env, conninfo = environment.for_pg_dump(url, target.READ_ONLY)
    pg_dump = binaries.find(("pg_dump",)).path("pg_dump")
    subprocess.run([pg_dump, "-Fc", *extra, "-f", str(dest), "-d", conninfo], env=env, check=True)
    return dest


def _spy_bin(tmp_path: Path, *extra: str) -> Path:
    """A --pg-bin whose pg_dump records its argv and PGOPTIONS, then runs the real pg_dump (with `extra`)."""
    real = binaries.find(("pg_dump", "pg_restore"))
    spy = tmp_path / "bin"
    spy.mkdir()
    (spy / "pg_dump").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> {tmp_path}/argv.txt\n'
        f'printf "%s\\n" "$PGOPTIONS" >> {tmp_path}/options.txt\n'
        f'exec {real.path("pg_dump")} "$@" {" ".join(extra)}\n'
    )
    (spy / "pg_dump").chmod(0o755)
    (spy / "pg_restore").symlink_to(real.path("pg_restore"))
    return spy


def test_a_backup_is_verified_and_restores_with_identical_row_counts(
    pg: Server, production: str, tmp_path: Path
) -> None:
    directory = tmp_path / "backups" / "nested"  # created on the way
    made = _take(production, directory, None)
    database = production.rsplit("/", 1)[1]
    assert re.fullmatch(rf"{database}-\d{{8}}T\d{{6}}Z\.dump", made.path.name), made.path.name
    assert sorted(p.name for p in directory.iterdir()) == [made.path.name]  # no .partial, no probe file
    assert made.size_bytes == made.path.stat().st_size > 0
    assert made.objects == EXPECTED == _catalog(production)
    assert (
        made.restore_command == "pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error "
        f'-d "$DATABASE_URL" {made.path}'
    )
    assert PASSWORD not in made.restore_command and PASSWORD not in str(made.to_dict())

    # The way back, run exactly as the report prints it, into a fresh database.
    fresh = pg.create_database("bkfresh")
    try:
        done = subprocess.run(
            ["sh", "-c", made.restore_command],
            env={
                **os.environ,
                "DATABASE_URL": pg.info.url(fresh),
                "PATH": f"{binaries.find(('pg_restore',)).bindir}:{os.environ['PATH']}",
            },
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        restored = _row_counts(pg.info.url(fresh))
        assert restored == _row_counts(production) == {"customer": 300, "orders": 5000, "product": 40}
    finally:
        pg.drop_database(fresh)


def test_the_password_reaches_pg_dump_through_its_environment_only(production: str, tmp_path: Path) -> None:
    spy = _spy_bin(tmp_path)
    made = _take(production, tmp_path / "out", str(spy))
    assert made.objects == EXPECTED
    argv = (tmp_path / "argv.txt").read_text()
    assert "-Fc --snapshot=" in argv and "user=backup_owner" in argv
    assert PASSWORD not in argv
    assert "default_transaction_read_only=on" in (tmp_path / "options.txt").read_text()


def test_a_dump_missing_a_table_is_refused_and_removed(production: str, tmp_path: Path) -> None:
    # pg_dump that skips a table (as it would one the user could not see) makes a short backup.
    spy = _spy_bin(tmp_path, "--exclude-table=public.product")
    directory = tmp_path / "out"
    with pytest.raises(BackupError) as caught:
        _take(production, directory, str(spy))
    line = caught.value.line()
    assert caught.value.exit_code == ExitCode.BACKUP == 9
    assert re.fullmatch(
        r"the backup \S+\.dump holds 2 tables but the database has 3\. Check the user can read every schema"
        r" and table \(pg_dump skipped some\), then retry",
        line,
    ), line
    assert list(directory.iterdir()) == []  # the partial file is gone


def test_an_empty_or_corrupt_dump_is_refused(production: str, tmp_path: Path) -> None:
    pg_restore = binaries.find(("pg_restore",)).path("pg_restore")
    expected = _catalog(production)
    good = _real_dump(production, tmp_path / "good.dump")
    assert backup.verify(good, expected, pg_restore) == EXPECTED

    empty = tmp_path / "empty.dump"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(bytes(range(256)) * 8)
    data = good.read_bytes()
    cut = tmp_path / "cut.dump"  # its TOC is whole (pg_restore --list reads it), its data is not
    cut.write_bytes(data[: len(data) - 4000])
    cases = [
        (empty, r"the backup empty\.dump is empty\. Check free disk space"),
        (garbage, r"pg_restore cannot read the backup garbage\.dump: input file does not appear to be a valid archive"),
        (cut, r"the backup cut\.dump does not read back whole: .+\. Check free disk space"),
    ]
    assert subprocess.run([pg_restore, "--list", str(cut)], capture_output=True).returncode == 0
    for path, message in cases:
        with pytest.raises(BackupError) as caught:
            backup.verify(path, expected, pg_restore)
        assert re.match(message, caught.value.line()), caught.value.line()


def test_a_count_mismatch_is_refused(production: str, tmp_path: Path) -> None:
    pg_restore = binaries.find(("pg_restore",)).path("pg_restore")
    short = _real_dump(production, tmp_path / "short.dump", "--exclude-table=public.orders")
    with pytest.raises(BackupError, match=r"holds 2 tables but the database has 3"):
        backup.verify(short, _catalog(production), pg_restore)
    with pytest.raises(BackupError, match=r"holds 0 indexes but the database has 1"):
        backup.verify(short, {**_catalog(production), "TABLE": 2}, pg_restore)


@pytest.mark.parametrize("below", ["", "backups"])
def test_a_backup_dir_that_is_a_file_is_refused(production: str, tmp_path: Path, below: str) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(BackupError) as caught:
        _take(production, blocker / below, None)
    assert caught.value.exit_code == 9
    assert caught.value.line() == (
        f"cannot write the backup to {blocker / below}: {blocker} is not a directory. "
        "Pass a --backup-dir this user can create files in (or --no-backup to apply without one)"
    )


UNWRITABLE = """
import sys
from pathlib import Path
from preflight.apply import backup
from preflight.errors import BackupError
try:
    backup.take(sys.argv[1], Path(sys.argv[2]), None, description="the target")
except BackupError as exc:
    print(exc.exit_code, exc.line())
"""


def test_a_backup_dir_the_user_cannot_write_is_refused(production: str, tmp_path: Path) -> None:
    directory = tmp_path / "readonly"
    directory.mkdir(mode=0o555)
    command = [sys.executable, "-c", UNWRITABLE, production, str(directory)]
    if os.geteuid() == 0:  # root writes anywhere: run the backup as root without its capabilities
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        command = [setpriv, "--bounding-set=-all", "--inh-caps=-all", *command]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.stdout.strip() == (
        f"9 cannot write the backup to {directory}: Permission denied. "
        "Pass a --backup-dir this user can create files in (or --no-backup to apply without one)"
    ), done.stderr
    assert list(directory.iterdir()) == []


@pytest.fixture
def tiny_disk() -> Iterator[Path]:
    """A 16 kB tmpfs (root only): room to start a backup, not to finish it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path = Path(tempfile.mkdtemp(prefix="backup-tmpfs-", dir="/tmp"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        path.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield path
    subprocess.run(["umount", str(path)], check=True)
    path.rmdir()


def test_a_full_disk_is_named_and_leaves_no_partial_backup(production: str, tiny_disk: Path) -> None:
    with pytest.raises(InfrastructureError) as caught:
        _take(production, tiny_disk, None)
    assert caught.value.exit_code == ExitCode.INFRASTRUCTURE
    assert re.fullmatch(
        rf"pg_dump of postgresql://backup_owner@\S+ could not write the backup: no space left on device in {tiny_disk}"
        r" \(.+ free of .+ after the failed write\)\. Free disk space there, or pass a --backup-dir on a bigger disk",
        caught.value.line(),
    ), caught.value.line()
    assert list(tiny_disk.iterdir()) == []


def test_a_wrong_password_is_a_backup_error_without_the_password(production: str, tmp_path: Path) -> None:
    wrong = production.replace(PASSWORD, "not-the-Backup-pw")
    with pytest.raises(BackupError, match="refused the password") as caught:
        _take(wrong, tmp_path / "out", None)
    assert "not-the-Backup-pw" not in caught.value.line() and PASSWORD not in caught.value.line()
    assert list((tmp_path / "out").iterdir()) == []


def test_toc_counts_skip_entries_without_a_catalog_object() -> None:
    listing = "\n".join(
        [
            ";",
            "; Selected TOC Entries:",
            "218; 1259 16573 TABLE public item owner",
            "3554; 0 16573 TABLE DATA public item owner",
            "3378; 0 0 TABLE ATTACH public item_1 owner",
            "3402; 0 0 INDEX ATTACH public item_1_idx owner",
            "3389; 1259 16583 INDEX public item_idx owner",
            "3406; 2606 16591 FK CONSTRAINT public item item_fk owner",
            "3391; 2606 16590 CONSTRAINT public item item_pkey owner",
            "225; 1259 16631 MATERIALIZED VIEW public mv owner",
            "3559; 0 16631 MATERIALIZED VIEW DATA public mv owner",
        ]
    )
    counts = backup.toc_counts(listing)
    assert {kind: n for kind, n in counts.items() if n} == {
        "TABLE": 1,
        "INDEX": 1,
        "FK CONSTRAINT": 1,
        "CONSTRAINT": 1,
        "MATERIALIZED VIEW": 1,
    }


def test_the_unfinished_file_a_killed_backup_left_is_removed_by_the_next(production: str, tmp_path: Path) -> None:
    database = production.rsplit("/", 1)[1]
    directory = tmp_path / "backups"
    directory.mkdir()
    stale = directory / f"{database}-20260101T000000Z.dump.partial"  # as a SIGKILL mid-pg_dump leaves it
    stale.write_bytes(b"PGDMP half")
    other = directory / "another_database-20260101T000000Z.dump.partial"  # not this database's: not ours
    other.write_bytes(b"PGDMP")
    # Same name on another server sharing the folder, its backup under way (it holds the flock): not ours.
    running = directory / f"{database}-20260101T000001Z.dump.partial"
    running.write_bytes(b"PGDMP")
    import fcntl

    with running.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        made = _take(production, directory, None)
    assert sorted(p.name for p in directory.iterdir()) == sorted([made.path.name, other.name, running.name])


def test_an_invalid_index_pg_dump_leaves_out_does_not_fail_the_check_and_the_file_is_private(
    production: str, tmp_path: Path
) -> None:
    """An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index, which pg_dump does not dump."""
    with psycopg.connect(production, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY leftover_idx ON orders ((id % 2))")
        assert conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'leftover_idx'::regclass"
        ).fetchone() == (False,)
        try:
            made = _take(production, tmp_path / "private", None)
        finally:
            conn.execute("DROP INDEX leftover_idx")
    assert made.objects == EXPECTED  # the invalid index counted on neither side
    assert made.path.stat().st_mode & 0o777 == 0o600 and made.path.parent.stat().st_mode & 0o777 == 0o700
