"""One migrator at a time: a session-level PostgreSQL advisory lock on the target, with a bounded wait.

`preflight apply` and the route (`preflight.django`) take the same lock (`KEY`), so two
deploys, or a deploy and a click on the route, never migrate the same database at once.
The lock lives on a connection of its own, held for the whole apply: a session-level lock
survives the migrations' own commits and rollbacks, and a process that dies loses its
connection and with it the lock, so a crashed deploy never leaves the database locked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import psycopg

from preflight import secrets
from preflight.errors import LockedError, TargetError
from preflight.target.dumping import connection_error, describe_url

# The ASCII bytes "PRFLIGHT" read as a big-endian bigint (0x5052464C49474854). Fixed forever:
# every Preflight version, CLI or route, must exclude every other one. pg_locks shows a bigint
# advisory lock as classid = its high 32 bits, objid = its low 32 bits, objsubid = 1.
KEY = 5787765764585375828
APPLICATION_NAME = "preflight apply"
POLL_SECONDS = 0.2
WAIT_FIX = "wait for that deploy to finish, or raise --wait"

_HOLDER = """
SELECT l.pid, a.application_name, a.usename, host(a.client_addr), a.client_hostname,
       CASE WHEN a.state = 'idle' THEN a.state_change ELSE a.backend_start END
FROM pg_locks l
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid = %s::oid AND l.objid = %s::oid
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
LIMIT 1
"""


@dataclass(frozen=True)
class Holder:
    """Who holds the migration lock, as pg_stat_activity shows them (fields a role may not see are None)."""

    pid: int
    application_name: str | None
    user: str | None
    client: str | None  # address (or host name) it connected from; None for a local socket
    since: datetime | None  # idle: since its last statement (a lock connection: the lock); busy: since it connected

    def describe(self) -> str:
        """Return e.g. 'pid 4242 (preflight apply, user deploy, from 10.0.0.5) since 14:02:11 UTC'."""
        about = [self.application_name or "no application_name"]
        if self.user:
            about.append(f"user {self.user}")
        about.append(f"from {self.client}" if self.client else "local socket")
        since = f" since {self.since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        return secrets.redact(f"pid {self.pid} ({', '.join(about)}){since}")


_MINE = """
SELECT count(*) > 0 FROM pg_locks
WHERE locktype = 'advisory' AND classid = %s::oid AND objid = %s::oid AND objsubid = 1 AND granted
  AND pid = pg_backend_pid()
"""


class MigrationLock:
    """Hold the target's migration lock for the `with` block; wait at most `wait_seconds` for it.

    `on_wait` is told once, with who holds the lock, when the first attempt finds it taken.
    Raises LockedError (exit 8) naming the holder when the wait runs out, TargetError when
    the target cannot be reached.
    """

    def __init__(self, conninfo: str, wait_seconds: float, *, on_wait: Callable[[str], None] | None = None) -> None:
        secrets.register_url(conninfo)
        self.conninfo = conninfo
        self.wait_seconds = max(0.0, wait_seconds)
        self.on_wait = on_wait
        self.waited_seconds = 0.0
        self._conn: psycopg.Connection | None = None

    def __enter__(self) -> MigrationLock:
        description = describe_url(self.conninfo)
        try:
            # Keepalives: the connection sits idle while the migrations run on another one, and
            # a network that drops idle connections would take the lock with it.
            conn = psycopg.connect(
                self.conninfo,
                autocommit=True,
                application_name=APPLICATION_NAME,
                connect_timeout=10,
                keepalives=1,
                keepalives_idle=30,
            )
        except psycopg.OperationalError as exc:
            raise connection_error(exc, description, "check host, port and network access to the target") from None
        except psycopg.ProgrammingError:
            raise TargetError(
                f"the target URL {description} does not parse", "use postgresql://user@host:port/dbname"
            ) from None
        try:
            # The server's idle_session_timeout (PostgreSQL 14+, often set by managed services)
            # would end this idle session, and the lock with it, in the middle of the migrations.
            if conn.info.server_version >= 140000:
                conn.execute("SET idle_session_timeout = 0")
            self._acquire(conn, description)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return self

    def _acquire(self, conn: psycopg.Connection, description: str) -> None:
        started = time.monotonic()
        deadline = started + self.wait_seconds
        told = False
        try:
            while True:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (KEY,)).fetchone()
                if row is not None and row[0]:
                    self.waited_seconds = time.monotonic() - started
                    return
                holder = self.holder(conn)
                if self.on_wait is not None and not told:
                    self.on_wait(holder)
                    told = True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.waited_seconds = time.monotonic() - started
                    raise LockedError(
                        f"another migration holds the lock on {description}: {holder} "
                        f"(waited {self.waited_seconds:.1f} s)",
                        WAIT_FIX,
                    )
                time.sleep(min(POLL_SECONDS, remaining))
        except psycopg.OperationalError as exc:
            raise connection_error(exc, description, "check the target is up and reachable, then retry") from None

    @staticmethod
    def holder(conn: psycopg.Connection) -> str:
        """Return who holds the lock now, in words (the holder may be gone by the time it is read)."""
        row = conn.execute(_HOLDER, (KEY >> 32, KEY & 0xFFFFFFFF)).fetchone()
        if row is None:
            return "a session that has just released it"
        pid, application_name, user, address, hostname, since = row
        return Holder(pid, application_name or None, user, hostname or address, since).describe()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (KEY,))
        except psycopg.Error:
            pass  # the connection is gone, and the lock went with it
        finally:
            conn.close()

    @property
    def backend_pid(self) -> int | None:
        """Return the server process of the connection holding the lock (what pg_locks shows), or None."""
        return self._conn.info.backend_pid if self._conn is not None else None

    @property
    def held(self) -> bool:
        """Return whether the server still shows the lock granted to this session."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            row = self._conn.execute(_MINE, (KEY >> 32, KEY & 0xFFFFFFFF)).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    def check(self) -> None:
        """Raise TargetError if the lock was lost (its session ended): another apply could be migrating."""
        if not self.held:
            raise TargetError(
                f"the migration lock on {describe_url(self.conninfo)} was lost: its session ended "
                "(a server timeout, a connection pooler or the network)",
                "connect directly or through a session-mode pooler, then apply again; "
                "the audit record says what was applied",
            )
