"""The `preflight` command: parse arguments, run the pipeline, print, exit with a code."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from preflight import __version__, checks, disk, progress, secrets
from preflight.config import FAIL_ON, FILENAME, ApprovalRule, Config, load, parse_cli_approval
from preflight.environment import PassEnv, register_runner_secrets, shield_this_process
from preflight.errors import (
    BlockedError,
    ExitCode,
    InterruptedError_,
    PreflightError,
    UsageError,
    internal_error_line,
)
from preflight.escape import log_line
from preflight.publish.stage import Destinations, publish
from preflight.report import render
from preflight.report.model import Report
from preflight.verdict import default_fail_on, verdict

if TYPE_CHECKING:
    from preflight.preview import PreviewOptions

EXIT_CODES_HELP = """exit codes:
  0    the migrations applied cleanly on the copy, and nothing blocks them
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


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise InterruptedError_("interrupted by SIGTERM; the throwaway server and temp files were removed")


def destinations(args: argparse.Namespace) -> Destinations:
    """Where `preview`/`gate` write: --format to --output or stdout, and --json."""
    files: list[tuple[str, Path]] = [(args.format, Path(args.output))] if args.output else []
    if args.json_path:
        files.append(("json", Path(args.json_path)))
    return Destinations(stdout=None if args.output else args.format, files=tuple(files))


def _approvals(args: argparse.Namespace) -> list[ApprovalRule]:
    if args.approve_reason and not args.approve:
        raise UsageError("--approve-reason without --approve", "name what you approve with --approve")
    return [parse_cli_approval(spec, args.approve_reason) for spec in args.approve]


def _target_url(args: argparse.Namespace) -> str | None:
    return args.target_url or os.environ.get("PREFLIGHT_TARGET_URL") or None


def validate(args: argparse.Namespace) -> None:
    """Check every argument that can be checked without work, so a mistake exits 2 at once."""
    if args.command in ("preview", "gate"):
        if not Path(args.project).expanduser().is_dir():  # before the Action installs anything into it
            raise UsageError(f"--project {args.project} is not a directory", "pass the folder that holds manage.py")
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
        target_url = _target_url(args)
        if target_url and (args.target_dump or args.base_ref):
            raise UsageError("PREFLIGHT_TARGET_URL is set together with --target-dump/--base-ref", "choose one source")
        if target_url:
            checks.database_url("--target-url" if args.target_url else "PREFLIGHT_TARGET_URL", target_url)
        if args.target_dump:
            checks.dump_path("--target-dump", args.target_dump)
        if args.python:
            checks.executable("--python", args.python)
        checks.settings_module("--settings", args.settings)
        checks.whole_number("--lock-timeout", args.lock_timeout, 0, checks.MAX_INT4, "pass milliseconds, e.g. 5000")
    if args.command in ("preview", "gate", "demo"):
        checks.postgres_spec("--postgres", args.postgres)
        if args.pg_bin:
            checks.pg_bin("--pg-bin", args.pg_bin)
        checks.os_user("--pg-user", args.pg_user)
    if args.command in ("preview", "gate", "lint-sql") and args.config:
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


def preview_options(args: argparse.Namespace, approvals: Sequence[ApprovalRule] = ()) -> PreviewOptions:
    """Turn parsed `preview`/`gate` arguments into the pipeline's options (the CLI's and the Action's)."""
    from preflight import baseline, project
    from preflight.preview import PreviewOptions

    target_url = _target_url(args)
    if target_url:
        secrets.register_url(target_url)  # before anything starts: no child may see the password
    found = project.discover(args.project, args.settings, args.python, PassEnv(tuple(args.pass_env)))
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


def cmd_preview(args: argparse.Namespace, out: progress.Progress) -> Report:
    from preflight.preview import preview

    report = preview(preview_options(args), out)
    publish(report, destinations(args))
    if args.output:
        out.log(f"report written to {args.output}")
    return report


def cmd_demo(args: argparse.Namespace, out: progress.Progress) -> Report:
    from preflight import demo

    report = demo.run(
        demo.DemoOptions(
            postgres=args.postgres, pg_bin=args.pg_bin, pg_user=args.pg_user, lines=args.lines, save_dump=args.save_dump
        ),
        out,
    )
    directory = Path(args.output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    files = (("markdown", directory / "report.md"), ("json", directory / "report.json"))
    publish(report, Destinations(stdout="markdown", files=files))
    out.log(f"Markdown report: {directory / 'report.md'}")
    out.log(f"JSON report: {directory / 'report.json'}")
    return report


def cmd_comment(args: argparse.Namespace) -> int:
    from preflight.github.client import GitHub
    from preflight.publish.stage import Comment

    token = os.environ.get("GITHUB_TOKEN")
    if not token or not args.repo:
        raise UsageError(
            "preflight comment needs GITHUB_TOKEN and --repo (or GITHUB_REPOSITORY)",
            "run it in a workflow with permissions: pull-requests: write",
        )
    report = _saved_report(args.report)
    github = GitHub(os.environ.get("GITHUB_API_URL", "https://api.github.com"), token)
    published = publish(report, Destinations(comment=Comment(github, args.repo, args.pr, clean=args.clean)))
    sys.stdout.write(published.comment_url + "\n")
    return ExitCode.OK


def _saved_report(path: Path) -> Report:
    """Read a saved JSON report, to be rendered as Markdown here, where the escaping is known to be done.

    In the fork-safe pattern the file comes from the pull request's own workflow run:
    posted as it was, a Markdown file could say anything; data rendered by our templates
    cannot inject.
    """
    import jinja2

    if path.suffix != ".json":
        raise UsageError(
            f"{path} is not a JSON report",
            "pass the report.json of the preview run: the comment is rendered from its data, "
            "so the pull request cannot write Markdown into it",
        )
    fix = "pass the report.json a preview or gate run wrote"
    try:
        report = Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
        render.to_markdown(report)  # a report that does not render is refused here, before any request
        return report
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", fix) from None
    except (ValueError, TypeError, KeyError, AttributeError, jinja2.TemplateError) as exc:
        raise UsageError(f"{path} is not a Preflight report: {exc}", fix) from None


def cmd_lint(args: argparse.Namespace) -> int:
    from preflight import lint

    config_path = args.config or Path(FILENAME)
    config = load(config_path) if config_path.exists() else Config()
    report = lint.lint(
        args.files,
        config.settings,
        args.single_transaction,
        args.fail_on or config.fail_on or "dangerous",
        separately=args.separately,
    )
    formats = {"text": lint.to_text, "json": lint.to_json, "markdown": lint.to_markdown}
    sys.stdout.write(formats[args.format](report))
    return ExitCode.BLOCKED if report.blocking else ExitCode.OK


COMMANDS: dict[str, Callable[[argparse.Namespace, progress.Progress], Report]] = {
    "preview": cmd_preview,
    "gate": cmd_preview,
    "demo": cmd_demo,
}


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"preflight: error: {log_line(secrets.redact(message))}\n")
    return code


def _internal(exc: BaseException, debug: bool) -> int:
    """A bug in Preflight: exit 70 with the traceback under --debug, else one line asking for it."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    return _fail(internal_error_line(exc, debug, "--debug"), ExitCode.INTERNAL)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        raise SystemExit(_fail(exc.line(), exc.exit_code)) from None  # as argparse itself exits
    shield_this_process()
    register_runner_secrets()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    out = progress.for_stream(sys.stderr, quiet=getattr(args, "quiet", False))
    try:
        validate(args)
        if args.command == "lint-sql":
            return cmd_lint(args)
        if args.command == "comment":
            return cmd_comment(args)
        report = COMMANDS[args.command](args, out)
    except PreflightError as exc:
        return _fail(exc.line(), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted by Ctrl-C; the throwaway server and temp files were removed.", ExitCode.INTERRUPTED)
    except OSError as exc:
        if disk.is_enospc(exc):
            where = Path(exc.filename).parent if exc.filename else disk.temp_dir()
            error = disk.full_error("writing a file", where)
            return _fail(error.line(), error.exit_code)
        return _internal(exc, args.debug)
    except Exception as exc:
        return _internal(exc, args.debug)
    finally:
        signal.signal(signal.SIGTERM, previous)
    ending = verdict(report)
    if ending is None or (isinstance(ending, BlockedError) and args.command == "demo"):
        return ExitCode.OK  # the demo shows what would block; it is not a gate
    return _fail(ending.line(), ending.exit_code)
