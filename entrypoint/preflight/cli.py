"""The `preflight` command: parse arguments, run the pipeline, publish, exit with a code."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from preflight import disk, progress, secrets
from preflight.config import FILENAME, Config, load
from preflight.environment import register_runner_secrets, shield_this_process
from preflight.errors import (
    BlockedError,
    ExitCode,
    InterruptedError_,
    PreflightError,
    UsageError,
    internal_error_line,
)
from preflight.escape import log_line
from preflight.options import apply_options, build_parser, preview_options, squash_options, validate
from preflight.publish.stage import Destinations, publish
from preflight.report import render
from preflight.report.model import Report
from preflight.verdict import verdict


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise InterruptedError_("interrupted by SIGTERM; the throwaway server and temp files were removed")


def destinations(args: argparse.Namespace) -> Destinations:
    """Where `preview`/`gate` write: --format to --output or stdout, and --json."""
    files: list[tuple[str, Path]] = [(args.format, Path(args.output))] if args.output else []
    if args.json_path:
        files.append(("json", Path(args.json_path)))
    return Destinations(stdout=None if args.output else args.format, files=tuple(files))


def cmd_preview(args: argparse.Namespace, out: progress.Progress) -> Report:
    from preflight.preview import preview

    report = preview(preview_options(args), out)
    publish(report, destinations(args))
    if args.output:
        out.log(f"report written to {args.output}")
    return report


def cmd_apply(args: argparse.Namespace, out: progress.Progress) -> Report:
    from preflight import applying

    options = apply_options(args)
    for stale in (args.output, args.json_path):  # a run that ends early must not leave the last run's report
        # Only a regular file of its own: never /dev/null, a FIFO or a device the report was sent to.
        if stale and Path(stale).is_file() and not Path(stale).is_symlink():
            Path(stale).unlink()
    report = applying.run(options, out)
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


def cmd_squash(args: argparse.Namespace, out: progress.Progress) -> int:
    from preflight.publish.files import write
    from preflight.squash import render as squash_render
    from preflight.squash.pipeline import squash_report

    report = squash_report(squash_options(args), out)
    text = squash_render.to_json(report) if args.format == "json" else squash_render.to_markdown(report)
    if args.output:
        write(Path(args.output), text)
        out.log(f"squash report written to {args.output}")
    else:
        sys.stdout.write(text)
    return ExitCode.OK


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
    "apply": cmd_apply,
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
        if args.command == "squash-report":
            return cmd_squash(args, out)
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
