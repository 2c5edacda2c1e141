"""What every provider hands out: connection facts and scratch databases."""

from __future__ import annotations

import secrets as _random
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from preflight import janitor
from preflight.disk import server_full
from preflight.errors import InfrastructureError

NAME_LIMIT = 63  # PostgreSQL truncates longer identifiers (NAMEDATALEN - 1)
# For a cluster that is restored into once and lives for one run: index builds of the
# restore in memory, no checkpoint in the middle of it, and no autovacuum worker
# vacuuming the freshly loaded tables while the migrations run (it competes for the
# CPUs, and its lock makes DDL wait until it gives up: noise in what the copy measures;
# the restore runs ANALYZE itself). wal_level stays as in production: with `minimal`
# a table rewrite or index build would skip WAL here and look faster than it will be.
RESTORE_SETTINGS = {
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",
}


@dataclass(frozen=True)
class ServerInfo:
    """How to reach a throwaway server. The password never shows in repr()."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    version_num: int
    provider: str

    @property
    def major(self) -> int:
        return self.version_num // 10000

    @property
    def version(self) -> str:
        return f"{self.major}.{self.version_num % 10000}"

    def conninfo(self, dbname: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname
        )

    def url(self, dbname: str) -> str:
        """Return a DATABASE_URL for the probe (it stays in the child's environment)."""
        return database_url(self.host, self.port, self.user, self.password, dbname)

    def client_env(self) -> dict[str, str]:
        """Return libpq variables for pg_restore/psql (password via env, never argv)."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
        }


def database_url(host: str, port: int, user: str, password: str, dbname: str) -> str:
    """Return the postgresql:// URL of `dbname`, every part quoted."""
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return f"postgresql://{auth}@{quote(host, safe='')}:{port}/{quote(dbname, safe='')}"


def unique_name(prefix: str) -> str:
    """Return preflight_<host>_<pid>_<prefix>_<random>: whose it is shows in the name (at most 63 bytes)."""
    owner = janitor.me()
    name = f"preflight_{owner.host}_{owner.pid}_{prefix[:10]}_{_random.token_hex(6)}"
    assert len(name.encode()) <= NAME_LIMIT, name
    return name


class Server:
    """A running server from which scratch databases are made and dropped.

    With `watched` (a server that outlives Preflight: external), each scratch database
    is registered with the watchdog before it is created, so it is dropped even if
    Preflight is killed. Every scratch database carries its owner mark as its COMMENT,
    which is what `sweep` goes by. `disk` and `log` (a server on this machine) let a full
    disk be named as such.
    """

    def __init__(
        self, info: ServerInfo, watched: bool = False, disk: Path | None = None, log: Path | None = None
    ) -> None:
        self.info = info
        self.created: list[str] = []
        self.watched = watched
        self.swept: list[str] = []  # what the start-of-run sweep removed, for the progress log
        self._keys: dict[str, str] = {}
        self.disk = disk  # the directory its data lives in, when on this machine (for a full disk)
        self.log = log  # its log file, when on this machine

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.info.conninfo(dbname), autocommit=True, connect_timeout=10)

    def create_database(self, prefix: str = "db", template: str | None = None, name: str | None = None) -> str:
        """Create a uniquely named database (a copy of `template` when given).

        `name`: one `unique_name(prefix)` gave earlier (a probe started before the server
        was told the URL it will find the database at).
        """
        name = name or unique_name(prefix)
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            # FILE_COPY copies the files instead of WAL-logging every block: much
            # faster for a large copy on a server whose crash safety we do not need.
            if self.info.major >= 15:
                query += sql.SQL(" STRATEGY FILE_COPY")
        key = janitor.watch("database", conninfo=self.info.conninfo(), name=name) if self.watched else None
        try:
            with self.connect() as conn:
                conn.execute(query)
                conn.execute(
                    sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                        sql.Identifier(name), sql.Literal(janitor.me().text())
                    )
                )
        except psycopg.Error as exc:
            janitor.forget(key)
            full = server_full(self, f"creating a scratch database on the {self.info.provider} server", str(exc))
            if full is not None:
                raise full from None
            raise InfrastructureError(
                f"could not create scratch database on the {self.info.provider} server: {_first_line(exc)}",
                "check the server has room and the user may CREATE DATABASE",
            ) from None
        self.created.append(name)
        if key is not None:
            self._keys[name] = key
        return name

    def drop_database(self, name: str) -> None:
        if name not in self.created:
            raise ValueError(f"refusing to drop {name!r}: Preflight did not create it")
        self._drop(name)
        self.created.remove(name)
        janitor.forget(self._keys.pop(name, None))

    def _drop(self, name: str) -> None:
        query = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        if self.info.major >= 13:
            query += sql.SQL(" WITH (FORCE)")
        with self.connect() as conn:
            conn.execute(query)

    def drop_all(self) -> None:
        for name in list(reversed(self.created)):
            self.drop_database(name)

    def sweep(self) -> list[str]:
        """Drop scratch databases whose owner died on this machine; return a line for each.

        Only databases named preflight_<this host>_<pid>_... whose COMMENT is the owner
        mark of that pid; never another database, whatever its name.
        """
        host = janitor.me().host
        try:
            with self.connect() as conn:
                rows = conn.execute(
                    "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname LIKE %s",
                    (f"preflight\\_{host}\\_%",),
                ).fetchall()
        except psycopg.Error:
            return self.swept  # the run itself will say what is wrong with the server
        for name, comment in rows:
            owner = janitor.Owner.parse(comment)
            if owner is None or not name.startswith(f"preflight_{owner.host}_{owner.pid}_") or not owner.dead_here():
                continue
            try:
                self._drop(name)
            except psycopg.Error as exc:
                self.swept.append(f"could not drop database {name} of run {owner.pid}: {_first_line(exc)}")
                continue
            self.swept.append(f"database {name} (run {owner.pid})")
        return self.swept


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def server_version_num(conn: psycopg.Connection) -> int:
    row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0])
