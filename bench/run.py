"""Benchmark Preflight against what a careful team runs by hand, side by side in one run.

    python bench/run.py [--quick] [--source DIR] [--out FILE] [--sizes 60,300] [--loop-sample N]
                        [--no-large] [--[no-]constant]

Builds its own inputs (generated migration histories, dumps of the shop example), runs
every comparison, prints a Markdown table of times and ratios and writes it, with the
machine's description, to docs/benchmarks.md (or --out). Comparisons:

- scaling: a one-app history of 60 / 300 / 1,000 / 3,000 migrations previewed from an
  empty database, against `sqlmigrate` for each migration in one Django process (above 300
  migrations, a systematic sample of at most --loop-sample calls, labelled so) and bare `migrate`;
  time per migration should stay about constant relative to Django's own migrate, whose
  work per migration grows with this history's model count; in full runs also a history of
  constant work per migration (`history.py --constant`), where it should stay constant;
- end to end: `preflight preview` of a dump (round trip on) against bare `pg_restore` +
  `manage.py migrate` of the same dump, on a small dump and one of a few hundred MB;
- provider start: the local provider (and docker, when DOCKER_HOST is set) start + stop;
- capture overhead: the apply phase with lock/rewrite capture and with --no-capture.

--quick (CI) runs 60 and 300 migrations of the growing history and the small dump only,
and exits 1 when a measurement is past its bound (GOALS below); --no-large skips the dump
of a few hundred MB in a full run; --source DIR measures the Preflight source
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
from collections.abc import Callable
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
# The sqlmigrate loop is quadratic (each call rebuilds the state up to its migration): all of
# 1,000 migrations took 66 s, and a call at 3,000 took 0.58 s on average (2 cores, load ~2),
# so all of 3,000 would take about half an hour. Above measure.LOOP_ALL_UP_TO (300)
# migrations it runs a systematic sample of at most this many calls (3,000: every 20th).
LOOP_SAMPLE = 150
SMALL_LINES = 20_000  # the demo's CI size: a dump of a few MB
LARGE_LINES = 1_300_000  # about 300 MB in the database (1,000,000 lines: 230 MB)


@dataclass(frozen=True)
class Goal:
    """A bound a run must stay within; --quick exits 1 past it."""

    name: str
    measured: float
    bound: float | None  # None: reported, not a bound
    unit: str = "x"

    @property
    def ok(self) -> bool:
        return self.bound is None or self.measured <= self.bound


# The goals, with margin for a shared CI runner: per-migration time at the largest
# history, relative to Django's own migrate at the same size, at most LINEAR_BOUND times that
# at the cheapest smaller one (quadratic cost gives 5x from 60 to 300), and preview / bare
# at most E2E_BOUND (the goal is 1.3x). The margins are a
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


HISTORIES = {
    "growing": "`bench/history.py`: a field added, indexed, the model's name widened, index and field\n"
    "dropped, on each model in turn; a new model every 100th migration, so Django's own work per\n"
    "migration grows with the length",
    "constant": "`bench/history.py --constant`: the same changes on a fixed set of 5 models, no model\n"
    "added later: the work per migration is constant by construction",
}
PHASES = ("plan", "sql", "apply", "round_trip")


def loop_cell(loop: measure.Loop | None) -> str:
    """Return the sqlmigrate loop's ms per call, labelled with what was run."""
    if loop is None:
        return "not run"
    if loop.sampled:
        return f"{_ms(loop.per_call)} (sampled: {loop.calls:,} of {loop.pending:,})"
    return f"{_ms(loop.per_call)} (all {loop.pending:,}; {_s(loop.wall)} s)"


def scaling_table(scales: list[measure.Scale]) -> str:
    rows = []
    for s in scales:
        sql, apply, loop = s.preview.phase("sql"), s.preview.phase("apply"), s.sqlmigrate_loop
        rows.append(
            [
                f"{s.migrations:,}",
                f"{_s(sql)} ({_ms(sql / s.migrations)})",
                loop_cell(loop),
                f"{loop.per_call / (sql / s.migrations):.1f}x" if loop and sql else "-",
                f"{_s(apply)} ({_ms(apply / s.migrations)})",
                _s(s.preview.phase("plan")),
                f"{_s(s.preview.phase('round_trip'))} ({_ms(s.preview.phase('round_trip') / s.migrations)})",
                f"{_s(s.preview.wall)} ({_ms(s.preview.wall / s.migrations)})",
                f"{_s(s.bare_migrate.wall)} ({_ms(s.bare_migrate.wall / s.migrations)})",
                f"{_s(s.bare_migrate.work)} ({_ms(s.bare_migrate.work / s.migrations)})",
            ]
        )
    header = [
        "migrations",
        "preview sql s (ms/migr.)",
        "sqlmigrate loop ms/call",
        "loop / sql",
        "preview apply s (ms/migr.)",
        "plan s",
        "round trip s (ms/migr.)",
        "preview wall s (ms/migr.)",
        "bare migrate wall s (ms/migr.)",
        "migrate command s (ms/migr.)",
    ]
    return table(header, rows)


def relative_table(scales: list[measure.Scale]) -> str:
    rows = [[f"{s.migrations:,}", *(f"{s.relative(p):.2f}" for p in PHASES), f"{s.wall_relative:.2f}"] for s in scales]
    header = ["migrations", *(f"{p.replace('_', ' ')} / migrate" for p in PHASES), "preview wall / bare migrate wall"]
    return table(header, rows)


def growth_line(scales: list[measure.Scale]) -> str:
    """Return each size's per-migration time against the first size's, raw and relative to migrate."""
    first = scales[0]

    def raw(s: measure.Scale, seconds: Callable[[measure.Scale], float]) -> str:
        return f"{(seconds(s) / s.migrations) / (seconds(first) / first.migrations):.2f}x"

    def relative(s: measure.Scale, phase: str) -> str:
        return f"{s.relative(phase) / first.relative(phase):.2f}x" if first.relative(phase) else "-"

    def phase(name: str) -> Callable[[measure.Scale], float]:
        return lambda s: s.preview.phase(name)

    lines = []
    for s in scales[1:]:
        lines.append(
            f"{s.migrations:,}: preview sql {raw(s, phase('sql'))} ({relative(s, 'sql')} relative), "
            f"apply {raw(s, phase('apply'))} ({relative(s, 'apply')}), "
            f"round trip {raw(s, phase('round_trip'))} ({relative(s, 'round_trip')}), "
            f"wall {raw(s, lambda s: s.preview.wall)} ({s.wall_relative / first.wall_relative:.2f}x); "
            f"bare migrate command {raw(s, lambda s: s.bare_migrate.work)}"
            + (
                f", sqlmigrate loop per call {s.sqlmigrate_loop.per_call / first.sqlmigrate_loop.per_call:.2f}x"
                if s.sqlmigrate_loop and first.sqlmigrate_loop
                else ""
            )
        )
    if not lines:
        return ""
    return (
        f"Time per migration against {first.migrations:,}, raw (and relative to Django's migrate "
        "command at the same size): " + "; ".join(lines) + "."
    )


def progress(s: measure.Scale) -> str:
    """Return one size's ms per migration, for the log while the run goes on."""
    phases = ", ".join(f"{p.replace('_', ' ')} {_ms(s.preview.phase(p) / s.migrations)}" for p in PHASES)
    loop = f"; sqlmigrate loop {loop_cell(s.sqlmigrate_loop)}" if s.sqlmigrate_loop else ""
    return (
        f"  ms a migration: preview {phases}, wall {_ms(s.preview.wall / s.migrations)}; "
        f"migrate command {_ms(s.bare_migrate.work / s.migrations)}{loop}"
    )


def scaling_section(scales: list[measure.Scale]) -> str:
    parts = [
        "## Scaling: one app, N migrations, from an empty database\n\n"
        "`preflight preview --format json` (phases from its `timings`) against `sqlmigrate` for each\n"
        "pending migration in one Django process, and bare `migrate` on a fresh database (one process,\n"
        "`django.setup()` then the command, as `manage.py migrate` does; its wall time, and the\n"
        "command's own time without Django's start). The loop's ms per call is timed inside its\n"
        "process (Django's start and the plan apart), as the preview's SQL phase is. Above\n"
        f"{measure.LOOP_ALL_UP_TO} migrations the loop calls `sqlmigrate` on a systematic sample of at most\n"
        "`--loop-sample` calls: every k-th pending migration, from the middle of the first k, in one\n"
        'process ("sampled: 150 of 3,000"); its ms per call is of those real calls, which cost more\n'
        "the later the migration, so the sample's mean stands for the whole loop's; it is not a full\n"
        "run, and no total time is given for it.\n\n"
        "Goal: time per migration about constant as N grows, judged relative to Django's own\n"
        "`migrate` command at the same size (its work per migration grows on the growing history),\n"
        "and shown raw as well."
    ]
    for history in HISTORIES:
        runs = [s for s in scales if s.history == history]
        if not runs:
            continue
        parts.append(
            f"### History: {history}\n\n{HISTORIES[history]}.\n\n"
            + scaling_table(runs)
            + "\n\nRelative to Django's `migrate` command at the same size (a preview phase's time over the\n"
            "command's own time: both per migration; the wall times both include Django's start):\n\n"
            + relative_table(runs)
            + (f"\n\n{growth_line(runs)}" if len(runs) > 1 else "")
        )
    return "\n\n".join(parts)


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
    # The bare baseline runs on a server that is already up; a team doing it by hand on a
    # fresh runner starts one too. Reported beside the goal, which stays against bare alone.
    local = next((p for p in providers if p.name == "local"), None)
    with_server = ""
    if local is not None:
        server = statistics.median(local.starts) + statistics.median(local.stops)
        ratios = "; ".join(f"{e.dump}: {e.preview.wall / (e.bare + server):.2f}x" for e in runs)
        with_server = (
            "\n\nPreview against bare plus a fresh local server (start + stop, median; reported, not a goal): " + ratios
        )
    return (
        "## Provider start\n\n"
        "From entering the provider (initdb included) to the first answered query, and stop + cleanup.\n\n"
        + table(["provider", "start s, median", "stop s, median", "runs"], rows)
        + "\n\nA second copy of a restored database: "
        + "; ".join(clones)
        + with_server
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


def linear_goals(scales: list[measure.Scale], history: str) -> list[Goal]:
    """Return the per-migration growth of the largest history against the cheapest smaller one.

    Bounded: relative to Django's own migrate at the same size; reported, not bounded: raw.
    Against the cheapest smaller history: the smallest one carries the most fixed cost
    (Django's start-up) per migration, which would hide growth.
    """
    if len(scales) < 2:
        return []
    last, smaller = scales[-1], scales[:-1]
    relative: dict[str, Callable[[measure.Scale], float]] = {
        "sql": lambda s: s.relative("sql"),
        "apply": lambda s: s.relative("apply"),
        "preview wall": lambda s: s.wall_relative,
    }
    raw: dict[str, Callable[[measure.Scale], float]] = {
        "sql": lambda s: s.preview.phase("sql") / s.migrations,
        "apply": lambda s: s.preview.phase("apply") / s.migrations,
        "preview wall": lambda s: s.preview.wall / s.migrations,
    }
    found = []
    for name in relative:
        for kind, measure_, bound in (("relative to migrate", relative[name], LINEAR_BOUND), ("raw", raw[name], None)):
            base = min(smaller, key=measure_)
            ratio = measure_(last) / measure_(base)
            label = f"{history} history: {name} per migration, {kind}, {last.migrations:,} vs {base.migrations:,}"
            found.append(Goal(label, ratio, bound))
    return found


def goals(scales: list[measure.Scale], runs: list[measure.EndToEnd]) -> list[Goal]:
    found = []
    for history in HISTORIES:
        found += linear_goals([s for s in scales if s.history == history], history)
    found += [Goal(f"preview / bare, {e.dump}", e.ratio, E2E_BOUND) for e in runs]
    return found


def goals_section(found: list[Goal]) -> str:
    rows = [
        [
            g.name,
            f"{g.measured:.2f}{g.unit}",
            "-" if g.bound is None else f"{g.bound:.2f}{g.unit}",
            "reported" if g.bound is None else "ok" if g.ok else "**past**",
        ]
        for g in found
    ]
    return (
        "## Goals\n\n"
        "`--quick` exits 1 when any is past its bound: per-migration time of the largest history,\n"
        f"relative to Django's own `migrate` command at the same size, at most {LINEAR_BOUND}x that of the\n"
        "cheapest smaller one (linear cost; the raw growth is reported beside it, not bounded),\n"
        f"preview / bare at most {E2E_BOUND}x (the goal is 1.3x; the margins, a judgement, are for a CI\n"
        "runner's noise; a machine busy with other work is noisier).\n\n"
        + table(["measure", "measured", "bound", ""], rows)
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
    parser.add_argument(
        "--loop-sample",
        type=int,
        default=LOOP_SAMPLE,
        metavar="N",
        help=f"above {measure.LOOP_ALL_UP_TO} pending migrations, run sqlmigrate on a systematic sample of at most N"
        f" (0: all; default {LOOP_SAMPLE})",
    )
    parser.add_argument("--no-large", action="store_true", help="skip the dump of a few hundred MB (full runs)")
    parser.add_argument(
        "--constant",
        action=argparse.BooleanOptionalAction,
        help="also measure the constant-work history at the same sizes (default: in full runs)",
    )
    args = parser.parse_args(argv)
    if args.loop_sample < 0:
        parser.error("--loop-sample must be 0 (all) or more")
    if not (args.source / "entrypoint" / "preflight").is_dir():
        parser.error(f"--source {args.source} has no entrypoint/preflight")
    args.source = args.source.resolve()
    args.python = os.path.abspath(args.python)
    args.sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    if args.constant is None:
        args.constant = not args.quick
    return args


def say(text: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    source = measure.Source(args.source, args.python)
    source.compile()
    bins = binaries.find(("pg_dump", "pg_restore"))
    with postgres.start("local") as server, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        description = inputs.machine(args.python, server)
        scales = []
        for history in ("growing", "constant") if args.constant else ("growing",):
            for n in args.sizes:
                project = write_history(Path(tmp) / f"{history}-{n}", n, constant=history == "constant")
                say(f"scaling: {history} history, {n} migrations")
                # The sqlmigrate baseline only on the growing history: the constant one is for linearity.
                limit = args.loop_sample if history == "growing" else None
                scales.append(measure.scale(source, server, project, args.python, n, history=history, loop_limit=limit))
                say(progress(scales[-1]))
        shop = inputs.copy_shop(Path(tmp) / "shop")
        dumps = []
        for lines in (SMALL_LINES,) if args.quick or args.no_large else (SMALL_LINES, LARGE_LINES):
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
    mode = "--quick" if args.quick else "full" + (", --no-large" if args.no_large else "")
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
        print(f"bench: past its bound: {goal.name}: {goal.measured:.2f}x > {goal.bound}x", file=sys.stderr)
    return 1 if past and args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
