"""The migration lock on real PostgreSQL: one holder at a time, a bounded wait, the holder named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from preflight.apply.lock import APPLICATION_NAME, KEY, MigrationLock
from preflight.errors import ExitCode, LockedError, TargetError
from preflight.postgres.base import Server

PASSWORD = "Lock-s3cret-pw"
# A second process takes the lock, says its server pid, and holds it until its stdin closes.
HOLDER = """
import sys
from preflight.apply.lock import MigrationLock
with MigrationLock(sys.argv[1], 0) as lock:
    print(lock.backend_pid, flush=True)
    sys.stdin.read()
"""


@pytest.fixture(scope="module")
def target(pg: Server) -> Iterator[str]:
    """A database reached as a role with a password; yields its URL."""
    name = pg.create_database("locktarget")
    with pg.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE lock_deployer LOGIN PASSWORD {}").format(sql.Literal(PASSWORD)))
    yield f"postgresql://lock_deployer:{PASSWORD}@{pg.info.host}:{pg.info.port}/{name}"
    pg.drop_database(name)
    with pg.connect() as conn:
        conn.execute("DROP ROLE lock_deployer")


@pytest.fixture
def holder(target: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """Another process holding the lock; yields it and the pid of its connection."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, target], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip().isdigit(), f"the holder did not take the lock: {line!r}"
    yield process, int(line)
    if process.poll() is None:
        process.kill()
    process.wait()


def _release(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()


def test_a_second_apply_waits_and_gets_the_lock_when_it_is_released(
    target: str, holder: tuple[subprocess.Popen[str], int]
) -> None:
    process, pid = holder
    told: list[str] = []

    def waiting(who: str) -> None:
        told.append(who)
        _release(process)  # the first apply finishes while the second waits

    with MigrationLock(target, 30, on_wait=waiting) as lock:
        assert lock.held
        with psycopg.connect(target, autocommit=True) as conn:
            (owner,) = conn.execute(  # type: ignore[misc]
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = %s::oid",
                (KEY & 0xFFFFFFFF,),
            ).fetchone()
        assert owner == lock.backend_pid != pid
    assert len(told) == 1 and f"pid {pid} ({APPLICATION_NAME}, user lock_deployer" in told[0]
    assert lock.waited_seconds > 0 and not lock.held
    assert process.wait(timeout=10) == 0


def test_a_lock_held_past_the_wait_is_locked_error_naming_the_holder(
    target: str, holder: tuple[subprocess.Popen[str], int]
) -> None:
    _, pid = holder
    with pytest.raises(LockedError) as caught, MigrationLock(target, 0.6):
        pytest.fail("two holders of the migration lock at once")
    error = caught.value
    assert error.exit_code == ExitCode.LOCKED == 8
    line = error.line()
    assert "\n" not in line and PASSWORD not in line
    assert line.startswith("another migration holds the lock on postgresql://lock_deployer@")
    assert f"pid {pid} (preflight apply, user lock_deployer, from 127.0.0.1) since 20" in line
    assert line.endswith("Wait for that deploy to finish, or raise --wait")


def test_the_lock_goes_with_a_killed_holder(target: str, holder: tuple[subprocess.Popen[str], int]) -> None:
    process, _ = holder
    os.kill(process.pid, signal.SIGKILL)  # a deploy killed mid-apply: its connection, and lock, go with it
    process.wait()
    with MigrationLock(target, 30) as lock:
        assert lock.held


def test_the_lock_is_released_on_exit_and_can_be_taken_again(target: str) -> None:
    with MigrationLock(target, 0) as first:
        pid = first.backend_pid
    with MigrationLock(target, 0) as second:
        assert second.held and pid is not None


def test_an_unreachable_target_is_target_error() -> None:
    url = "postgresql://u:pw-unreachable@127.0.0.1:1/db"
    with pytest.raises(TargetError, match=r"^cannot reach the target postgresql://u@127\.0\.0\.1:1/db: ") as caught:
        MigrationLock(url, 1).__enter__()
    assert "pw-unreachable" not in caught.value.line()


def test_the_lock_survives_the_servers_idle_session_timeout_and_a_lost_one_is_said(pg: Server) -> None:
    """Managed servers end idle sessions: the lock's session sits idle while the migrations run."""
    import time

    name = pg.create_database("idlelock")
    url = pg.info.url(name)
    try:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("ALTER DATABASE {} SET idle_session_timeout = 500").format(sql.Identifier(name)))
        with MigrationLock(url, 0) as lock:
            time.sleep(1.5)  # three timeouts' worth of idleness
            assert lock.held
            lock.check()
            with psycopg.connect(url, autocommit=True) as other:
                assert other.execute("SELECT pg_try_advisory_lock(%s)", (KEY,)).fetchone() == (False,)
                other.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted")
            time.sleep(0.2)
            assert not lock.held
            with pytest.raises(TargetError, match=r"the migration lock on .* was lost: its session ended"):
                lock.check()
    finally:
        pg.drop_database(name)
