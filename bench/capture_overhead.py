"""Benchmark: applying the demo's pending migrations with lock/rewrite capture and without,
side by side on identical copies, alternating which goes first.

    python bench/capture_overhead.py [--lines 500000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from preflight.demo import seed_database
from preflight.postgres.local import LocalProvider
from preflight.probe import runner
from preflight.progress import QuietProgress
from preflight.project import Project

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    timings: dict[bool, list[float]] = {True: [], False: []}
    statements = 0
    with tempfile.TemporaryDirectory() as tmp, LocalProvider() as server:
        root = Path(tmp) / "shop"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
        project = Project(root=root, settings="shop.settings", python=sys.executable)
        production = seed_database(server, project, args.lines, QuietProgress())
        for round_ in range(args.repeat):
            for capture in (True, False) if round_ % 2 == 0 else (False, True):
                copy = server.create_database("copy", template=production)
                extra = [] if capture else ["--no-capture"]
                started = time.perf_counter()
                result = runner.run(project, "apply", server.info.url(copy), extra=extra)
                timings[capture].append(time.perf_counter() - started)
                assert result["failure"] is None
                statements = sum(len(m["statements"]) for m in result["migrations"])
                server.drop_database(copy)
    with_capture, without = statistics.median(timings[True]), statistics.median(timings[False])
    print(f"demo apply ({args.lines:,} order lines, 12 migrations, {statements} statements), median of {args.repeat}")
    print(f"with lock/rewrite capture:    {with_capture:6.2f} s")
    print(f"without (--no-capture):       {without:6.2f} s")
    print(
        f"overhead:                     {with_capture - without:+6.2f} s ({(with_capture / without - 1) * 100:+.1f}%)"
    )


if __name__ == "__main__":
    main()
