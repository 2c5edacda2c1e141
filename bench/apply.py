"""Measure `preflight apply` against a bare `manage.py migrate` on the demo's data, side by side.

    python bench/apply.py [--lines 500000] [--rounds 3] [--out docs/benchmarks-apply.md]

Builds the demo's production database once (examples/shop at its baseline, --lines order
lines), dumps it, and then, round after round, restores it into fresh databases and runs
on each, interleaved so the machine's load falls on both alike:

- bare: `python manage.py migrate` (the project's own interpreter, DATABASE_URL set);
- apply: `preflight apply --no-backup` (checks, gate, lock, plan again, apply one migration
  at a time under lock_timeout/statement_timeout, verify, audit);
- apply + backup: `preflight apply --backup-dir` (the same, after a verified pg_dump -Fc);
  its backup phase is reported apart.

Prints a Markdown table of medians and ratios and writes it to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "entrypoint"))

APPROVE = ["--approve", "DS102", "--approve-reason", "benchmark: the demo's notes column goes"]


def _run(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=500_000, help="order lines in the demo's biggest table")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks-apply.md")
    args = parser.parse_args(argv)

    from preflight.demo import seed_database
    from preflight.postgres.local import LocalProvider
    from preflight.progress import QuietProgress
    from preflight.project import Project
    from preflight.target import dump_database

    bare: list[float] = []
    applied: list[float] = []
    with_backup: list[float] = []
    backup_phase: list[float] = []
    apply_phase: list[float] = []
    sizes: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp, LocalProvider() as server:
        work = Path(tmp)
        os.chmod(work, 0o777)
        project = Project(root=REPO / "examples" / "shop", settings="shop.settings", python=sys.executable)
        print(f"seeding the demo's production database ({args.lines:,} order lines)...", flush=True)
        source = seed_database(server, project, args.lines, QuietProgress())
        dump = dump_database(server, source, work / "production.dump")
        server.drop_database(source)
        env = {**os.environ, "PYTHONPATH": str(REPO / "entrypoint")}
        for number in range(1, args.rounds + 1):
            names = {kind: server.create_database(f"{kind}{number}") for kind in ("bare", "apply", "backup")}
            for name in names.values():
                subprocess.run(
                    ["pg_restore", "--no-owner", "-d", server.info.url(name), str(dump)],
                    check=True,
                    capture_output=True,
                )
            bare.append(
                _run(
                    [sys.executable, "manage.py", "migrate", "--no-input"],
                    {**env, "DATABASE_URL": server.info.url(names["bare"])},
                    project.root,
                )
            )
            report = work / f"apply{number}.json"
            command = [sys.executable, "-m", "preflight", "apply", "--project", str(project.root), "--quiet"]
            applied.append(
                _run(
                    [
                        *command,
                        "--target-url",
                        server.info.url(names["apply"]),
                        "--no-backup",
                        "--json",
                        str(report),
                        "--output",
                        os.devnull,
                        *APPROVE,
                    ],
                    env,
                    REPO,
                )
            )
            apply_phase.append(json.loads(report.read_text())["timings"]["apply"])
            report = work / f"backup{number}.json"
            with_backup.append(
                _run(
                    [
                        *command,
                        "--target-url",
                        server.info.url(names["backup"]),
                        "--backup-dir",
                        str(work / f"backups{number}"),
                        "--json",
                        str(report),
                        "--output",
                        os.devnull,
                        *APPROVE,
                    ],
                    env,
                    REPO,
                )
            )
            data = json.loads(report.read_text())
            backup_phase.append(data["timings"]["backup"])
            sizes.append(data["deployment"]["backup"]["size_bytes"])
            for name in names.values():
                server.drop_database(name)
            print(
                f"round {number}: bare {bare[-1]:.2f} s, apply {applied[-1]:.2f} s, "
                f"apply + backup {with_backup[-1]:.2f} s (backup {backup_phase[-1]:.2f} s)",
                flush=True,
            )
    median = statistics.median
    rows = [
        ("bare `manage.py migrate`", median(bare), 1.0),
        ("`preflight apply --no-backup`", median(applied), median(applied) / median(bare)),
        ("  of which: applying the migrations", median(apply_phase), None),
        ("`preflight apply --backup-dir`", median(with_backup), median(with_backup) / median(bare)),
        ("  of which: the backup (pg_dump -Fc + verify)", median(backup_phase), None),
    ]
    lines = [
        f"# `preflight apply` against bare `migrate` ({args.lines:,} order lines, "
        f"backup {median(sizes) / 1e6:.1f} MB, median of {args.rounds} interleaved rounds)",
        "",
        "Generated by `python bench/apply.py`; the same demo data restored fresh for each run.",
        "",
        "| run | wall time | vs bare |",
        "| --- | --: | --: |",
        *(
            f"| {name} | {seconds:.2f} s | {'' if ratio is None else f'{ratio:.2f}x'} |"
            for name, seconds, ratio in rows
        ),
        "",
    ]
    text = "\n".join(lines)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
