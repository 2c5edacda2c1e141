"""A throwaway cluster of this machine's PostgreSQL: initdb into a temp dir, run, delete.

Durability is switched off (fsync, synchronous_commit, full_page_writes): the data is
a copy that lives for one run. The server listens on a unix socket inside the temp dir
and on a free 127.0.0.1 port with a random password, so no other local user can read
the copy of production data. As root, the server runs as the `postgres` OS user
(initdb refuses root).

If Preflight is killed, the kernel sends the postmaster SIGQUIT (immediate shutdown) and
the watchdog removes the temp dir; see `preflight.janitor`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

from preflight import janitor, watchdog
from preflight import secrets as secret_registry
from preflight.disk import full_error, log_says_full, says_full
from preflight.environment import for_postgres
from preflight.errors import InfrastructureError
from preflight.postgres import binaries
from preflight.postgres.base import RESTORE_SETTINGS, Server, ServerInfo, database_url, server_version_num

SUPERUSER = "preflight"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    **RESTORE_SETTINGS,
    "listen_addresses": "127.0.0.1",
    "max_connections": "40",
    "logging_collector": "off",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalProvider:
    """Context manager: start a private cluster, yield a `Server`, remove it all."""

    def __init__(self, pg_bin: str | None = None, pg_user: str | None = None) -> None:
        self.bins = binaries.find(binaries.SERVER_PROGRAMS, pg_bin)
        self.run_as = self._run_as(pg_user)
        self.tmp: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.server: Server | None = None
        self._watch: str | None = None
        self._planned: tuple[int, str] | None = None  # the port and password url_ahead promised

    @staticmethod
    def _run_as(pg_user: str | None) -> pwd.struct_passwd | None:
        if pg_user is None and os.geteuid() != 0:
            return None
        name = pg_user or "postgres"
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise InfrastructureError(
                f"running as root but there is no OS user {name!r} to run PostgreSQL as",
                "create it (useradd --system postgres) or pass --pg-user NAME",
            ) from None

    def _as_user(self) -> dict[str, object]:
        """Popen arguments that run a child as the server's OS user, without root's groups."""
        if not self.run_as:
            return {}
        name, gid = self.run_as.pw_name, self.run_as.pw_gid
        return {"user": self.run_as.pw_uid, "group": gid, "extra_groups": os.getgrouplist(name, gid)}

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            args, capture_output=True, text=True, env=for_postgres(), **self._as_user(), **janitor.tied()
        )

    def _parent_dir(self) -> str:
        """Return a temp dir the server's OS user can reach (TMPDIR may be private to root)."""
        base = tempfile.gettempdir()
        if not self.run_as:
            return base
        for candidate in dict.fromkeys((base, *janitor.FALLBACK_TEMP_DIRS)):
            probe = subprocess.run(["test", "-x", candidate], **self._as_user())  # type: ignore[call-overload]
            if probe.returncode == 0:
                return candidate
        raise InfrastructureError(
            f"the {self.run_as.pw_name} OS user cannot reach the temp dir {base}",
            "let it traverse the path (chmod o+x) or set TMPDIR to a directory it can reach",
        )

    def url_ahead(self, dbname: str) -> str:
        """Return the URL `dbname` will have on this server once it runs.

        The port and the password are chosen now, so the probe can start (and Django set
        itself up) while the cluster is made. Should the port be taken by then, the server
        starts on another one and `Server.info` says which.
        """
        if self._planned is None:
            password = secrets.token_urlsafe(24)
            secret_registry.register(password)
            self._planned = (free_port(), password)
        port, password = self._planned
        return database_url("127.0.0.1", port, SUPERUSER, password, dbname)

    def __enter__(self) -> Server:
        try:
            return self._start()
        except BaseException:
            self._cleanup()
            raise

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._cleanup()

    def _start(self) -> Server:
        self.tmp = janitor.make_dir("pg", self._parent_dir())
        if self.run_as:
            os.chown(self.tmp, self.run_as.pw_uid, self.run_as.pw_gid)
        planned_port, password = self._planned or (None, secrets.token_urlsafe(24))
        secret_registry.register(password)
        data = self.tmp / "data"
        self._cluster(data)
        for attempt in range(3):
            port = planned_port if attempt == 0 and planned_port else free_port()
            if self._launch(data, port):
                break
            if attempt == 2:
                if log_says_full(self.tmp / "server.log"):
                    raise full_error("the throwaway PostgreSQL could not start", self.tmp.parent)
                raise InfrastructureError(
                    f"PostgreSQL did not start: {self._log_tail()}",
                    "check free disk space and memory, or use --postgres docker|external:URL",
                )
        self._set_password(port, password)
        info = ServerInfo("127.0.0.1", port, SUPERUSER, password, self._version(port, password), "local")
        self.server = Server(info, disk=self.tmp.parent, log=self.tmp / "server.log")
        return self.server

    def _cluster(self, data: Path) -> None:
        """Put a fresh cluster at `data`: a copy of the cached pristine one, else initdb (and cache it).

        initdb takes 0.5-2 s and its result is the same every time for one set of binaries
        and one OS user; copying it takes a tenth of that. The cached cluster holds no
        password (each run sets its own after the start) and no data.
        """
        cached = cluster_cache(self.bins.path("initdb"), self.run_as)
        if cached is not None and (cached / "PG_VERSION").exists():
            result = subprocess.run(["cp", "-a", str(cached), str(data)], capture_output=True, text=True)
            if result.returncode == 0:
                return
            if says_full(result.stderr):
                raise full_error("initdb could not write the throwaway cluster", data.parent.parent)
            if data.exists():  # an unreadable cache: make a new cluster
                janitor.remove_dir(data)
        result = self._run(
            [
                self.bins.path("initdb"),
                "--no-sync",
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        if result.returncode != 0:
            if says_full(result.stderr, result.stdout):
                raise full_error("initdb could not write the throwaway cluster", data.parent.parent)
            raise InfrastructureError(
                f"initdb failed: {_last_line(result.stderr)}",
                "check free disk space in the temp dir (TMPDIR) and that --pg-bin is a full server install",
            )
        if cached is not None:
            _store(data, cached)

    def _set_password(self, port: int, password: str) -> None:
        """Give the superuser this run's random password, over the private unix socket."""
        with psycopg.connect(host=str(self.tmp), port=port, user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER), sql.Literal(password)))

    def _launch(self, data: Path, port: int) -> bool:
        assert self.tmp is not None
        args = [self.bins.path("postgres"), "-D", str(data), "-p", str(port), "-k", str(self.tmp)]
        for key, value in SETTINGS.items():
            args += ["-c", f"{key}={value}"]
        log = open(self.tmp / "server.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            # A session of its own: Ctrl-C in the terminal reaches Preflight, which
            # then stops the server itself after the rest of the cleanup. SIGQUIT when
            # Preflight dies: immediate shutdown, which frees the shared memory too.
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=for_postgres(),  # the project is superuser here: COPY ... FROM PROGRAM sees this
                **self._as_user(),  # type: ignore[call-overload]
                **janitor.tied(signal.SIGQUIT),
            )
        finally:
            log.close()
        self._watch = janitor.watch(
            "process",
            pid=self.process.pid,
            start=watchdog.start_time(self.process.pid),
            signal="SIGQUIT",
            what="PostgreSQL server",
        )
        deadline = time.monotonic() + START_TIMEOUT
        socket_file = self.tmp / f".s.PGSQL.{port}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._stop_process()  # it exited: only forget it
                return False
            if socket_file.exists() and self._accepting(port):
                return True
            time.sleep(0.02)
        self._stop_process()
        return False

    def _accepting(self, port: int) -> bool:
        try:
            psycopg.connect(host=str(self.tmp), port=port, user=SUPERUSER, dbname="postgres", connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    def _version(self, port: int, password: str) -> int:
        with psycopg.connect(host="127.0.0.1", port=port, user=SUPERUSER, password=password, dbname="postgres") as conn:
            return server_version_num(conn)

    def _log_tail(self) -> str:
        assert self.tmp is not None
        try:
            lines = (self.tmp / "server.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no server log"
        errors = [line for line in lines if "FATAL" in line or "ERROR" in line or "PANIC" in line]
        return (errors or lines or ["no server log"])[-1]

    def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: disconnect clients, exit
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        janitor.forget(self._watch)
        self._watch = None

    def _cleanup(self) -> None:
        # Leaving nothing behind matters more than anything else here, and a second
        # Ctrl-C during cleanup must not leave a server running or files on disk.
        with _signals_deferred():
            self._stop_process()
            if self.tmp is not None:
                janitor.remove_dir(self.tmp)
                self.tmp = None


@contextlib.contextmanager
def _signals_deferred():  # type: ignore[no-untyped-def]
    """Hold SIGINT/SIGTERM until the block is done (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {sig: signal.signal(sig, lambda s, _f: pending.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for received in pending:
            handler = previous[signal.Signals(received)]
            if callable(handler):
                handler(received, None)
            elif received == signal.SIGINT:
                raise KeyboardInterrupt


def cluster_cache(initdb: str, run_as: pwd.struct_passwd | None) -> Path | None:
    """Where the pristine cluster of these binaries and this OS user is kept (None: no cache).

    $PREFLIGHT_CLUSTER_CACHE (empty: no cache), else $XDG_CACHE_HOME/preflight or
    ~/.cache/preflight. The key is initdb's path, its size and modification time, and the uid.
    """
    root = janitor.cache_dir()
    if root is None:
        return None
    try:
        stat = os.stat(initdb)
    except OSError:
        return None
    key = hashlib.sha256(f"{os.path.realpath(initdb)}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    uid = run_as.pw_uid if run_as else os.geteuid()
    return root / f"cluster-{key}-{uid}"


def _store(data: Path, cached: Path) -> None:
    """Copy a new cluster into the cache, atomically: a half-written one is never used."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        # A marked temp dir of this run: the watchdog, or the next run's sweep, removes it if we die mid-copy.
        partial = janitor.make_dir("partial", cached.parent)
        try:
            done = subprocess.run(["cp", "-a", str(data), str(partial / "data")], capture_output=True, **janitor.tied())
            if done.returncode == 0:
                os.rename(partial / "data", cached)
        finally:
            janitor.remove_dir(partial)
    except OSError:
        pass  # no cache (read-only home, a full disk, another run won the rename): initdb next time too


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
