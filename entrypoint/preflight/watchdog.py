"""Remove what a Preflight run made when that run dies, however it dies.

`preflight.janitor` starts this as `python -m preflight.watchdog` in a session of its
own, with the read end of a pipe as stdin; only the Preflight process holds the write
end. Preflight sends one JSON object a line:

    {"add": "3", "kind": "dir", "path": "/tmp/preflight-pg-..."}   before it makes the thing
    {"forget": "3"}                                                once it removed it itself

End of file means Preflight has exited, whatever ended it: the kernel closes the write
end of a SIGKILLed process as it does any other. After a clean run the list is empty;
after SIGKILL, an OOM kill or a cancelled CI job the watchdog removes what is on it,
newest first, says so in one line on stderr, and exits.

Standard library only (psycopg and docker are imported when a database or a container is
on the list), and nothing of Preflight: it starts in milliseconds and works whatever
state Preflight died in. `preflight.janitor` reuses these removers for the next run's
sweep of what a dead run left when its watchdog died with it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

GRACE = 5.0  # seconds a process gets to exit after its signal, before SIGKILL


def process_stat(pid: int) -> tuple[str, int] | None:
    """Return (state, start time in clock ticks since boot) from /proc, or None if no such process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[19])  # fields 3 and 22 of proc(5): the name in (...) may hold spaces


def start_time(pid: int) -> int | None:
    """Return when `pid` started (Linux), to tell it apart from a later process with its pid."""
    stat = process_stat(pid)
    return stat[1] if stat else None


def alive(pid: int, start: int | None = None) -> bool:
    """Return whether `pid` runs (a zombie does not) and, given `start`, is still that process."""
    if Path("/proc/self/stat").exists():
        stat = process_stat(pid)
        if stat is None or stat[0] in ("Z", "X"):
            return False
        return start is None or stat[1] == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _gone_within(pid: int, start: int | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid, start):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def stop_process(pid: int, start: int | None, sig: int = signal.SIGKILL) -> bool:
    """Send `sig` if the process is still the one that was registered; SIGKILL it if it lingers."""
    if not alive(pid, start):
        return False
    with suppress(ProcessLookupError):
        os.kill(pid, sig)
    if not _gone_within(pid, start, GRACE) and sig != signal.SIGKILL:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _gone_within(pid, start, GRACE)
    return True


def kill_group(pgid: int) -> bool:
    """SIGKILL a process group: a child that ran project code and whatever it started."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def remove_dir(path: str) -> bool:
    existed = os.path.lexists(path)
    shutil.rmtree(path, ignore_errors=True)
    return existed


def remove_worktree(repo: str, path: str) -> bool:
    """Remove one git worktree and its entry in the repository (never `git worktree prune`)."""
    done = subprocess.run(
        ["git", "-c", "safe.directory=*", "-C", repo, "worktree", "remove", "--force", path],
        capture_output=True,
    )
    return done.returncode == 0


def drop_database(conninfo: str, name: str) -> bool:
    import psycopg
    from psycopg import sql

    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        query = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        if conn.info.server_version >= 130000:
            query += sql.SQL(" WITH (FORCE)")  # a killed probe's statement may still run there
        else:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        conn.execute(query)
    return True


def remove_containers(label: str) -> bool:
    import docker

    client = docker.from_env(timeout=30)
    try:
        found = client.containers.list(all=True, filters={"label": label})
        for container in found:
            container.remove(force=True, v=True)
    finally:
        client.close()
    return bool(found)


REMOVERS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "process": lambda r: stop_process(r["pid"], r.get("start"), getattr(signal, r.get("signal", "SIGKILL"))),
    "group": lambda r: kill_group(r["pgid"]),
    "dir": lambda r: remove_dir(r["path"]),
    "worktree": lambda r: remove_worktree(r["repo"], r["path"]),
    "database": lambda r: drop_database(r["conninfo"], r["name"]),
    "containers": lambda r: remove_containers(r["label"]),
}


def describe(record: dict[str, Any]) -> str:
    kind = record.get("kind")
    if kind == "process":
        return f"{record.get('what', 'process')} pid {record['pid']}"
    if kind == "group":
        return f"{record.get('what', 'process group')} (group {record['pgid']})"
    if kind == "database":
        return f"database {record['name']}"
    if kind == "containers":
        return f"containers labelled {record['label']}"
    if kind == "dir":
        return f"temp dir {record['path']}"
    return f"git worktree {record.get('path')}"


def remove_all(held: dict[str, dict[str, Any]]) -> list[str]:
    """Remove what is held, newest first; one failure does not stop the rest."""
    removed = []
    for record in reversed(list(held.values())):
        remover = REMOVERS.get(str(record.get("kind")))
        if remover is None:
            continue
        try:
            if remover(record):
                removed.append(describe(record))
        except Exception as exc:
            removed.append(f"{describe(record)} (failed: {type(exc).__name__})")
    return removed


class _Terminated(Exception):
    pass


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _not_dumpable() -> None:
    # It is told external servers' connection strings: like Preflight itself, keep its
    # memory and /proc files from project code running as the same OS user (Linux).
    if sys.platform.startswith("linux"):
        with suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE


def main() -> None:
    _not_dumpable()
    owner = os.getppid()
    # Ctrl-C is for Preflight, which cleans up itself; whoever terminates the watchdog
    # itself wants the run's things gone, so SIGTERM ends the wait like end of file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    held: dict[str, dict[str, Any]] = {}
    try:
        for line in sys.stdin.buffer:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a line cut short by the kill
            if "forget" in message:
                held.pop(str(message["forget"]), None)
            elif "add" in message:
                held[str(message["add"])] = message
    except _Terminated:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if not held:
        return
    started = time.monotonic()
    removed = remove_all(held)
    if removed:
        with suppress(OSError, ValueError):
            sys.stderr.write(
                f"preflight: run {owner} ended without cleaning up; its watchdog removed "
                f"{', '.join(removed)} in {time.monotonic() - started:.2f}s\n"
            )
            sys.stderr.flush()


if __name__ == "__main__":
    main()
