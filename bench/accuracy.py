"""Accuracy on real upgrades: Preflight, squawk and django-migration-linter on the same plan.

    python bench/accuracy.py                      # rebuild every scenario, run every tool, score
    python bench/accuracy.py --scenario axes      # one scenario
    python bench/accuracy.py --score-only         # re-score the recorded results (no database)
    python bench/accuracy.py --results /tmp/after # a run that leaves the published results alone

For each scenario of bench/accuracy_scenarios.py (a third-party Django package from PyPI,
an old and a newer release): two virtualenvs in the cache (Django 4.2 + the old release;
Django 4.2 + the new release + django-migration-linter + squawk-cli), a minimal project
(settings with the package in INSTALLED_APPS, PostgreSQL from DATABASE_URL), a throwaway
PostgreSQL from Preflight's own local provider, `migrate` with the old release, data
seeded through the old release's ORM, `pg_dump -Fc` of that as the production target.
Then, with the new release, on the same pending plan:

- `preflight gate --probe-concurrency --format json` and `preflight preview --probe-concurrency`
  (Markdown, kept as the copy's evidence), with `--python` the scenario's interpreter;
- Django's `showmigrations --plan`, `sqlmigrate` of each pending migration,
  `makemigrations --check --dry-run`;
- squawk (squawk-cli 2.70.0) on each migration's sqlmigrate SQL;
- django-migration-linter on the unapplied migrations (bench/dml_driver.py).

Every finding goes to `bench/accuracy-results/<scenario>.json` (tool, code, severity,
migration, statement, key). `bench/accuracy_score.py` joins them with the judgements in
`bench/accuracy_judgements.yaml` and prints precision and recall per tool and category,
plus every unjudged finding (judge it, then run `--score-only`).

Run time: about 13 minutes for the five scenarios on 2 cores with a warm cache (the first run also installs the
two virtualenvs per scenario from PyPI, about a minute more each). `--rows` scales the seeded tables.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "entrypoint"))  # this checkout's Preflight, not an installed one

import accuracy_score  # noqa: E402
from accuracy_scenarios import DJANGO, SCENARIOS, Scenario  # noqa: E402

from preflight.postgres.base import Server  # noqa: E402
from preflight.postgres.local import LocalProvider  # noqa: E402
from preflight.target import dump_database  # noqa: E402

RESULTS = BENCH / "accuracy-results"
SQUAWK = "squawk-cli==2.70.0"
LINTER = "django-migration-linter==6.0.0"

MANAGE = """#!/usr/bin/env python
import os, sys
if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accsite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""

SETTINGS = """import importlib.util, os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "accuracy-bench"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", *{apps!r}]
if importlib.util.find_spec("django_migration_linter"):
    INSTALLED_APPS.append("django_migration_linter")
_url = urlsplit(os.environ["DATABASE_URL"])
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_url.path[1:]),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": unquote(_url.hostname or ""),
        "PORT": _url.port,
    }}
}}
"""


def sh(
    command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output (a failure is data here, not an exception)."""
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)


def must(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, done.args))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def venv(path: Path, requirements: list[str]) -> Path:
    """A virtualenv at `path` with exactly these requirements (rebuilt when they change)."""
    python = path / "bin" / "python"
    marker = path / "requirements.txt"
    wanted = "\n".join(requirements)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    shutil.rmtree(path, ignore_errors=True)
    if shutil.which("uv"):
        must(sh(["uv", "venv", "-q", "-p", sys.executable, str(path)]))
        must(sh(["uv", "pip", "install", "-q", "-p", str(python), *requirements]))
    else:
        must(sh([sys.executable, "-m", "venv", str(path)]))
        must(sh([str(python), "-m", "pip", "install", "-q", *requirements]))
    marker.write_text(wanted)
    return python


def write_project(root: Path, scenario: Scenario) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    (root / "accsite").mkdir(parents=True)
    (root / "manage.py").write_text(MANAGE)
    (root / "accsite" / "__init__.py").write_text("")
    (root / "accsite" / "settings.py").write_text(SETTINGS.format(apps=list(scenario.apps)) + scenario.settings)
    return root


def django_env(server: Server, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PYTHON", "DJANGO", "VIRTUAL_ENV"))}
    env["DATABASE_URL"] = server.info.url(database)
    env["DJANGO_SETTINGS_MODULE"] = "accsite.settings"
    return env


def build_target(
    scenario: Scenario, server: Server, old: Path, project: Path, dump: Path, rows: int
) -> tuple[str, dict[str, Any]]:
    """Migrate the old release, seed it, dump it. Return the database (kept at the old state) and timings."""
    database = server.create_database("acc")
    env = django_env(server, database)
    started = time.perf_counter()
    must(sh([str(old), "manage.py", "migrate", "--noinput", "-v0"], env, project))
    migrated = time.perf_counter()
    seed = project / "seed.py"
    seed.write_text("import django\ndjango.setup()\n" + scenario.seed.format(rows=rows))
    seeded = must(sh([str(old), str(seed)], env, project)).stdout.strip()
    seed.unlink()
    with server.connect(database) as conn:
        conn.execute("ANALYZE")
        counts = {
            name: n
            for name, n in conn.execute(
                "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY relname"
            ).fetchall()
        }
    seeded_at = time.perf_counter()
    dump_database(server, database, dump)
    return database, {
        "migrate_s": round(migrated - started, 1),
        "seed_s": round(seeded_at - migrated, 1),
        "dump_s": round(time.perf_counter() - seeded_at, 1),
        "seed_output": seeded,
        "rows": counts,
    }


def pending_plan(new: Path, env: dict[str, str], project: Path) -> tuple[str, list[str]]:
    """`showmigrations --plan` with the new release: its text and the pending app.name list."""
    out = must(sh([str(new), "manage.py", "showmigrations", "--plan"], env, project)).stdout
    return out, [line.split()[-1] for line in out.splitlines() if line.startswith("[ ]")]


def run_django(new: Path, env: dict[str, str], project: Path, pending: list[str], out: Path) -> dict[str, Any]:
    """sqlmigrate each pending migration (files for squawk) and makemigrations --check --dry-run."""
    sql_dir = out / "sql"
    shutil.rmtree(sql_dir, ignore_errors=True)
    sql_dir.mkdir(parents=True)
    sqls = {}
    for key in pending:
        app, name = key.split(".", 1)
        done = sh([str(new), "manage.py", "sqlmigrate", app, name], env, project)
        sqls[key] = done.stdout if done.returncode == 0 else None
        (sql_dir / f"{key}.sql").write_text(done.stdout if done.returncode == 0 else f"-- {done.stderr.strip()}\n")
    check = sh([str(new), "manage.py", "makemigrations", "--check", "--dry-run", "--noinput"], env, project)
    return {"sqlmigrate": sqls, "makemigrations_check": {"exit": check.returncode, "output": check.stdout.strip()}}


def run_preflight(new: Path, project: Path, dump: Path, out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`preflight gate` (JSON) and `preflight preview` (Markdown), both with --probe-concurrency."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PYTHONPATH"] = str(REPO / "entrypoint")
    common = ["--project", str(project), "--python", str(new), "--target-dump", str(dump), "--postgres", "local"]
    common += ["--probe-concurrency", "--quiet"]
    started = time.perf_counter()
    gate = sh(
        [sys.executable, "-m", "preflight", "gate", *common, "--format", "json", "--output", str(out / "gate.json")],
        env,
    )
    gate_s = time.perf_counter() - started
    sh([sys.executable, "-m", "preflight", "preview", *common, "--output", str(out / "preview.md")], env)
    report = json.loads((out / "gate.json").read_text()) if (out / "gate.json").exists() else {}
    findings = [
        accuracy_score.finding(
            "preflight",
            f["code"],
            f["severity"],
            f"{f['app']}.{f['migration']}" if f.get("migration") else "(project)",
            f.get("statement") or f.get("operation") or f["message"],
            f["message"],
            f["category"],
        )
        for f in report.get("findings", [])
    ]
    summary = {
        "exit": gate.returncode,
        "stderr_tail": gate.stderr.strip().splitlines()[-3:],
        "seconds": round(gate_s, 1),
        "migrations": [
            {
                "migration": f"{m['app']}.{m['name']}",
                "status": m["status"],
                "duration_ms": m["duration_ms"],
                "feel": m.get("feel"),
                "blocked": m.get("blocked"),
                "locks": m.get("locks"),
            }
            for m in report.get("migrations", [])
        ],
    }
    return summary, findings


def run_squawk(python_dir: Path, pending: list[str], sqls: dict[str, str | None], out: Path) -> list[dict[str, Any]]:
    """squawk --reporter json on each migration's sqlmigrate output."""
    squawk = python_dir / "squawk"
    findings = []
    for key in pending:
        sql = sqls.get(key)
        if not sql:
            continue
        path = out / "sql" / f"{key}.sql"
        done = sh([str(squawk), "--reporter", "json", "--pg-version", "15.0", str(path)])
        for item in json.loads(done.stdout or "[]"):
            statement = _statement_at(sql, item.get("line", 0))
            findings.append(
                accuracy_score.finding(
                    "squawk", item["rule_name"], item["level"].lower(), key, statement, item["message"], None
                )
            )
    return findings


def _statement_at(sql: str, line: int) -> str:
    """The statement on 0-based `line` (squawk counts from 0; a statement's leading comments belong to it)."""
    first = 0
    for number, text in enumerate(sql.splitlines()):
        if text.rstrip().endswith(";") and not text.lstrip().startswith("--"):
            if first <= line <= number:
                body = sql.splitlines()[first : number + 1]
                return " ".join(part.strip() for part in body if part.strip() and not part.lstrip().startswith("--"))
            first = number + 1
    return ""


def run_linter(new: Path, env: dict[str, str], project: Path, labels: tuple[str, ...]) -> list[dict[str, Any]]:
    done = must(sh([str(new), str(BENCH / "dml_driver.py"), *labels], {**env, "PYTHONPATH": str(project)}, project))
    findings = []
    for line in done.stdout.splitlines():
        if not line.startswith("{"):
            continue
        issue = json.loads(line)
        where = ".".join(part for part in (issue["table"], issue["column"]) if part)
        findings.append(
            accuracy_score.finding(
                "django-migration-linter",
                issue["code"],
                issue["severity"],
                issue["migration"],
                where or issue["message"],
                issue["message"],
                None,
            )
        )
    return findings


def run_scenario(scenario: Scenario, cache: Path, rows: int, results: Path) -> dict[str, Any]:
    home = cache / scenario.name
    home.mkdir(parents=True, exist_ok=True)
    out = results / scenario.name
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # setuptools: old releases import pkg_resources, which new virtualenvs no longer carry
    old = venv(home / "old", [DJANGO, f"{scenario.package}=={scenario.old}", "psycopg[binary]>=3.1", "setuptools<81"])
    package = f"{scenario.package}{scenario.extras}=={scenario.new}"
    new = venv(home / "new", [DJANGO, package, "psycopg[binary]>=3.1", LINTER, SQUAWK])
    venvs_s = time.perf_counter() - started
    project = write_project(home / "project", scenario)
    dump = home / "production.dump"
    with LocalProvider() as server:
        database, built = build_target(scenario, server, old, project, dump, rows)
        env = django_env(server, database)
        showmigrations, pending = pending_plan(new, env, project)
        django = run_django(new, env, project, pending, out)
        pf_started = time.perf_counter()
        preflight, pf_findings = run_preflight(new, project, dump, out)
        pf_s = time.perf_counter() - pf_started
        sq_findings = run_squawk(new.parent, pending, django["sqlmigrate"], out)
        dml_findings = run_linter(new, env, project, scenario.labels)
    result = {
        "scenario": scenario.name,
        "package": scenario.package,
        "old": scenario.old,
        "new": scenario.new,
        "django": sh([str(new), "-c", "import django; print(django.get_version())"]).stdout.strip(),
        "target": built,
        "pending": pending,
        "showmigrations": showmigrations,
        "makemigrations_check": django["makemigrations_check"],
        "preflight": preflight,
        "findings": pf_findings + sq_findings + dml_findings,
        "seconds": {
            "venvs": round(venvs_s, 1),
            "preflight": round(pf_s, 1),
            "total": round(time.perf_counter() - started, 1),
        },
    }
    (results / f"{scenario.name}.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "preflight-accuracy")
    parser.add_argument("--rows", type=int, default=50_000, help="N in each scenario's seed (default 50,000)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where results go (default: %(default)s)")
    parser.add_argument("--score-only", action="store_true", help="re-score the recorded results")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the generated sections of docs/accuracy.md")
    args = parser.parse_args()
    if not args.score_only:
        started = time.perf_counter()
        for scenario in SCENARIOS:
            if args.scenario and scenario.name not in args.scenario:
                continue
            result = run_scenario(scenario, args.cache, args.rows, args.results)
            print(
                f"{scenario.name}: {len(result['pending'])} pending, {len(result['findings'])} findings, "
                f"{result['seconds']['total']} s",
                file=sys.stderr,
            )
        print(f"all scenarios: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    results = [json.loads(path.read_text()) for path in sorted(args.results.glob("*.json"))]
    scored = accuracy_score.render(results, accuracy_score.load_judgements(BENCH / "accuracy_judgements.yaml"))
    print(scored)
    if args.write_docs:
        if args.results != RESULTS:
            raise SystemExit("--write-docs publishes bench/accuracy-results only (drop --results)")
        write_docs(scored)


def write_docs(scored: str) -> None:
    """Replace the generated blocks of docs/accuracy.md (between <!-- name --> markers)."""
    import accuracy_fixtures

    cases = accuracy_fixtures.load()
    blocks = {
        "scenarios": scored,
        "corpus": accuracy_fixtures.render(accuracy_fixtures.preflight_scores(cases), "Preflight, all cases:"),
    }
    if shutil.which("squawk"):
        theirs, ours = accuracy_fixtures.squawk_scores(cases)
        plain = sum(1 for case in cases if not case.needs_context and case.sql.strip())
        blocks["corpus-squawk"] = (
            f"{plain} of {len(cases)} cases are plain SQL.\n\n"
            + accuracy_fixtures.render(ours, "Preflight, plain-SQL cases:")
            + "\n\n"
            + accuracy_fixtures.render(theirs, "squawk, plain-SQL cases:")
        )
    docs = REPO / "docs" / "accuracy.md"
    text = docs.read_text()
    for name, body in blocks.items():
        text = accuracy_score.replace_block(text, name, body)
    docs.write_text(text)


if __name__ == "__main__":
    main()
