"""Nothing left behind even after SIGKILL: the kernel, the watchdog, then the next run's sweep.

Each test runs the real `preflight` command, waits for a phase through its progress lines
on stderr, SIGKILLs it (what the OOM killer and a cancelled CI job do), and checks that
within a bounded wait nothing it started still runs and nothing it made is left. The
times from SIGKILL to the server being gone are printed (`pytest -s`), not asserted.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from psycopg import sql

from conftest import PROJECTS, leftovers
from preflight import janitor, postgres, watchdog
from preflight.postgres.base import Server
from preflight.postgres.local import LocalProvider

# Project code sees only the variables it is given: the runs that must get through the
# slow migration pass its switch.
PASS_SLOW = ["--pass-env", "SLOW_MIGRATION_SECONDS"]
BOUND = 10.0  # seconds within which everything must be gone (it takes well under one here)


class Run:
    """The real `preflight` command in a child process, its stderr read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "preflight", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:  # until the watchdog, which shares it, is gone too
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_for(self, ready: Callable[[], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.poll() is None, f"preflight ended before {what}:\n{self.stderr}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.stderr}"
            time.sleep(0.05)

    def printed(self, text: str) -> Callable[[], bool]:
        return lambda: text in self.stderr

    def sigkill(self, watchdog_too: bool = False) -> tuple[float, dict[int, tuple[int, str]]]:
        """SIGKILL Preflight (and its watchdog first if asked); return the time and what it had started."""
        started = descendants(self.process.pid)
        if watchdog_too:
            (guard,) = [pid for pid, (_, cmd) in started.items() if "preflight.watchdog" in cmd]
            os.kill(guard, signal.SIGKILL)
        killed_at = time.monotonic()
        self.process.kill()
        self.process.wait()
        return killed_at, started


def descendants(root: int) -> dict[int, tuple[int, str]]:
    """Every process below `root`: pid -> (start time, command line)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, tuple[int, str]] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        start = watchdog.start_time(pid)
        try:
            cmd = (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")).decode(errors="replace")
        except OSError:
            continue
        if start is not None:
            found[pid] = (start, cmd)
        todo += children.get(pid, [])
    return found


def running(processes: dict[int, tuple[int, str]]) -> list[str]:
    return [cmd for pid, (start, cmd) in processes.items() if watchdog.alive(pid, start)]


def within(bound: float, gone: Callable[[], bool]) -> float | None:
    """Poll until `gone()`; return the seconds it took, or None past `bound`."""
    started = time.monotonic()
    while not gone():
        if time.monotonic() - started > bound:
            return None
        time.sleep(0.005)
    return time.monotonic() - started


def check_all_gone(label: str, run: Run, killed_at: float, started: dict[int, tuple[int, str]], tmpdir: Path) -> None:
    """Assert the server, the probe, every other child and every temp dir go within BOUND; print when."""
    servers = {pid: p for pid, p in started.items() if "postgres" in p[1] and " -D " in p[1]}
    assert within(BOUND, lambda: not running(servers)) is not None, running(servers)
    server_at = time.monotonic() - killed_at
    everything = within(BOUND, lambda: not running(started) and not leftovers(tmpdir))
    assert everything is not None, f"still running: {running(started)}; left: {leftovers(tmpdir)}\n{run.stderr}"
    total = time.monotonic() - killed_at
    server = f"server gone {server_at:.3f} s after SIGKILL, " if servers else ""
    print(f"\n{label}: {server}everything gone {total:.3f} s after")
    leftover_servers = subprocess.run(["pgrep", "-f", str(tmpdir)], capture_output=True, text=True)
    assert leftover_servers.stdout.strip() == ""


def test_sigkill_during_restore(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    dump = tmp_path / "slow.sql"  # a plain-SQL dump that takes a minute to replay
    dump.write_text("CREATE TABLE t (n int);\nSELECT pg_sleep(60);\n")
    project = PROJECTS / "slow"
    run = Run(["preview", "--project", str(project), "--postgres", "local", "--target-dump", str(dump)], tmpdir_env)
    run.wait_for(run.printed("restoring slow.sql"), "restore")
    run.wait_for(lambda: any("slow.sql" in cmd for _, cmd in descendants(run.process.pid).values()), "psql")
    killed_at, started = run.sigkill()
    assert any(cmd.startswith(sys.executable) and "preflight.watchdog" in cmd for _, cmd in started.values())
    assert any("psql" in cmd for _, cmd in started.values()), started
    check_all_gone("SIGKILL during restore", run, killed_at, started, Path(tmpdir_env["TMPDIR"]))


@pytest.fixture
def external(pg: Server) -> str:
    """The session server, used as the user's external scratch server."""
    return pg.info.url("postgres")


def _databases_of(pg: Server, pid: int) -> list[str]:
    with pg.connect() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"preflight\\_%\\_{pid}\\_%",)
        ).fetchall()
    return [name for (name,) in rows]


def _sleeping(pg: Server, pid: int) -> int:
    """Sessions still running the slow migration in a scratch database of run `pid`."""
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE %s AND query LIKE '%%pg_sleep%%'",
            (f"preflight\\_%\\_{pid}\\_%",),
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("provider", ["local", "external"])
def test_sigkill_during_apply(provider: str, pg: Server, external: str, tmpdir_env: dict[str, str]) -> None:
    where = "local" if provider == "local" else f"external:{external}"
    run = Run(["preview", "--project", str(PROJECTS / "slow"), "--postgres", where], tmpdir_env)
    run.wait_for(run.printed("applying to the copy 2/3: ledger.0002_slow"), "the slow migration")
    killed_at, started = run.sigkill()
    probes = [cmd for _, cmd in started.values() if "-m _preflight_probe" in cmd]
    assert probes, started
    check_all_gone(f"SIGKILL during apply ({provider})", run, killed_at, started, Path(tmpdir_env["TMPDIR"]))
    if provider == "external":
        assert within(BOUND, lambda: not _databases_of(pg, run.process.pid)) is not None
        assert _sleeping(pg, run.process.pid) == 0
    assert f"preflight: run {run.process.pid} ended without cleaning up; its watchdog removed" in run.stderr


def test_sigkill_during_test_command(tmpdir_env: dict[str, str]) -> None:
    # The user's checks start a worker of their own: it goes with their process group.
    checks = "import subprocess, time; subprocess.Popen(['sleep', '600']); time.sleep(600)"
    command = f'{sys.executable} -c "{checks}"'
    args = ["preview", "--project", str(PROJECTS / "slow"), "--postgres", "local", "--test-command", command]
    args += PASS_SLOW
    run = Run(args, {**tmpdir_env, "SLOW_MIGRATION_SECONDS": "0"})
    run.wait_for(run.printed("running "), "the test command")
    run.wait_for(lambda: any(cmd == "sleep 600 " for _, cmd in descendants(run.process.pid).values()), "its worker")
    killed_at, started = run.sigkill()
    check_all_gone("SIGKILL during --test-command", run, killed_at, started, Path(tmpdir_env["TMPDIR"]))


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _worktrees(repo: Path) -> list[str]:
    return [
        line.split(" ", 1)[1]
        for line in _git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


@pytest.fixture
def slow_repo(tmp_path: Path) -> Path:
    """A git repo whose base commit holds the slow migration and whose HEAD adds ledger 0003."""
    repo = tmp_path / "repo"
    project = repo / "app"
    shutil.copytree(PROJECTS / "slow", project, ignore=shutil.ignore_patterns("__pycache__"))
    newest = project / "ledger" / "migrations" / "0003_entry_note.py"
    text = newest.read_text()
    newest.unlink()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    newest.write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "head")
    return project


def _probes(run: Run) -> list[tuple[str, str]]:
    """(working directory, command line) of each probe session below the run."""
    found = []
    for pid, (_, cmd) in descendants(run.process.pid).items():
        if "-m _preflight_probe" in cmd:
            try:
                found.append((os.readlink(f"/proc/{pid}/cwd"), cmd))
            except OSError:
                continue
    return found


def _in_baseline(run: Run, repo: Path) -> Callable[[], bool]:
    """True once the base worktree exists and its probe (not the copy's, in `repo`) runs."""
    return lambda: len(_worktrees(repo)) == 2 and any(Path(cwd) != repo.resolve() for cwd, _ in _probes(run))


def test_sigkill_during_base_ref(slow_repo: Path, tmpdir_env: dict[str, str]) -> None:
    run = Run(["preview", "--project", str(slow_repo), "--postgres", "local", "--base-ref", "HEAD~1"], tmpdir_env)
    run.wait_for(run.printed("migrating an empty database with the code at HEAD~1"), "the baseline")
    run.wait_for(_in_baseline(run, slow_repo), "the base worktree's probe")
    killed_at, started = run.sigkill()
    check_all_gone("SIGKILL during --base-ref", run, killed_at, started, Path(tmpdir_env["TMPDIR"]))
    assert within(BOUND, lambda: len(_worktrees(slow_repo)) == 1) is not None, _worktrees(slow_repo)
    assert not (slow_repo.parent / ".git" / "worktrees").exists() or not any(
        (slow_repo.parent / ".git" / "worktrees").iterdir()
    )


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_next_run_removes_only_what_dead_runs_left(
    slow_repo: Path, pg: Server, external: str, tmpdir_env: dict[str, str]
) -> None:
    tmpdir = Path(tmpdir_env["TMPDIR"])
    repo = slow_repo.parent
    args = ["preview", "--project", str(slow_repo), "--postgres", f"external:{external}", "--base-ref", "HEAD~1"]
    # A run whose watchdog dies with it (a cgroup-wide OOM kill): only the kernel's
    # parent-death signal acts, and the dirs, the worktree and the database stay.
    dead = Run(args, tmpdir_env)
    dead.wait_for(lambda: _sleeping(pg, dead.process.pid) == 1, "the base code's slow migration")
    _, started = dead.sigkill(watchdog_too=True)
    assert within(BOUND, lambda: not running(started)) is not None, running(started)
    left_dirs = leftovers(tmpdir)
    # The probe answers over pipes: it has no temp dir of its own.
    assert [name.split("-")[1] for name in left_dirs] == ["base", "run"], left_dirs
    assert len(_worktrees(repo)) == 2
    assert len(_databases_of(pg, dead.process.pid)) == 1
    assert _sleeping(pg, dead.process.pid) == 1  # its backend sleeps on, with nobody waiting

    # What must survive: a live run's dir and database, things that only look like ours,
    # and the user's own stale worktree (`git worktree prune` would remove it).
    here = janitor.me()
    sleeper = subprocess.Popen(["sleep", "600"])
    live = janitor.Owner(here.host, sleeper.pid, watchdog.start_time(sleeper.pid), here.scope)
    live_dir = tmpdir / f"preflight-run-{here.host}-{sleeper.pid}-aaaaaaaaaaaa"
    live_dir.mkdir()
    (live_dir / janitor.MARKER).write_text(live.text())
    unmarked_dir = tmpdir / f"preflight-run-{here.host}-{_dead_pid()}-bbbbbbbbbbbb"
    unmarked_dir.mkdir()
    kept = {
        f"preflight_{here.host}_{sleeper.pid}_copy_live": live.text(),
        f"preflight_{here.host}_{_dead_pid()}_copy_unmarked": None,
        "preflight_something": None,
    }
    with pg.connect() as conn:
        for name, comment in kept.items():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            if comment:
                conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(comment)))
    users_own = repo.parent / "users-own-worktree"
    _git(repo, "worktree", "add", "--detach", "-q", str(users_own), "HEAD")
    shutil.rmtree(users_own)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "preflight", *args, *PASS_SLOW],
            capture_output=True,
            text=True,
            env={**os.environ, **tmpdir_env, "SLOW_MIGRATION_SECONDS": "0"},
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        removed = [line for line in done.stderr.splitlines() if "removed what a killed run left" in line]
        assert len(removed) == 3, done.stderr  # two temp dirs (one held the worktree), the database
        assert any(f"the git worktree it held in {repo}" in line for line in removed), removed
        assert any(f"database preflight_{here.host}_{dead.process.pid}_copy_" in line for line in removed)
        assert sorted(leftovers(tmpdir)) == sorted([live_dir.name, unmarked_dir.name])
        assert _worktrees(repo) == [str(repo), str(users_own)]
        assert _databases_of(pg, dead.process.pid) == [] and _sleeping(pg, dead.process.pid) == 0
        with pg.connect() as conn:
            names = {row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()}
        assert set(kept) <= names
    finally:
        sleeper.kill()
        sleeper.wait()
        with pg.connect() as conn:
            for name in kept:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def test_sweep_stops_a_server_left_running(monkeypatch: pytest.MonkeyPatch, tmpdir_env: dict[str, str]) -> None:
    # Where neither the kernel nor the watchdog could act (not Linux, and the watchdog
    # killed too), the next run finds the server still running in a dead run's dir.
    monkeypatch.setattr(tempfile, "tempdir", tmpdir_env["TMPDIR"])  # out of other runs' sweeps
    provider = LocalProvider()
    with provider:
        assert provider.tmp is not None and provider.process is not None
        data, postmaster = provider.tmp / "data", provider.process.pid
        here = janitor.me()
        dead = _dead_pid()
        (provider.tmp / janitor.MARKER).write_text(janitor.Owner(here.host, dead, None, here.scope).text())
        removed = [line for line in janitor.sweep_dirs() if tmpdir_env["TMPDIR"] in line]
        assert removed == [f"temp dir {provider.tmp} (run {dead}), the PostgreSQL server still running in it"]
        assert not watchdog.alive(postmaster) and not data.exists()


def _containers_of(pid: int) -> list[str]:
    import docker

    client = docker.from_env()
    try:
        found = client.containers.list(all=True, filters={"label": "preflight.owner"})
        return [
            c.short_id
            for c in found
            if (owner := janitor.Owner.parse(c.labels["preflight.owner"])) and owner.pid == pid
        ]
    finally:
        client.close()


@pytest.mark.skipif(not postgres.docker_available(), reason="no Docker-API engine answers (scripts/podman-engine.sh)")
def test_sigkill_with_docker(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    # The tests run Podman with Ryuk disabled: the watchdog alone removes the container.
    dump = tmp_path / "slow.sql"
    dump.write_text("CREATE TABLE t (n int);\nSELECT pg_sleep(60);\n")
    docker = ["--postgres", "docker", "--image", "postgres:15"]  # the image scripts/podman-engine.sh builds
    args = ["preview", "--project", str(PROJECTS / "slow"), *docker, "--target-dump", str(dump)]
    run = Run(args, tmpdir_env)
    run.wait_for(run.printed("restoring slow.sql"), "restore")
    assert len(_containers_of(run.process.pid)) == 1
    killed_at, started = run.sigkill()
    gone = within(BOUND, lambda: not _containers_of(run.process.pid))
    assert gone is not None, run.stderr
    print(f"\nSIGKILL with docker: container gone {time.monotonic() - killed_at:.3f} s after SIGKILL")
    assert within(BOUND, lambda: not running(started) and not leftovers(Path(tmpdir_env["TMPDIR"]))) is not None

    # With its watchdog killed too, the container stays until the next run removes it.
    dead = Run(args, tmpdir_env)
    dead.wait_for(dead.printed("restoring slow.sql"), "restore")
    dead.sigkill(watchdog_too=True)
    time.sleep(1)
    (left,) = _containers_of(dead.process.pid)
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "preview", "--project", str(PROJECTS / "slow"), *docker, *PASS_SLOW],
        capture_output=True,
        text=True,
        env={**os.environ, **tmpdir_env, "SLOW_MIGRATION_SECONDS": "0"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"removed what a killed run left: container {left} (run {dead.process.pid})" in done.stderr
    assert _containers_of(dead.process.pid) == []
