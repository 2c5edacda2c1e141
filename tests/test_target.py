"""Each target source on real PostgreSQL: URL (read-only pg_dump), dump formats, bad dumps."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from preflight import environment, target
from preflight.errors import TargetError
from preflight.postgres import binaries
from preflight.postgres.base import Server

PASSWORD = "s3cret-Target-pw"


@pytest.fixture(scope="module")
def production(pg: Server) -> Iterator[str]:
    """A 'production' database owned by a role with a password; yields its URL."""
    name = pg.create_database("production")
    with pg.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE app_owner LOGIN PASSWORD {}").format(sql.Literal(PASSWORD)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO app_owner").format(sql.Identifier(name)))
    url = f"postgresql://app_owner:{PASSWORD}@{pg.info.host}:{pg.info.port}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE item (id serial PRIMARY KEY, label text NOT NULL)")
        conn.execute("INSERT INTO item (label) SELECT 'item ' || g FROM generate_series(1, 1000) g")
    yield url
    pg.drop_database(name)
    with pg.connect() as conn:
        conn.execute("DROP ROLE app_owner")


def _dump(pg: Server, url: str, tmp_path: Path, fmt: str) -> Path:
    bins = binaries.find(("pg_dump",))
    out = tmp_path / f"prod.{fmt}"
    env, conninfo = environment.for_pg_dump(url, target.READ_ONLY)
    subprocess.run([bins.path("pg_dump"), f"-F{fmt}", "-f", str(out), "-d", conninfo], env=env, check=True)
    return out


def _rows(pg: Server, database: str) -> int:
    with pg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM item").fetchone()
    assert row is not None
    return int(row[0])


def test_read_only_session_refuses_writes(production: str) -> None:
    with target.connect_read_only(production) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO item (label) VALUES ('written')")


def test_pg_dump_session_is_read_only(production: str) -> None:
    # pg_dump gets the same environment; psql with it shows what the session sees.
    env, conninfo = environment.for_pg_dump(production, target.READ_ONLY)
    psql = binaries.find(("psql",)).path("psql")
    shown = subprocess.run(
        [psql, "-XAtc", "SHOW default_transaction_read_only", conninfo],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "on"
    assert PASSWORD not in conninfo


def test_dump_url_and_restore(pg: Server, production: str, tmp_path: Path) -> None:
    dump = tmp_path / "target.dump"
    facts = target.dump_url(production, dump, None)
    assert facts.source == "url" and facts.dump_format == "custom"
    assert facts.server_version and facts.server_version.split(".")[0] == str(pg.info.major)
    assert facts.size_bytes and facts.size_bytes > 0
    assert PASSWORD not in facts.description and "app_owner@" in facts.description
    template, restored = target.restore(pg, dump, None, jobs=2)
    assert _rows(pg, template) == 1000
    assert restored.restore_seconds is not None
    pg.drop_database(template)


@pytest.mark.parametrize("fmt, expected", [("c", "custom"), ("d", "directory"), ("t", "tar"), ("p", "plain")])
def test_every_dump_format_restores(pg: Server, production: str, tmp_path: Path, fmt: str, expected: str) -> None:
    dump = _dump(pg, production, tmp_path, fmt)
    assert target.dump_format(dump) == expected
    fmt, version = target.inspect_dump(dump, None)
    assert fmt == expected and version is not None and version.split(".")[0] == str(pg.info.major)
    template, facts = target.restore(pg, dump, None, jobs=2)
    assert facts.dump_format == expected and facts.server_version == version
    assert _rows(pg, template) == 1000
    pg.drop_database(template)


def test_wrong_password_is_named_without_leaking_it(production: str, tmp_path: Path) -> None:
    wrong = production.replace(PASSWORD, "not-the-password")
    with pytest.raises(TargetError, match="refused the password") as caught:
        target.dump_url(wrong, tmp_path / "x.dump", None)
    assert "not-the-password" not in str(caught.value) and PASSWORD not in str(caught.value)


def test_unreachable_target(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot reach the target"):
        target.dump_url("postgresql://u:pw@127.0.0.1:1/db", tmp_path / "x.dump", None)


@pytest.mark.parametrize(
    "pg_dump_major, server, ok",
    [(15, 150018, True), (17, 160004, True), (14, 150018, False), (15, 170000, False), (15, 90624, True)],
)
def test_pg_dump_older_than_server(pg_dump_major: int, server: int, ok: bool) -> None:
    if ok:
        target.check_dump_version(pg_dump_major, server)
    else:
        with pytest.raises(TargetError, match=f"pg_dump {pg_dump_major} is older"):
            target.check_dump_version(pg_dump_major, server)


def test_local_pg_dump_version_is_read_from_the_real_binary() -> None:
    bins = binaries.find(("pg_dump",))
    out = subprocess.run([bins.path("pg_dump"), "--version"], capture_output=True, text=True).stdout
    assert bins.major() == int(out.split(")")[1].split(".")[0])


def test_truncated_custom_dump(pg: Server, production: str, tmp_path: Path) -> None:
    dump = _dump(pg, production, tmp_path, "c")
    data = dump.read_bytes()
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(TargetError, match=r"truncated|failed"):
        target.restore(pg, truncated, None, jobs=2)


def test_garbage_file_is_not_a_dump(pg: Server, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(TargetError, match="not a pg_dump archive"):
        target.restore(pg, garbage, None, jobs=2)


def test_broken_plain_sql(pg: Server, tmp_path: Path) -> None:
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE ok (n int);\nCREATE TABLE oops (n int;\n")
    with pytest.raises(TargetError, match="syntax error"):
        target.restore(pg, broken, None, jobs=2)


def test_missing_dump(pg: Server, tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="does not exist"):
        target.restore(pg, tmp_path / "nope.dump", None, jobs=2)
