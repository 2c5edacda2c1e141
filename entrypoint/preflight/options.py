"""The options of the `preflight` command, and of the Action, which parses its inputs with them.

One parser (`build_parser`), the checks that need no work (`validate`, exit 2 at once),
and the pipeline's options made from the parsed arguments (`preview_options`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn

from preflight import __version__, checks, secrets
from preflight.config import FAIL_ON, FILENAME, ApprovalRule, load, parse_cli_approval
from preflight.environment import PassEnv
from preflight.errors import UsageError
from preflight.verdict import default_fail_on

if TYPE_CHECKING:
    from preflight.apply.pipeline import ApplyOptions
    from preflight.preview import PreviewOptions
    from preflight.project import Project
    from preflight.squash.pipeline import SquashOptions

EXIT_CODES_HELP = """exit codes:
  0    the migrations applied cleanly on the copy (apply: on the target, and the checks after
       passed; or nothing was pending), and nothing blocks them
  1    blocked by findings (gate, or --fail-on): fix them or approve them with a reason
  2    bad arguments or configuration, found before any work: output paths, missing or
       non-UTF-8 inputs, a malformed --target-url, numbers out of range, --python, --pg-bin,
       --pg-user, --postgres, --settings, --test-command, --base-ref, .preflight.yml
  3    project problem: not a Django project, settings do not import, conflicting or circular
       migrations, a dependency on a missing migration, a migration file that does not import
  4    a pending migration failed on the copy (the report says which and why)
  5    target problem: unreachable, wrong password, pg_dump older than the server, corrupt dump
  6    infrastructure: no PostgreSQL binaries, throwaway server failed, disk full (names the
       directory and its free space)
  7    --test-command failed against the migrated copy (the report shows its last lines)
  8    apply: another apply held the migration lock longer than --wait
  9    apply: the backup failed or did not verify; nothing was applied
  70   internal error in Preflight (a bug: please report it; --debug shows the traceback)
  130  interrupted (Ctrl-C or SIGTERM); everything started was stopped and removed
"""


def _postgres_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("throwaway PostgreSQL")
    group.add_argument(
        "--postgres",
        default="auto",
        metavar="auto|local|docker|external:URL",
        help="where the copy runs (auto: docker if an engine answers, else local)",
    )
    group.add_argument("--pg-bin", help="directory with initdb/postgres/pg_dump/pg_restore")
    group.add_argument("--pg-user", help="OS user to run the local server as when root (default: postgres)")
    group.add_argument("--image", help="container image for --postgres docker (default: postgres:<target major>)")


def _rule_options(parser: argparse.ArgumentParser, gate: bool) -> None:
    group = parser.add_argument_group("findings")
    default = "the config's fail_on, else dangerous" if gate else "never"
    group.add_argument(
        "--fail-on", choices=FAIL_ON, help=f"which unapproved findings fail the run (default: {default})"
    )
    group.add_argument("--config", type=Path, help=f"configuration file (default: {FILENAME} in the project)")
    group.add_argument(
        "--approve",
        action="append",
        default=[],
        metavar="CODE|app.migration[:CODE]",
        help="approve findings (repeatable); needs --approve-reason",
    )
    group.add_argument("--approve-reason", help="why the --approve'd findings are safe")


def _evidence_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("evidence from the copy")
    group.add_argument("--lock-timeout", type=int, metavar="MS", help="lock_timeout for every statement on the copy")
    group.add_argument(
        "--probe-concurrency",
        action="store_true",
        help="measure how long a second session's reads and writes wait while migrations run",
    )
    group.add_argument(
        "--round-trip",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="migrate back and forward again on the copy (--no-round-trip skips it)",
    )
    group.add_argument(
        "--test-command",
        help='run your checks against the migrated copy through /bin/sh -c, e.g. "pytest -x tests/"; '
        "failing fails the run (exit 7)",
    )
    group.add_argument("--no-capture", action="store_true", help="do not read locks and rewrites (for benchmarks)")


def _output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "--format",
        choices=("markdown", "json", "sarif"),
        default="markdown",
        help="sarif: findings for GitHub code scanning (upload-sarif)",
    )
    group.add_argument("--output", help="write the report here (default: stdout)")
    group.add_argument("--json", dest="json_path", help="also write the JSON report to this file")
    group.add_argument("--quiet", action="store_true", help="no progress output")


class Parser(argparse.ArgumentParser):
    """argparse with Preflight's one-line error: cause, then where to look (exit 2).

    The error is raised, not printed, so the Action reports its inputs' mistakes (it
    parses them with this same parser) the way it reports every other error.
    """

    commands: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"run `{self.prog} --help` for the options")


def build_parser() -> Parser:
    parser = Parser(
        prog="preflight",
        description="Preview pending Django migrations on a throwaway copy of your database.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"preflight {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = {}

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        parser.commands[name] = commands.add_parser(
            name, help=summary, epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        return parser.commands[name]

    demo = command("demo", "preview the embedded example against a generated production copy")
    demo.add_argument("--output-dir", default="preflight-demo", help="where report.md and report.json go")
    demo.add_argument("--lines", type=int, help="rows in the biggest table (default 500000)")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    demo.add_argument("--save-dump", type=Path, help="keep the demo's production dump here (to try `gate` on it)")
    _postgres_options(demo)

    for name, summary in (
        ("preview", "show what the pending migrations do, on a copy"),
        ("gate", "preview, and fail on dangerous findings unless approved"),
    ):
        sub = command(name, summary)
        sub.add_argument("--project", default=".", help="folder holding manage.py (default: .)")
        sub.add_argument("--settings", help="settings module (default: the one manage.py sets)")
        sub.add_argument(
            "--python", help="the project's interpreter (default: .venv/venv in the project, else this one)"
        )
        sub.add_argument(
            "--pass-env",
            action="append",
            default=[],
            metavar="NAME",
            help="give this environment variable (or NAME_* pattern) to the project's code (repeatable); "
            "by default it sees only PATH, HOME, locale and temp-dir variables",
        )
        source = sub.add_mutually_exclusive_group()
        source.add_argument(
            "--target-url",
            "--target-database-url",  # the Action's input name
            dest="target_url",
            help="database to copy (read-only pg_dump); or env PREFLIGHT_TARGET_URL",
        )
        source.add_argument("--target-dump", type=Path, help="pg_dump file: custom, directory, tar or plain SQL")
        source.add_argument("--base-ref", help="no database: migrate an empty one with the code at this git ref")
        sub.add_argument(
            "--allow-empty-target",
            action="store_true",
            help="the target may have no django_migrations table (gate refuses it otherwise, exit 5; preview warns)",
        )
        _postgres_options(sub)
        _rule_options(sub, gate=name == "gate")
        _evidence_options(sub)
        _output_options(sub)

    squash = command("squash-report", "which apps to squash, what blocks it, what it saves (measured from zero)")
    squash.add_argument("--project", default=".", help="folder holding manage.py (default: .)")
    squash.add_argument("--settings", help="settings module (default: the one manage.py sets)")
    squash.add_argument("--python", help="the project's interpreter (default: .venv/venv in the project, else this)")
    squash.add_argument("--pass-env", action="append", default=[], metavar="NAME", help="as for preview")
    target = squash.add_mutually_exclusive_group()
    target.add_argument(
        "--target-url",
        "--target-database-url",
        dest="target_url",
        help="database whose record says which replaced files can go (read-only pg_dump); or PREFLIGHT_TARGET_URL",
    )
    target.add_argument("--target-dump", type=Path, help="pg_dump file of that database instead")
    squash.add_argument(
        "--verify",
        action="store_true",
        help="run each squash in a temporary copy of the project and prove it: same schema from zero, "
        "accepted by a database that applied the originals, makemigrations clean; with the measured saving",
    )
    squash.add_argument("--format", choices=("markdown", "json"), default="markdown")
    squash.add_argument("--output", help="write the report here instead of stdout")
    squash.add_argument("--quiet", action="store_true", help="no progress output")
    _postgres_options(squash)

    _apply_command(command("apply", "apply the pending migrations to the target: gate, lock, backup, apply, verify"))

    post = command("comment", "post a saved report as the sticky pull-request comment (fork-safe phase two)")
    post.add_argument(
        "report", type=Path, help="report.json written by a preview or gate run (the comment is rendered from it)"
    )
    post.add_argument(
        "--repo", default=os.environ.get("GITHUB_REPOSITORY"), help="owner/name (default: $GITHUB_REPOSITORY)"
    )
    post.add_argument("--pr", type=int, required=True, help="pull request number")
    post.add_argument("--clean", action="store_true", help="the report has nothing blocking (say so if it had)")

    lint = command("lint-sql", "check SQL files with the same rules (no Django, no database)")
    lint.add_argument("files", nargs="+", type=Path, metavar="FILE")
    lint.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    lint.add_argument("--fail-on", choices=FAIL_ON, default=None, help="default: the config's fail_on, else dangerous")
    lint.add_argument("--config", type=Path, help=f"configuration file (default: ./{FILENAME} if present)")
    lint.add_argument(
        "--single-transaction",
        action="store_true",
        help="the files run inside one transaction (as psql -1 or most migration tools do)",
    )
    lint.add_argument(
        "--separately", action="store_true", help="check each file on its own (default: one plan, in order)"
    )
    return parser


def _project_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--project", default=".", help="folder holding manage.py (default: .)")
    sub.add_argument("--settings", help="settings module (default: the one manage.py sets)")
    sub.add_argument("--python", help="the project's interpreter (default: .venv/venv in the project, else this one)")
    sub.add_argument("--pass-env", action="append", default=[], metavar="NAME", help="as for preview")


def _apply_command(sub: argparse.ArgumentParser) -> None:
    _project_options(sub)
    sub.add_argument(
        "--target-url",
        "--target-database-url",
        dest="target_url",
        help="the database to migrate (the project's code runs against it); or env PREFLIGHT_TARGET_URL",
    )
    sub.add_argument("--dry-run", action="store_true", help="print the plan, SQL and findings; touch nothing")
    sub.add_argument(
        "--rehearse",
        action="store_true",
        help="gate on a throwaway copy first, as `preflight gate` does (read-only pg_dump of the target): "
        "measured findings too (locks, rewrites, the round trip); a failure there stops the apply",
    )
    safety = sub.add_argument_group("safety")
    safety.add_argument("--backup-dir", type=Path, help="back up here first (pg_dump -Fc, verified); required")
    safety.add_argument(
        "--no-backup", action="store_true", help="apply without a backup (said in the report and the audit record)"
    )
    safety.add_argument(
        "--wait", type=int, default=300, metavar="SECONDS", help="wait this long for another apply's lock (exit 8)"
    )
    safety.add_argument(
        "--lock-timeout", type=int, default=5000, metavar="MS", help="lock_timeout for every statement (default 5000)"
    )
    safety.add_argument(
        "--statement-timeout",
        type=int,
        default=3_600_000,
        metavar="MS",
        help="statement_timeout for every statement, 0 for none (default 3600000: one hour)",
    )
    safety.add_argument(
        "--retries", type=int, default=3, help="retries after a lock timeout, where a retry is safe (default 3)"
    )
    safety.add_argument(
        "--backoff", type=int, default=1000, metavar="MS", help="wait before the first retry, doubling (default 1000)"
    )
    safety.add_argument(
        "--backoff-max", type=int, default=30_000, metavar="MS", help="longest wait between retries (default 30000)"
    )
    safety.add_argument(
        "--test-command", help="run your smoke tests against the migrated target through /bin/sh -c (exit 7)"
    )
    safety.add_argument("--audit-log", type=Path, help="append the audit record (JSON lines) to this file")
    safety.add_argument("--audit-table", help="also append it to this table in the target ([schema.]name)")
    _rule_options(sub, gate=True)
    _postgres_options(sub)  # the rehearsal's copy (--rehearse); --pg-bin also for the backup
    group = sub.add_argument_group("output")
    group.add_argument("--format", choices=("markdown", "json"), default="markdown")
    group.add_argument("--output", help="write the report here (default: stdout)")
    group.add_argument("--json", dest="json_path", help="also write the JSON report to this file")
    group.add_argument("--quiet", action="store_true", help="no progress output")


def _approvals(args: argparse.Namespace) -> list[ApprovalRule]:
    if args.approve_reason and not args.approve:
        raise UsageError("--approve-reason without --approve", "name what you approve with --approve")
    return [parse_cli_approval(spec, args.approve_reason) for spec in args.approve]


def _target_url(args: argparse.Namespace) -> str | None:
    return args.target_url or os.environ.get("PREFLIGHT_TARGET_URL") or None


def validate(args: argparse.Namespace) -> None:
    """Check every argument that can be checked without work, so a mistake exits 2 at once."""
    # The project first: before the Action installs anything into it.
    if args.command in ("preview", "gate", "squash-report") and not Path(args.project).expanduser().is_dir():
        raise UsageError(f"--project {args.project} is not a directory", "pass the folder that holds manage.py")
    if args.command in ("preview", "gate"):
        for option, value, example in (
            ("--output", args.output, "report.md"),
            ("--json", args.json_path, "report.json"),
        ):
            if value:
                checks.output_file(option, value, example)
        if args.output and args.json_path and Path(args.output).resolve() == Path(args.json_path).resolve():
            raise UsageError("--output and --json name the same file", "give the JSON report a file of its own")
        for option, value in (("--output", args.output), ("--json", args.json_path)):
            if value and args.target_dump and Path(value).resolve() == Path(args.target_dump).resolve():
                raise UsageError(f"{option} names the --target-dump file", "write the report to a file of its own")
        checks.whole_number("--lock-timeout", args.lock_timeout, 0, checks.MAX_INT4, "pass milliseconds, e.g. 5000")
    if args.command == "apply":
        _validate_apply(args)
    if args.command == "squash-report" and args.output:
        checks.output_file("--output", args.output, "squash.md")
    if args.command in ("preview", "gate", "squash-report"):
        target_url = _target_url(args)
        if target_url and (args.target_dump or getattr(args, "base_ref", None)):
            raise UsageError("PREFLIGHT_TARGET_URL is set together with --target-dump/--base-ref", "choose one source")
        if target_url:
            checks.database_url("--target-url" if args.target_url else "PREFLIGHT_TARGET_URL", target_url)
        if args.target_dump:
            checks.dump_path("--target-dump", args.target_dump)
        if args.python:
            checks.executable("--python", args.python)
        checks.settings_module("--settings", args.settings)
    if args.command in ("preview", "gate", "demo", "squash-report"):
        checks.postgres_spec("--postgres", args.postgres)
        if args.pg_bin:
            checks.pg_bin("--pg-bin", args.pg_bin)
        checks.os_user("--pg-user", args.pg_user)
    if args.command in ("preview", "gate", "lint-sql", "apply") and args.config:
        checks.input_file("--config", args.config)
    if args.command == "demo":
        checks.whole_number("--lines", args.lines, 1, 100_000_000, "e.g. --lines 20000")
        checks.output_dir("--output-dir", args.output_dir)
        if args.save_dump:
            checks.output_file("--save-dump", args.save_dump, "prod.dump")
    if args.command == "lint-sql":
        for path in args.files:
            checks.input_file("SQL file", path)
    if args.command == "comment":
        checks.input_file("report", args.report)
        checks.repository("--repo", args.repo)
        checks.whole_number("--pr", args.pr, 1, checks.MAX_INT4, "pass the pull request's number")


def _validate_apply(args: argparse.Namespace) -> None:
    if not Path(args.project).expanduser().is_dir():
        raise UsageError(f"--project {args.project} is not a directory", "pass the folder that holds manage.py")
    target_url = _target_url(args)
    if not target_url:
        raise UsageError("apply needs the database to migrate", "pass --target-url URL or set PREFLIGHT_TARGET_URL")
    checks.database_url("--target-url" if args.target_url else "PREFLIGHT_TARGET_URL", target_url)
    if not args.dry_run:
        if args.backup_dir and args.no_backup:
            raise UsageError("--backup-dir and --no-backup together", "choose one: a backup first, or explicitly none")
        if not args.backup_dir and not args.no_backup:
            raise UsageError(
                "apply backs up the target first and needs --backup-dir",
                "pass --backup-dir DIR, or --no-backup to apply without one (the report and audit record say so)",
            )
        if args.backup_dir:
            checks.output_dir("--backup-dir", str(args.backup_dir))
    for option, value, low, high, example in (
        ("--wait", args.wait, 0, 86_400, "e.g. --wait 300"),
        ("--lock-timeout", args.lock_timeout, 1, checks.MAX_INT4, "pass milliseconds, e.g. 5000"),
        ("--statement-timeout", args.statement_timeout, 0, checks.MAX_INT4, "pass milliseconds, 0 for none"),
        ("--retries", args.retries, 0, 20, "e.g. --retries 3"),
        ("--backoff", args.backoff, 0, 600_000, "pass milliseconds, e.g. 1000"),
        ("--backoff-max", args.backoff_max, 0, 3_600_000, "pass milliseconds, e.g. 30000"),
    ):
        checks.whole_number(option, value, low, high, example)
    for option, value, example in (("--output", args.output, "apply.md"), ("--json", args.json_path, "apply.json")):
        if value:
            checks.output_file(option, value, example)
    if args.audit_log:
        checks.output_file("--audit-log", str(args.audit_log), "audit.jsonl")
    if args.audit_table:
        from preflight.apply.audit import table_identifier

        table_identifier(args.audit_table)  # [schema.]name, or exit 2 before anything runs
    if args.python:
        checks.executable("--python", args.python)
    checks.settings_module("--settings", args.settings)
    checks.postgres_spec("--postgres", args.postgres)
    if args.pg_bin:
        checks.pg_bin("--pg-bin", args.pg_bin)
    checks.os_user("--pg-user", args.pg_user)


def apply_options(
    args: argparse.Namespace, approvals: Sequence[ApprovalRule] = (), via: Literal["cli", "action"] = "cli"
) -> ApplyOptions:
    """Turn parsed `apply` arguments into the apply pipeline's options (the CLI's and the Action's)."""
    from preflight.apply.pipeline import ApplyOptions
    from preflight.probe.protocol import DeploySettings

    found, target_url = _project_and_target(args)
    assert target_url is not None  # validate() refused an apply without one
    config = load(args.config or found.root / FILENAME)
    if args.test_command:
        checks.test_command("--test-command", args.test_command, found.python, found.root)
    return ApplyOptions(
        target_url=target_url,
        project=found,
        backup_dir=None if args.dry_run or args.no_backup else args.backup_dir,
        no_backup=args.no_backup,
        wait_s=float(args.wait),
        deploy=DeploySettings(
            lock_timeout_ms=args.lock_timeout,
            statement_timeout_ms=args.statement_timeout,
            retries=args.retries,
            backoff_ms=args.backoff,
            backoff_max_ms=args.backoff_max,
        ),
        config=config,
        approvals=[*_approvals(args), *approvals],
        fail_on=args.fail_on or default_fail_on(config, gate=True),
        test_command=args.test_command,
        audit_log=args.audit_log,
        audit_table=args.audit_table,
        dry_run=args.dry_run,
        rehearse=args.rehearse,
        postgres=args.postgres,
        pg_user=args.pg_user,
        image=args.image,
        via=via,
        pg_bin=args.pg_bin,
    )


def preview_options(args: argparse.Namespace, approvals: Sequence[ApprovalRule] = ()) -> PreviewOptions:
    """Turn parsed `preview`/`gate` arguments into the pipeline's options (the CLI's and the Action's)."""
    from preflight import baseline
    from preflight.preview import PreviewOptions

    found, target_url = _project_and_target(args)
    config = load(args.config or found.root / FILENAME)
    checks.test_command("--test-command", args.test_command, found.python, found.root)
    if args.base_ref:
        baseline.resolve(found.root, args.base_ref)
    return PreviewOptions(
        project=found,
        target_url=target_url,
        target_dump=args.target_dump,
        base_ref=args.base_ref,
        postgres=args.postgres,
        pg_bin=args.pg_bin,
        pg_user=args.pg_user,
        image=args.image,
        config=config,
        approvals=[*_approvals(args), *approvals],
        fail_on=args.fail_on or default_fail_on(config, gate=args.command == "gate"),
        lock_timeout=args.lock_timeout,
        probe_concurrency=args.probe_concurrency,
        round_trip=args.round_trip,
        test_command=args.test_command,
        capture=not args.no_capture,
        refuse_empty_target=args.command == "gate" and not args.allow_empty_target,
    )


def _project_and_target(args: argparse.Namespace) -> tuple[Project, str | None]:
    """The project found from --project/--settings/--python, and the target URL, its password registered."""
    from preflight import project

    target_url = _target_url(args)
    if target_url:
        secrets.register_url(target_url)  # before anything starts: no child may see the password
    return project.discover(args.project, args.settings, args.python, PassEnv(tuple(args.pass_env))), target_url


def squash_options(args: argparse.Namespace) -> SquashOptions:
    """Turn parsed `squash-report` arguments into the squash pipeline's options."""
    from preflight.squash.pipeline import SquashOptions

    found, target_url = _project_and_target(args)
    return SquashOptions(
        project=found,
        target_url=target_url,
        target_dump=args.target_dump,
        postgres=args.postgres,
        pg_bin=args.pg_bin,
        pg_user=args.pg_user,
        image=args.image,
        verify=args.verify,
    )
