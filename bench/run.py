"""Benchmark Preflight against what a careful team runs by hand, side by side in one run.

    python bench/run.py [--quick] [--source DIR] [--out FILE]

Builds its own inputs (generated migration histories, dumps of the shop example), runs
every comparison, prints a Markdown table of times and ratios and writes it, with the
machine's description, to docs/benchmarks.md (or --out). Comparisons:

- scaling: a one-app history of 60 / 300 / 1,000 / 3,000 migrations previewed from an
  empty database, against `sqlmigrate` for each migration in one Django process and
  bare `manage.py migrate`; time per migration should stay about constant;
- end to end: `preflight preview` of a dump (round trip on) against bare `pg_restore` +
  `manage.py migrate` of the same dump, on a small dump and one of a few hundred MB;
- provider start: the local provider (and docker, when DOCKER_HOST is set) start + stop;
- capture overhead: the apply phase with lock/rewrite capture and with --no-capture.

--quick (CI) runs 60 and 300 migrations and the small dump only, and exits 1 when a
measurement is past its bound (GOALS below); --source DIR measures the Preflight source
tree at DIR (e.g. an older commit checked out with `git worktree add`), with the same
inputs, so two runs compare before and after.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "entrypoint"))  # the benchmark's own server code

import inputs
import measure
from history import write_history

from preflight import postgres
from preflight.postgres import binaries

QUICK_SIZES = (60, 300)
FULL_SIZES = (60, 300, 1000, 3000)
SMALL_LINES = 20_000  # the demo's CI size: a dump of a few MB
LARGE_LINES = 1_300_000  # about 300 MB in the database (1,000,000 lines: 230 MB)


@dataclass(frozen=True)
class Goal:
    """A bound a run must stay within; --quick exits 1 past it."""

    name: str
    measured: float
    bound: float
    unit: str = "x"

    @property
    def ok(self) -> bool:
        return self.measured <= self.bound


# The goals, with margin for a shared CI runner: per-migration time at the largest
# history at most LINEAR_BOUND times that at the smallest (quadratic cost gives 5x from 60
# to 300), and preview / bare at most E2E_BOUND (the goal is 1.3x). The margins are a
# judgement: on a 2-core machine shared with four other busy runs the same code measured
# preview / bare anywhere from 3.1x to 6.3x, so noise on a loaded machine is far larger.
LINEAR_BOUND = 2.0
E2E_BOUND = 1.6


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def _s(seconds: float) -> str:
    return f"{seconds:,.2f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def scaling_section(scales: list[measure.Scale]) -> str:
    rows = []
    for s in scales:
        sql, apply = s.preview.phase("sql"), s.preview.phase("apply")
        rows.append(
            [
                f"{s.migrations:,}",
                f"{_s(sql)} ({_ms(sql / s.migrations)})",
                f"{_s(s.sqlmigrate_loop)} ({_ms(s.sqlmigrate_loop / s.migrations)})",
                f"{s.sqlmigrate_loop / sql:.1f}x" if sql else "-",
                f"{_s(apply)} ({_ms(apply / s.migrations)})",
                f"{_s(s.bare_migrate)} ({_ms(s.bare_migrate / s.migrations)})",
                f"{apply / s.bare_migrate:.2f}x",
                _s(s.preview.phase("plan")),
                _s(s.preview.phase("round_trip")),
                f"{_s(s.preview.wall)} ({_ms(s.preview.wall / s.migrations)})",
            ]
        )
    header = [
        "migrations",
        "preview sql s (ms/migr.)",
        "sqlmigrate loop s (ms/migr.)",
        "loop / sql",
        "preview apply s (ms/migr.)",
        "bare migrate s (ms/migr.)",
        "apply / migrate",
        "plan s",
        "round trip s",
        "preview wall s (ms/migr.)",
    ]
    first = scales[0]

    def growth(s: measure.Scale, seconds: float, first_seconds: float) -> str:
        return f"{(seconds / s.migrations) / (first_seconds / first.migrations):.2f}x"

    growths = [
        f"{s.migrations:,}: preview sql {growth(s, s.preview.phase('sql'), first.preview.phase('sql'))}, "
        f"apply {growth(s, s.preview.phase('apply'), first.preview.phase('apply'))}, "
        f"wall {growth(s, s.preview.wall, first.preview.wall)}; "
        f"bare migrate {growth(s, s.bare_migrate, first.bare_migrate)}, "
        f"sqlmigrate loop {growth(s, s.sqlmigrate_loop, first.sqlmigrate_loop)}"
        for s in scales[1:]
    ]
    return (
        "## Scaling: one app, N migrations, from an empty database\n\n"
        "`preflight preview --format json` (phases from its `timings`) against `sqlmigrate` for each\n"
        "pending migration in one Django process, and bare `manage.py migrate` on a fresh database\n"
        "(the history: `bench/history.py`). Goal: time per migration about constant as N grows.\n\n"
        + table(header, rows)
        + (f"\n\nTime per migration against {first.migrations}: " + "; ".join(growths) + "." if growths else "")
    )


def end_to_end_section(runs: list[measure.EndToEnd]) -> str:
    rows = []
    for e in runs:
        phases = ", ".join(f"{k} {v:.2f}" for k, v in e.preview.timings.items() if k != "total")
        rows.append(
            [
                f"{e.dump} ({e.size_mb:,.0f} MB)",
                str(e.preview.pending),
                _s(e.preview.wall),
                f"{_s(e.bare)} ({_s(e.restore)} + {_s(e.migrate)})",
                f"**{e.ratio:.2f}x**",
                phases,
            ]
        )
    header = [
        "dump (database size)",
        "pending",
        "preview s",
        "bare s (restore + migrate)",
        "preview / bare",
        "phases s",
    ]
    return (
        "## End to end: preview against bare `pg_restore` + `manage.py migrate`\n\n"
        "The same dump and migrations; the preview with its round trip (the default) and its own\n"
        "local server, the bare commands on an already running server (`pg_restore -j <cores>\n"
        "--no-owner --no-privileges`, then `migrate`). Goal: at most 1.3x.\n\n" + table(header, rows)
    )


def provider_section(providers: list[measure.Provider], runs: list[measure.EndToEnd]) -> str:
    rows = [
        [
            p.name,
            f"{_s(statistics.median(p.starts))} (min {_s(min(p.starts))}, max {_s(max(p.starts))})",
            _s(statistics.median(p.stops)),
            str(len(p.starts)),
        ]
        for p in providers
    ]
    clones = [f"{e.dump}: template clone {_s(e.clone)} s vs pg_restore {_s(e.restore)} s" for e in runs]
    return (
        "## Provider start\n\n"
        "From entering the provider (initdb included) to the first answered query, and stop + cleanup.\n\n"
        + table(["provider", "start s, median", "stop s, median", "runs"], rows)
        + "\n\nA second copy of a restored database: "
        + "; ".join(clones)
    )


def capture_section(captures: list[measure.Capture]) -> str:
    rows = [
        [
            c.dump,
            _s(statistics.median(c.with_capture)),
            _s(statistics.median(c.without)),
            f"{c.overhead * 100:+.1f}%",
            str(c.repeat),
        ]
        for c in captures
    ]
    return (
        "## Capture overhead\n\n"
        "The apply phase of the same preview (no round trip) with lock/rewrite capture and with\n"
        "`--no-capture`, alternating which goes first; medians.\n\n"
        + table(["dump", "apply with capture s", "apply with --no-capture s", "overhead", "runs each"], rows)
    )


def goals(scales: list[measure.Scale], runs: list[measure.EndToEnd]) -> list[Goal]:
    found = []
    last = scales[-1]
    # Against the cheapest smaller history per migration: the smallest one carries the most
    # fixed cost (Django's start-up) per migration, which would hide growth.
    for name, seconds in (
        ("sql", lambda s: s.preview.phase("sql")),
        ("apply", lambda s: s.preview.phase("apply")),
        ("preview wall", lambda s: s.preview.wall),
    ):
        base = min(scales[:-1] or scales, key=lambda s: seconds(s) / s.migrations)
        ratio = (seconds(last) / last.migrations) / (seconds(base) / base.migrations)
        found.append(Goal(f"{name} per migration, {last.migrations:,} vs {base.migrations:,}", ratio, LINEAR_BOUND))
    found += [Goal(f"preview / bare, {e.dump}", e.ratio, E2E_BOUND) for e in runs]
    return found


def goals_section(found: list[Goal]) -> str:
    rows = [
        [g.name, f"{g.measured:.2f}{g.unit}", f"{g.bound:.2f}{g.unit}", "ok" if g.ok else "**past**"] for g in found
    ]
    return (
        "## Goals\n\n"
        "`--quick` exits 1 when any is past its bound: per-migration time of the largest history at most\n"
        f"{LINEAR_BOUND}x that of the cheapest smaller one (linear cost), preview / bare at most {E2E_BOUND}x\n"
        "(the goal is 1.3x; the margins, a judgement, are for a CI runner's noise; a machine busy with\n"
        "other work is noisier).\n\n" + table(["measure", "measured", "bound", ""], rows)
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 and 300 migrations, small dump only (CI)")
    parser.add_argument("--source", type=Path, default=inputs.REPO, help="Preflight source tree to measure")
    parser.add_argument("--out", type=Path, default=inputs.REPO / "docs" / "benchmarks.md", help="Markdown output")
    parser.add_argument("--python", default=sys.executable, help="the projects' interpreter (with Django)")
    parser.add_argument("--label", help="what is measured, for the Markdown (default: the source's commit)")
    parser.add_argument(
        "--sizes", type=lambda text: tuple(int(n) for n in text.split(",")), help="history sizes, e.g. 60,300,1000"
    )
    args = parser.parse_args(argv)
    if not (args.source / "entrypoint" / "preflight").is_dir():
        parser.error(f"--source {args.source} has no entrypoint/preflight")
    args.source = args.source.resolve()
    args.python = os.path.abspath(args.python)
    args.sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    return args


def say(text: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    source = measure.Source(args.source, args.python)
    bins = binaries.find(("pg_dump", "pg_restore"))
    with postgres.start("local") as server, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        description = inputs.machine(args.python, server)
        scales = []
        for n in args.sizes:
            project = write_history(Path(tmp) / f"history-{n}", n)
            say(f"scaling: {n} migrations")
            scales.append(measure.scale(source, server, project, args.python, n))
        shop = inputs.copy_shop(Path(tmp) / "shop")
        dumps = []
        for lines in (SMALL_LINES,) if args.quick else (SMALL_LINES, LARGE_LINES):
            say(f"dump of the shop with {lines:,} order lines")
            dumps.append(inputs.shop_dump(server, args.python, lines, bins.path("pg_dump"), shop))
        runs = []
        for dump, size_mb in dumps:
            say(f"end to end: {dump.name}")
            runs.append(measure.end_to_end(source, server, shop, args.python, dump, size_mb, bins.path("pg_restore")))
        say("capture overhead")
        captures = [measure.capture(source, shop, dumps[-1][0], 1 if args.quick else 2)]
    say("provider start")
    providers = [measure.provider(source, "local", 3 if args.quick else 5)]
    if os.environ.get("DOCKER_HOST"):
        providers.append(measure.provider(source, "docker", 3))
    found = goals(scales, runs)
    machine = table(["", ""], [[k, v] for k, v in description.items()])
    sections = [
        scaling_section(scales),
        end_to_end_section(runs),
        provider_section(providers, runs),
        capture_section(captures),
        goals_section(found),
    ]
    mode = "--quick" if args.quick else "full"
    body = "\n\n".join(sections)
    print(body)
    args.out.write_text(
        "# Benchmarks\n\n"
        f"Written by `python bench/run.py` ({mode}) on {datetime.date.today()}, measuring\n"
        f"{args.label or source.describe()}. Rerun it to refresh; numbers from a busy machine are noisy.\n\n"
        f"{machine}\n\n{body}\n"
    )
    past = [g for g in found if not g.ok]
    for goal in past:
        print(f"bench: past its bound: {goal.name}: {goal.measured:.2f}x > {goal.bound:.2f}x", file=sys.stderr)
    return 1 if past and args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
