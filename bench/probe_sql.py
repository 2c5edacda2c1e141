"""Benchmark: the probe's SQL for every pending migration in ONE process, against a loop
of `manage.py sqlmigrate` (forwards and backwards) calls, side by side in one run.

    python bench/probe_sql.py [--python PATH] [--repeat N]

Prints the wall time of each and their ratio. Both run on the same empty copy of the
example project's database, with the same interpreter and environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from preflight.postgres.local import LocalProvider
from preflight.probe import runner
from preflight.project import Project

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.python = os.path.abspath(args.python)  # the children run in the project's folder
    with tempfile.TemporaryDirectory() as tmp, LocalProvider() as server:
        root = Path(tmp) / "shop"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
        project = Project(root=root, settings="shop.settings", python=args.python)
        url = server.info.url(server.create_database("bench"))
        env = runner.probe_env(project, url)
        probe_times, loop_times = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            migrations = runner.run(project, "sql", url)["migrations"]
            probe_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            for migration in migrations:
                for extra in ([], ["--backwards"]):
                    subprocess.run(
                        [args.python, "manage.py", "sqlmigrate", migration["app"], migration["name"], *extra],
                        cwd=root,
                        env=env,
                        capture_output=True,
                    )
            loop_times.append(time.perf_counter() - started)
    probe, loop = statistics.median(probe_times), statistics.median(loop_times)
    print(f"migrations: {len(migrations)} (forwards + backwards each), repeats: {args.repeat}, median times")
    print(f"probe sql, one process:        {probe:7.2f} s")
    print(f"manage.py sqlmigrate loop:     {loop:7.2f} s  ({2 * len(migrations)} processes)")
    print(f"ratio loop / probe:            {loop / probe:7.1f}x")


if __name__ == "__main__":
    main()
