"""The local provider's cluster cache after a run killed mid-copy: nothing half-written is left for good.

A new pristine cluster is copied into the cache through a temp dir of the run's own, then
renamed into place. Killed mid-copy, the run's watchdog removes that dir; killed with its
watchdog, the next run's sweep does, and says so. A copy a live run is writing is kept.
Real files, a real `cp`, real SIGKILLs and the real `preflight` command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROJECTS
from preflight import janitor, watchdog

BOUND = 10.0  # seconds within which the watchdog must have removed it (well under one here)
SOURCE = Path(__file__).resolve().parents[1] / "entrypoint"
PASS_SLOW = ["--pass-env", "SLOW_MIGRATION_SECONDS"]
NEXT_RUN = ["preview", "--project", str(PROJECTS / "slow"), "--postgres", "local", *PASS_SLOW]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir big enough that copying it takes about a second here (20,000 files)."""
    data = tmp_path_factory.mktemp("cluster") / "data"
    for d in range(100):
        folder = data / "base" / str(d)
        folder.mkdir(parents=True)
        for f in range(200):
            (folder / str(f)).write_bytes(b"\0" * 100)
    (data / "PG_VERSION").write_text("16\n")
    return data


def _partials(cache: Path) -> list[Path]:
    return sorted(path for path in cache.iterdir() if "partial" in path.name) if cache.exists() else []


def _child(code: str, tmpdir_env: dict[str, str]) -> subprocess.Popen[str]:
    env = {**os.environ, **tmpdir_env, "PYTHONPATH": os.pathsep.join([str(SOURCE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)


def _storing(cluster: Path, cache: Path, tmpdir_env: dict[str, str]) -> tuple[subprocess.Popen[str], Path]:
    """Start a process that stores `cluster` in `cache` as the local provider does; return it once it copies."""
    code = (
        "from pathlib import Path; from preflight.postgres import local; "
        f"local._store(Path({str(cluster)!r}), Path({str(cache / 'cluster-test-0')!r}))"
    )
    child = _child(code, tmpdir_env)
    deadline = time.monotonic() + 60
    while not any((partial / "data").exists() for partial in _partials(cache)):
        assert child.poll() is None, "the copy ended before it was caught in progress"
        assert time.monotonic() < deadline, "no copy into the cache after 60 s"
        time.sleep(0.005)
    (partial,) = _partials(cache)
    return child, partial


def _kill_watchdog_of(pid: int) -> None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if ppid == pid and b"preflight.watchdog" in command:
            os.kill(int(entry.name), signal.SIGKILL)
            return
    raise AssertionError(f"process {pid} has no watchdog")


def test_the_watchdog_removes_a_copy_killed_midway(cluster: Path, tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    cache = tmp_path / "cache"
    child, partial = _storing(cluster, cache, tmpdir_env)
    child.kill()
    child.wait()
    deadline = time.monotonic() + BOUND
    while _partials(cache) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # the copy died with the run: nothing comes back after the removal
    assert _partials(cache) == [] and list(cache.iterdir()) == [], list(cache.iterdir())
    assert not partial.exists()


def test_next_run_removes_a_dead_runs_copy_and_keeps_a_live_ones(
    cluster: Path, tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    cache = tmp_path / "cache"
    # Killed with its watchdog (a cgroup-wide OOM kill): only the kernel acts, the copy stays.
    child, dead = _storing(cluster, cache, tmpdir_env)
    _kill_watchdog_of(child.pid)
    child.kill()
    child.wait()
    time.sleep(0.5)
    assert _partials(cache) == [dead] and not (cache / "cluster-test-0").exists()
    # A run still copying into the cache: another process, alive, with its own partial dir.
    code = f"import time; from preflight import janitor; print(janitor.make_dir('partial', {str(cache)!r}), flush=True)"
    live_run = _child(code + "; time.sleep(600)", tmpdir_env)
    try:
        assert live_run.stdout is not None
        live = Path(live_run.stdout.readline().strip())
        assert live.is_dir() and janitor.Owner.parse((live / janitor.MARKER).read_text()) is not None
        done = subprocess.run(
            [sys.executable, "-m", "preflight", *NEXT_RUN],
            capture_output=True,
            text=True,
            env={**os.environ, **tmpdir_env, "PREFLIGHT_CLUSTER_CACHE": str(cache), "SLOW_MIGRATION_SECONDS": "0"},
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        # Only this test's cache: the sweep also looks in /tmp, where other runs may have left things.
        removed = [line for line in done.stderr.splitlines() if "removed what" in line and str(cache) in line]
        assert len(removed) == 1, done.stderr
        assert removed[0].endswith(f" preflight: removed what a killed run left: temp dir {dead} (run {child.pid})")
        assert not dead.exists()
        assert live.is_dir() and watchdog.alive(live_run.pid)
        assert len(list(cache.glob("cluster-*"))) == 1  # the run cached its own cluster meanwhile
    finally:
        live_run.kill()
        live_run.wait()
