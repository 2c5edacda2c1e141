"""Leave nothing behind, however Preflight ends: even SIGKILL, an OOM kill, a cancelled CI job.

Three layers, each for what the one before cannot do:

1. Context managers (the providers, `temp_dir`, `baseline.worktree`) remove everything
   on success, on errors, on Ctrl-C and on SIGTERM.
2. When Preflight dies without running them:
   - every child gets PR_SET_PDEATHSIG on Linux (`tied`): the kernel signals it the moment
     Preflight's thread dies. The local postmaster gets SIGQUIT (immediate shutdown, which
     also frees its shared memory); pg_dump, pg_restore, psql, initdb and the children
     that run the project's code (probe, --test-command) get SIGKILL;
   - a watchdog process (`preflight.watchdog`) holds the read end of a pipe whose write
     end only Preflight holds. Everything is registered with it before it is made
     (`watch`/`forget`); at end of file it stops what is still listed: the server, the
     project's process groups (grandchildren included), temp dirs, the `--base-ref` git
     worktree, scratch databases on an external server, containers.
3. The next run sweeps what a dead run left when its watchdog died too (`sweep_dirs`,
   `Server.sweep`, the docker provider, `baseline`): only things that carry an owner mark
   of this machine whose process is gone. That includes a half-written copy into the
   cluster cache (`cache_dir`): it is written into a temp dir of ours, then renamed.

Owner marks: temp dirs are named `preflight-<kind>-<host>-<pid>-<random>` and hold a
`.preflight-owner` file; scratch databases are named `preflight_<host>_<pid>_...` and
carry the mark as their COMMENT; containers as a label. The mark says host, pid, the
process's start time (so a reused pid is not mistaken for the owner) and the kernel
boot and pid namespace the pid belongs to (so a container's pid 7 is not this one's).
Something is swept only when its mark is readable, names this machine and its owner is
gone; never anything else.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from preflight import watchdog
from preflight.environment import FORBIDDEN
from preflight.secrets import carried_by

MARKER = ".preflight-owner"
FALLBACK_TEMP_DIRS = ("/tmp", "/var/tmp")  # where the local server's dir goes when TMPDIR is private
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Owner:
    """The process a run's things belong to."""

    host: str  # the machine's name as names and labels carry it: [a-z0-9], at most 16
    pid: int
    start: int | None  # the process's start time (Linux clock ticks since boot)
    scope: str | None  # kernel boot and pid namespace in which `pid` means this process

    def text(self, **extra: Any) -> str:
        return json.dumps({"preflight-owner": 1, **asdict(self), **extra}, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        """Return the owner a mark names, or None for anything that is not our mark."""
        try:
            data = json.loads(text or "")
            if not isinstance(data, dict) or data.get("preflight-owner") != 1:
                return None
            start, scope = data.get("start"), data.get("scope")
            return cls(str(data["host"]), int(data["pid"]), None if start is None else int(start), scope)
        except (ValueError, KeyError, TypeError):
            return None

    def dead_here(self) -> bool:
        """Return whether this mark names this machine and its process is gone."""
        here = me()
        if (self.host, self.scope) != (here.host, here.scope):
            return False  # another machine, an earlier boot or another container: we cannot tell
        return not watchdog.alive(self.pid, self.start)


def host_token(name: str | None = None) -> str:
    return re.sub(r"[^a-z0-9]", "", (name or socket.gethostname()).lower())[:16] or "host"


def _scope() -> str | None:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")
        return f"{boot}:{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return None


@cache
def _owner(pid: int) -> Owner:
    return Owner(host_token(), pid, watchdog.start_time(pid), _scope())


def me() -> Owner:
    """Return this process's owner mark."""
    return _owner(os.getpid())


# -- the watchdog ------------------------------------------------------------------------

_lock = threading.Lock()
_held: dict[str, dict[str, Any]] = {}
_keys = itertools.count(1)
_process: subprocess.Popen[bytes] | None = None


def watch(kind: str, **fields: Any) -> str:
    """Tell the watchdog to remove this if Preflight dies first; return the key to `forget` it."""
    with _lock:
        key = str(next(_keys))
        _held[key] = {"add": key, "kind": kind, **fields}
        _send(_held[key])
    return key


def forget(key: str | None) -> None:
    """Tell the watchdog that Preflight removed it itself."""
    if key is None:
        return
    with _lock:
        if _held.pop(key, None) is not None:
            _send({"forget": key})


def _send(message: dict[str, Any]) -> None:
    global _process
    for _ in range(2):
        try:
            if _process is None or _process.poll() is not None:
                _process = _spawn()
                lines = [json.dumps(record) + "\n" for record in _held.values()]  # a new one learns all
            else:
                lines = [json.dumps(message) + "\n"]
            assert _process.stdin is not None
            _process.stdin.write("".join(lines).encode())
            _process.stdin.flush()
            return
        except OSError:
            # It died (someone killed it): start another and tell it everything. If none
            # can start, the run goes on guarded by the kernel and the next run's sweep.
            _process = None


def _watchdog_env(pythonpath: str) -> dict[str, str]:
    """Return the watchdog's environment: this one without Preflight's inputs and secrets."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not any(fnmatch.fnmatchcase(name, pattern) for pattern in FORBIDDEN) and not carried_by(value)
    }
    return {**env, "PYTHONPATH": pythonpath}


def _spawn() -> subprocess.Popen[bytes]:
    source_root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (source_root, os.environ.get("PYTHONPATH")) if p)
    # A session of its own: the terminal's Ctrl-C and a signal to Preflight's process
    # group do not reach it, and no PR_SET_PDEATHSIG: it must outlive Preflight.
    return subprocess.Popen(
        [sys.executable, "-P", "-m", "preflight.watchdog"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        cwd="/",
        env=_watchdog_env(path),
        start_new_session=True,
    )


# -- children that die with Preflight --------------------------------------------------


@cache
def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def tied(sig: int = signal.SIGKILL) -> dict[str, Any]:
    """Return Popen arguments that make the kernel send the child `sig` when Preflight dies (Linux).

    The signal follows the thread that started the child, so only the main thread asks
    for it (a worker thread's exit would kill the child early); elsewhere the watchdog
    alone stands guard.
    """
    prctl = _prctl()
    if prctl is None or threading.current_thread() is not threading.main_thread():
        return {}
    parent = os.getpid()

    def arm() -> None:  # runs in the child, after fork and after the switch to --pg-user
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # Preflight died before the signal was armed
            os.kill(os.getpid(), sig)

    return {"preexec_fn": arm}


@contextmanager
def project_process(args: list[str], what: str, **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """Run a child that runs the project's code, in a process group of its own.

    If the block raises, or Preflight dies, the group is killed: the child and anything it
    started (test workers, a server a data migration spawned). No stdin: a background
    group that read the terminal would stop. The child is reaped when the block ends.
    """
    process: subprocess.Popen[str] = subprocess.Popen(
        args, process_group=0, stdin=subprocess.DEVNULL, **tied(), **popen
    )
    key = watch("group", pgid=process.pid, what=what)
    try:
        yield process
    except BaseException:
        watchdog.kill_group(process.pid)
        raise
    finally:
        if process.returncode is None:
            process.wait()
        forget(key)


# -- temp dirs -----------------------------------------------------------------------------

_dir_keys: dict[str, str] = {}


def make_dir(kind: str, parent: str | Path | None = None, **extra: Any) -> Path:
    """Create a private temp dir named and marked as this run's, removed by the watchdog if we die."""
    owner = me()
    path = Path(parent or tempfile.gettempdir()) / f"preflight-{kind}-{owner.host}-{owner.pid}-{secrets.token_hex(6)}"
    key = watch("dir", path=str(path))
    try:
        path.mkdir(mode=0o700)  # never an existing dir: the watchdog would remove it
    except BaseException:
        forget(key)
        raise
    try:
        write_mark(path, **extra)
    except BaseException:
        remove_dir(path)
        forget(key)
        raise
    _dir_keys[str(path)] = key
    return path


def write_mark(path: Path, **extra: Any) -> None:
    """(Re)write the owner mark of a dir of ours, with what else a sweep must undo (`worktree`)."""
    (path / MARKER).write_text(me().text(**extra))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    forget(_dir_keys.pop(str(path), None))


@contextmanager
def temp_dir(kind: str, parent: str | Path | None = None, **extra: Any) -> Iterator[Path]:
    """`make_dir` for the length of a block."""
    path = make_dir(kind, parent, **extra)
    try:
        yield path
    finally:
        remove_dir(path)


# -- the next run's sweep ----------------------------------------------------------------


def cache_dir() -> Path | None:
    """Return where Preflight keeps things between runs (the local provider's clusters); None: nowhere.

    $PREFLIGHT_CLUSTER_CACHE (set empty: no cache), else $XDG_CACHE_HOME/preflight or
    ~/.cache/preflight. An entry is copied into a temp dir of ours there first, then
    renamed into place, so the sweep looks there as well as in the temp dirs.
    """
    root = os.environ.get("PREFLIGHT_CLUSTER_CACHE")
    if root == "":
        return None
    if root is None:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "preflight")
    return Path(root)


def sweep_dirs(parents: Iterable[str | Path] = ()) -> list[str]:
    """Remove temp dirs whose owner died on this machine (with a server still running in
    one, and the git worktree in one), in the temp dirs and the cache; return a line for each."""
    removed = []
    cache = cache_dir()
    places = (tempfile.gettempdir(), *FALLBACK_TEMP_DIRS, *([cache] if cache else []), *parents)
    for parent in dict.fromkeys(str(p) for p in places):
        try:
            entries = [e.path for e in os.scandir(parent) if e.name.startswith("preflight-") and e.is_dir()]
        except OSError:
            continue
        for path in entries:
            try:
                mark = Path(path, MARKER).read_text()
            except OSError:
                continue
            owner = Owner.parse(mark)
            if owner is not None and owner.dead_here():
                removed.append(", ".join([f"temp dir {path} (run {owner.pid})", *_undo(Path(path), mark)]))
    return removed


def _undo(path: Path, mark: str) -> list[str]:
    """Remove a dead run's temp dir and what it held; say what else that was."""
    what = []
    if stop_server_in(path / "data"):
        what.append("the PostgreSQL server still running in it")
    worktree = json.loads(mark).get("worktree")
    if isinstance(worktree, dict) and {"repo", "path"} <= worktree.keys():
        with suppress(OSError):  # no git: nothing registered a worktree in the first place
            if watchdog.remove_worktree(str(worktree["repo"]), str(worktree["path"])):
                what.append(f"the git worktree it held in {worktree['repo']}")
    watchdog.remove_dir(str(path))
    return what


def stop_server_in(data: Path) -> bool:
    """Stop a postmaster still serving `data`, if its postmaster.pid names one that does."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    if not _serves(pid, data):
        return False  # a stale pid file: that pid is some other process now
    return watchdog.stop_process(pid, watchdog.start_time(pid), signal.SIGQUIT)


def _serves(pid: int, data: Path) -> bool:
    with suppress(OSError):
        return Path(os.readlink(f"/proc/{pid}/cwd")) == data.resolve()  # the postmaster runs in its data dir
    if Path("/proc/self").exists():
        return False
    shown = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
    return str(data) in shown.stdout
