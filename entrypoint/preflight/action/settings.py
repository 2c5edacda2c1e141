"""Every action input, read once from the environment into one validated object.

GitHub gives a Docker action its inputs as INPUT_<NAME> with the name upper-cased and
hyphens kept (INPUT_TARGET-DATABASE-URL). Each input maps to the CLI flag of the same
name; action.yml documents them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight import checks
from preflight.errors import UsageError
from preflight.rules.gate import FAIL_ON

MODES = ("preview", "gate", "squash-report")


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "on", "yes", "1"):
        return True
    if lowered in ("false", "off", "no", "0", ""):
        return False
    raise UsageError(f"input {name}: {value!r} is not on/off", f"set {name}: on or {name}: off")


@dataclass
class Settings:
    mode: str = "preview"
    project: str = "."
    settings: str | None = None
    target_database_url: str | None = field(default=None, repr=False)
    target_dump: str | None = None
    base_ref: str | None = None
    postgres: str = "auto"
    install_command: str | None = None
    python_version: str | None = None
    python: str | None = None
    fail_on: str | None = None
    approve_label: str | None = None
    comment: bool = True
    github_token: str | None = field(default=None, repr=False)
    config: str | None = None
    lock_timeout: int | None = None
    probe_concurrency: bool = False
    round_trip: bool = True
    test_command: str | None = None
    pass_env: tuple[str, ...] = ()
    allow_empty_target: bool = False
    # From the runner, not inputs:
    workspace: Path = field(default_factory=Path.cwd)
    repository: str | None = None
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    run_id: str | None = None
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
    """Read and validate INPUT_* and the runner's GITHUB_* variables."""
    env = os.environ if env is None else env

    def value(name: str) -> str | None:
        raw = env.get(f"INPUT_{name.upper()}", "").strip()
        return raw or None

    mode = value("mode") or "preview"
    if mode not in MODES:
        raise UsageError(f"input mode: {mode!r} is not one of {', '.join(MODES)}", "set mode: preview or gate")
    fail_on = value("fail-on")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise UsageError(f"input fail-on: {fail_on!r} is not one of {', '.join(FAIL_ON)}", "pick one of them")
    lock_timeout = value("lock-timeout")
    if lock_timeout is not None and not lock_timeout.isdigit():
        raise UsageError(f"input lock-timeout: {lock_timeout!r} is not a number of milliseconds", "e.g. 5000")
    checks.whole_number(
        "input lock-timeout:", int(lock_timeout) if lock_timeout else None, 0, checks.MAX_INT4, "e.g. 5000"
    )
    if value("target-database-url"):
        checks.database_url("input target-database-url", str(value("target-database-url")))
    checks.postgres_spec("input postgres:", value("postgres") or "auto")
    checks.settings_module("input settings:", value("settings"))
    sources = [name for name in ("target-database-url", "target-dump", "base-ref") if value(name)]
    if len(sources) > 1:
        raise UsageError(f"inputs {' and '.join(sources)} are both set", "give one source for the database")
    event: dict[str, Any] = {}
    if env.get("GITHUB_EVENT_PATH") and Path(env["GITHUB_EVENT_PATH"]).exists():
        event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
    return Settings(
        mode=mode,
        project=value("project") or ".",
        settings=value("settings"),
        target_database_url=value("target-database-url"),
        target_dump=value("target-dump"),
        base_ref=value("base-ref"),
        postgres=value("postgres") or "auto",
        install_command=value("install-command"),
        python_version=value("python-version"),
        python=value("python"),
        fail_on=fail_on,
        approve_label=value("approve-label"),
        comment=_flag(value("comment") or "on", "comment"),
        github_token=value("github-token"),
        config=value("config"),
        lock_timeout=int(lock_timeout) if lock_timeout else None,
        probe_concurrency=_flag(value("probe-concurrency") or "off", "probe-concurrency"),
        round_trip=_flag(value("round-trip") or "on", "round-trip"),
        test_command=value("test-command"),
        pass_env=tuple(name for name in (value("pass-env") or "").replace(",", "\n").split() if name),
        allow_empty_target=_flag(value("allow-empty-target") or "off", "allow-empty-target"),
        workspace=Path(env.get("GITHUB_WORKSPACE") or Path.cwd()),
        repository=env.get("GITHUB_REPOSITORY"),
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        run_id=env.get("GITHUB_RUN_ID"),
        event=event,
        output_path=env.get("GITHUB_OUTPUT"),
        summary_path=env.get("GITHUB_STEP_SUMMARY"),
    )
