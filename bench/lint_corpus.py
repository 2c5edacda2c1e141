"""Benchmark: `preflight lint-sql` over the whole rule fixture corpus, in one process,
against one process per file (how a naive pre-commit hook would call it), side by side.

    python bench/lint_corpus.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "rules" / "fixtures"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for path in sorted(FIXTURES.glob("*.yml")):
            for name, case in yaml.safe_load(path.read_text())["cases"].items():
                if "sql" not in case:  # a measured case (a run, a round trip): no SQL to lint
                    continue
                target = Path(tmp) / f"{path.stem}-{name}.sql"
                target.write_text(case["sql"])
                files.append(str(target))
        command = [sys.executable, "-m", "preflight", "lint-sql", "--separately", "--fail-on", "never"]
        one, each = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            subprocess.run([*command, *files], check=True, capture_output=True)
            one.append(time.perf_counter() - started)
            started = time.perf_counter()
            for file in files:
                subprocess.run([*command, file], check=True, capture_output=True)
            each.append(time.perf_counter() - started)
    whole, per_file = statistics.median(one), statistics.median(each)
    print(f"corpus: {len(files)} SQL files, {len(list(FIXTURES.glob('*.yml')))} rule fixtures, median of {args.repeat}")
    print(f"lint-sql, one process for all files: {whole:6.2f} s ({whole / len(files) * 1000:.1f} ms per file)")
    print(f"lint-sql, one process per file:      {per_file:6.2f} s")
    print(f"ratio per-file / one process:        {per_file / whole:6.1f}x")


if __name__ == "__main__":
    main()
