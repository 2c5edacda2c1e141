"""Every action input, read once: the CLI's flags parsed by the CLI's own parser.

GitHub gives a Docker action its inputs as INPUT_<NAME> with the name upper-cased and
hyphens kept (INPUT_TARGET-DATABASE-URL). An input named like a flag of the mode's
command (`preflight preview`, `gate` or `squash-report`, or the top-level `--debug`)
becomes that flag; an input the mode's command has no flag for is not read (GitHub sets
every input that has a default, so `round-trip: on` reaches a squash report too). The
CLI's own parser (`options.build_parser()`) parses the lot: defaults, choices,
validation and error messages are the CLI's. How an input's value becomes argv:

- a flag that takes a value: `--name=value` (so a value starting with `-` stays a value);
- a flag without one: on/off (`--name`, or `--no-name` where the CLI has it);
- a repeatable flag: one `--name=item` per item, items one per line or comma-separated.

An option's input is its last long spelling (`--target-url` is also
`--target-database-url`, the input's name). Only ACTION_ONLY inputs are read here by
hand; CLI_ONLY flags have no input. action.yml declares exactly the rest, and
tests/test_action.py checks it against the parser both ways. PENDING inputs are declared
before their flag exists: until it does, turning one on is refused (exit 2), not ignored.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.errors import UsageError
from preflight.options import Parser, build_parser

MODES = ("preview", "gate", "squash-report", "apply")
ON = ("true", "on", "yes", "1")
OFF = ("false", "off", "no", "0", "")

# Inputs that are not CLI flags, and why (README "Action inputs" lists them too).
ACTION_ONLY = {
    "mode": "the command to run: preview, gate, squash-report or apply",
    "install-command": "the Action installs the project into a virtualenv; the CLI uses yours",
    "python-version": "the Python of that virtualenv",
    "approve-label": "pull-request labels become --approve rules",
    "comment": "the sticky pull-request comment (the CLI's `preflight comment` posts one)",
    "github-token": "the token for the comment, the labels and the squash report's issue",
}
# Inputs declared in action.yml before the change that adds their flag: input -> the flag
# and its command. None now (squash-report's `verify` has its flag).
PENDING: dict[str, tuple[str, str]] = {}
# CLI flags the Action does not take, and why.
CLI_ONLY = {
    "help": "argparse's own",
    "version": "argparse's own",
    "format": "the Action writes the Markdown, JSON and SARIF reports, all three",
    "output": "the Action writes the reports under RUNNER_TEMP and names them in its outputs",
    "json": "as --output",
    "quiet": "the Action always prints one plain line per step",
    "pg-bin": "the container's PostgreSQL programs are on PATH",
    "pg-user": "the container runs the local server as its postgres user",
    "no-capture": "for benchmarks only",
}


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ON:
        return True
    if lowered in OFF:
        return False
    raise UsageError(f"input {name}: {value!r} is not on/off", f"set {name}: on or {name}: off")


def flag_inputs(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.Action]]:
    """Yield (input name, option) for each flag of `parser` the Action takes."""
    for option in parser._actions:  # argparse has no public list of its options
        spellings = [s for s in option.option_strings if s.startswith("--")]
        if isinstance(option, argparse.BooleanOptionalAction):
            spellings = [s for s in spellings if not s.startswith("--no-")]
        if spellings and spellings[-1][2:] not in CLI_ONLY:
            yield spellings[-1][2:], option


def _argv(name: str, option: argparse.Action, raw: str) -> list[str]:
    if option.nargs == 0:  # store_true, or --name/--no-name
        if _flag(raw, name):
            return [f"--{name}"]
        return [f"--no-{name}"] if isinstance(option, argparse.BooleanOptionalAction) else []
    if isinstance(option, argparse._AppendAction):
        return [f"--{name}={item}" for item in raw.replace(",", "\n").split() if item]
    return [f"--{name}={raw}"]


def pending(parser: Parser) -> dict[str, tuple[str, str]]:
    """Return the PENDING inputs whose flag the CLI does not have yet."""
    return {
        name: (flag, command)
        for name, (flag, command) in PENDING.items()
        if flag not in parser.commands[command]._option_string_actions
    }


def command_line(env: Mapping[str, str], command: str) -> list[str]:
    """Return the argv of `preflight <command>` that the INPUT_* variables in `env` stand for."""
    parser = build_parser()
    for name, (flag, wanted) in pending(parser).items():
        if command == wanted and _flag(env.get(f"INPUT_{name.upper()}", ""), name):
            raise UsageError(f"input {name}: {flag} is not available in this version", f"remove {name}: on")
    top: list[str] = []
    sub: list[str] = []
    for argv, options in ((top, parser), (sub, parser.commands[command])):
        for name, option in flag_inputs(options):
            raw = env.get(f"INPUT_{name.upper()}", "").strip()
            if raw:
                argv.extend(_argv(name, option, raw))
    if env.get("RUNNER_DEBUG") == "1" and "--debug" not in top:
        top.append("--debug")  # "Re-run with debug logging" shows tracebacks too
    return [*top, command, *sub]


@dataclass
class Settings:
    args: argparse.Namespace = field(repr=False)  # the CLI's parse (holds the target URL)
    mode: str = "preview"
    install_command: str | None = None
    python_version: str | None = None
    approve_label: str | None = None
    comment: bool = True
    github_token: str | None = field(default=None, repr=False)
    # From the runner, not inputs:
    workspace: Path = field(default_factory=Path.cwd)
    repository: str | None = None
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    run_id: str | None = None
    event_name: str | None = None  # GITHUB_EVENT_NAME: push, pull_request, workflow_dispatch, ...
    event: dict[str, Any] = field(default_factory=dict)
    output_path: str | None = None
    summary_path: str | None = None

    @property
    def pull_number(self) -> int | None:
        number = (self.event.get("pull_request") or {}).get("number") or self.event.get("number")
        return int(number) if number else None

    @property
    def from_fork(self) -> bool:
        pull = self.event.get("pull_request") or {}
        return bool(((pull.get("head") or {}).get("repo") or {}).get("fork"))

    @property
    def run_url(self) -> str | None:
        if self.repository and self.run_id:
            return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
        return None


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Parse INPUT_* with the CLI's parser, and read the runner's GITHUB_* variables."""
    env = os.environ if env is None else env

    def value(name: str) -> str | None:
        raw = env.get(f"INPUT_{name.upper()}", "").strip()
        return raw or None

    mode = value("mode") or "preview"
    if mode not in MODES:
        raise UsageError(
            f"input mode: {mode!r} is not one of {', '.join(MODES)}", "set mode: preview, gate, squash-report or apply"
        )
    event: dict[str, Any] = {}
    if env.get("GITHUB_EVENT_PATH") and Path(env["GITHUB_EVENT_PATH"]).exists():
        event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
    return Settings(
        args=build_parser().parse_args(command_line(env, mode)),
        mode=mode,
        install_command=value("install-command"),
        python_version=value("python-version"),
        approve_label=value("approve-label"),
        comment=_flag(value("comment") or "on", "comment"),
        github_token=value("github-token"),
        workspace=Path(env.get("GITHUB_WORKSPACE") or Path.cwd()),
        repository=env.get("GITHUB_REPOSITORY"),
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        run_id=env.get("GITHUB_RUN_ID"),
        event_name=env.get("GITHUB_EVENT_NAME"),
        event=event,
        output_path=env.get("GITHUB_OUTPUT"),
        summary_path=env.get("GITHUB_STEP_SUMMARY"),
    )
