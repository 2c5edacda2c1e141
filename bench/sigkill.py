"""Benchmark: how long after a SIGKILL of Preflight its throwaway server and everything else are gone.

    python bench/sigkill.py [--repeat N] [--postgres local|external:URL|docker]

Runs `preflight preview` on tests/projects/slow (a migration that sleeps a minute),
SIGKILLs it once that migration runs, and times from the kill until the postmaster has
exited (the kernel's parent-death signal) and until every process Preflight had started
and every temp dir it made are gone (the watchdog).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from preflight import watchdog

PROJECT = Path(__file__).resolve().parents[1] / "tests" / "projects" / "slow"


def descendants(root: int) -> dict[int, tuple[int | None, str]]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    below = {root}
    for _ in range(6):  # deep enough: preflight -> postmaster -> backend
        below |= {pid for pid, ppid in parents.items() if ppid in below}
    below.discard(root)
    found = {}
    for pid in below:
        with contextlib.suppress(OSError):
            found[pid] = (watchdog.start_time(pid), Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
    return found


def once(postgres: str) -> tuple[float | None, float]:
    with tempfile.TemporaryDirectory(prefix="bench-sigkill-", dir="/tmp") as tmp:
        os.chmod(tmp, 0o711)
        process = subprocess.Popen(
            [sys.executable, "-m", "preflight", "preview", "--project", str(PROJECT), "--postgres", postgres],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": tmp},
        )
        assert process.stderr is not None
        for line in process.stderr:
            if "ledger.0002_slow" in line and "applying" in line:
                break
        started = descendants(process.pid)
        servers = {pid: p for pid, p in started.items() if " -D " in p[1].replace("\0", " ")}
        killed = time.perf_counter()
        process.kill()
        server = None
        while True:
            now = time.perf_counter() - killed
            if server is None and not any(watchdog.alive(pid, start) for pid, (start, _) in servers.items()):
                server = now
            alive = any(watchdog.alive(pid, start) for pid, (start, _) in started.items())
            if not alive and not any(p.name.startswith("preflight") for p in Path(tmp).iterdir()):
                return (server if servers else None), now
            if now > 30:
                raise SystemExit(f"still there 30 s after SIGKILL: {os.listdir(tmp)}")
            time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="local")
    args = parser.parse_args()
    results = [once(args.postgres) for _ in range(args.repeat)]
    servers = [s for s, _ in results if s is not None]
    everything = [e for _, e in results]
    if servers:
        print(
            f"server gone after SIGKILL:     median {statistics.median(servers):.3f} s "
            f"(min {min(servers):.3f}, max {max(servers):.3f}, n={len(servers)})"
        )
    print(
        f"everything gone after SIGKILL: median {statistics.median(everything):.3f} s "
        f"(min {min(everything):.3f}, max {max(everything):.3f}, n={len(everything)})"
    )


if __name__ == "__main__":
    main()
