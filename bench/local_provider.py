"""Benchmark: local provider start-to-ready and stop, and a template clone, side by side.

    python bench/local_provider.py [--repeat N]

Start-to-ready is from entering the provider (initdb included) to the first accepted
connection; the clone is CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY of a
database holding the given number of rows, compared with restoring its dump again.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from preflight import target
from preflight.postgres import binaries
from preflight.postgres.local import LocalProvider


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()
    starts, stops = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        provider = LocalProvider()
        provider.__enter__()
        starts.append(time.perf_counter() - started)
        started = time.perf_counter()
        provider.__exit__(None, None, None)
        stops.append(time.perf_counter() - started)
    print(
        f"local provider start-to-ready: median {statistics.median(starts):.2f} s "
        f"(min {min(starts):.2f}, max {max(starts):.2f}, n={args.repeat})"
    )
    print(f"local provider stop+cleanup:   median {statistics.median(stops):.2f} s")
    with LocalProvider() as server, tempfile.TemporaryDirectory() as tmp:
        source = server.create_database("src")
        with server.connect(source) as conn:
            conn.execute(f"CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, {args.rows}) g")
            conn.execute("CREATE INDEX ON t (v)")
        dump = Path(tmp) / "t.dump"
        subprocess.run(
            [binaries.find(("pg_dump",)).path("pg_dump"), "-Fc", "-f", str(dump), "-d", source],
            env=target.clean_env(server.info.client_env()),
            check=True,
        )
        clones, restores = [], []
        for _ in range(3):
            started = time.perf_counter()
            server.drop_database(server.create_database("clone", template=source))
            clones.append(time.perf_counter() - started)
            started = time.perf_counter()
            template, _ = target.restore(server, dump, None, jobs=2)
            restores.append(time.perf_counter() - started)
            server.drop_database(template)
    clone, restore = statistics.median(clones), statistics.median(restores)
    print(
        f"fresh copy of {args.rows:,} rows: template clone {clone:.2f} s vs pg_restore -j2 {restore:.2f} s "
        f"({restore / clone:.1f}x)"
    )


if __name__ == "__main__":
    main()
