"""`.preflight.yml`: per-rule severity or off, thresholds, approvals, the gate's default.

    rules:
      LK208: off                # disable a rule
      BR303: error              # change its severity (error | warning | info)
    thresholds:
      locking_rows: 50000       # below this many rows, locking findings are info
      lock_ms: 1000             # a lock blocking writes (LK213) or rows (LK218) held longer than this on the copy
      rewrite_bytes: 10000000   # a table rewrite above this size: LK214 error (below: info)
      statement_ms: 5000        # a statement slower than this on the copy: LK215
    fail_on: dangerous          # the gate's default: destructive | dangerous | any | never
    approvals:
      - migration: orders.0012_remove_order_notes
        rule: DS102             # optional: without it, every finding of the migration
        reason: notes moved to the CRM in 2025; nothing reads them

Every mistake is a ConfigError naming the file, the key and what is expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from preflight.errors import UsageError
from preflight.rules import BY_CODE
from preflight.rules.base import Severity, Thresholds
from preflight.rules.engine import Settings
from preflight.rules.gate import FAIL_ON

FILENAME = ".preflight.yml"
MIGRATION = re.compile(r"^[A-Za-z_][\w]*\.\w+$")


class ConfigError(UsageError):
    """A mistake in .preflight.yml or in an approval."""


@dataclass(frozen=True)
class ApprovalRule:
    """An approval: of one rule (or all) in one migration (or all), and why."""

    source: str  # config | inline | cli | label
    reason: str
    migration: str | None = None  # app.name
    code: str | None = None
    lines: tuple[int, int] | None = None  # inline: the operation's lines in the file
    who: str | None = None  # label: who added it

    def covers(self, label: str | None, code: str, line: int | None) -> bool:
        if self.code not in (None, code) or (self.migration is not None and self.migration != label):
            return False
        return self.lines is None or (line is not None and self.lines[0] <= line <= self.lines[1])


@dataclass
class Config:
    settings: Settings = field(default_factory=Settings)
    approvals: list[ApprovalRule] = field(default_factory=list)
    fail_on: str | None = None
    path: Path | None = None


# A threshold's example value, for the fix of a wrong one.
EXAMPLES = {"locking_rows": 10000, "lock_ms": 1000, "rewrite_bytes": 10000000, "statement_ms": 5000}


def _fail(path: Path, where: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{path.name}: {where}: {problem}", fix)


def load(path: Path) -> Config:
    """Read and validate a config file; a missing file is the default config."""
    if not path.exists():
        return Config()
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a configuration file", f"pass the {FILENAME} file itself")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check the file's permissions") from None
    except UnicodeDecodeError as exc:
        raise _fail(path, f"byte {exc.start}", "is not UTF-8 text", "save the file as UTF-8") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark else "?"
        raise _fail(path, at, "is not valid YAML", "fix the YAML syntax") from None
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "plain text" if isinstance(data, str) else "a single value"
        raise _fail(path, "top level", f"must be a mapping (key: value lines), not {kind}", "see README: Configuration")
    unknown = {str(key) for key in data} - {"rules", "thresholds", "approvals", "fail_on"}
    if unknown:
        raise _fail(path, ", ".join(sorted(unknown)), "unknown key", "use rules, thresholds, approvals or fail_on")
    config = Config(path=path)
    for code, value in _mapping(path, data, "rules", "e.g. rules: {LK208: off}").items():
        if code not in BY_CODE:
            raise _fail(path, f"rules.{code}", "no such rule", "see docs/rules.md for the codes")
        if value is False or str(value).lower() == "off":
            config.settings.disabled.add(code)
        elif str(value).lower() in ("error", "warning", "info"):
            config.settings.severity[code] = Severity.parse(str(value))
        else:
            raise _fail(path, f"rules.{code}", f"{value!r} is not a severity", "use error, warning, info or off")
    thresholds = _mapping(path, data, "thresholds", "e.g. thresholds: {locking_rows: 10000}")
    known = ("locking_rows", "lock_ms", "rewrite_bytes", "statement_ms")
    for key, value in thresholds.items():
        if key not in known:
            raise _fail(path, f"thresholds.{key}", "unknown threshold", f"use {', '.join(known)}")
        example = f"{key}: {EXAMPLES[key]}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, f"thresholds.{key}", f"{value!r} is not a whole number", f"e.g. {example}")
        if value < 0:
            raise _fail(path, f"thresholds.{key}", f"{value} is negative", f"use 0 or more, e.g. {example}")
    config.settings.thresholds = Thresholds(**thresholds)
    fail_on = data.get("fail_on")
    if fail_on is not None and (not isinstance(fail_on, str) or fail_on not in FAIL_ON):
        raise _fail(path, "fail_on", f"{fail_on!r} is not one of {', '.join(FAIL_ON)}", "pick one of them")
    config.fail_on = fail_on
    approvals = data.get("approvals") or []
    if not isinstance(approvals, list):
        raise _fail(path, "approvals", "must be a list", "start each approval with '- migration: ...'")
    for index, entry in enumerate(approvals):
        config.approvals.append(_approval(path, index, entry))
    return config


def _mapping(path: Path, data: dict[str, Any], key: str, example: str) -> dict[Any, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise _fail(path, key, "must be a mapping", example)
    return value


def _approval(path: Path, index: int, entry: Any) -> ApprovalRule:
    where = f"approvals[{index}]"
    if not isinstance(entry, dict):
        raise _fail(path, where, "must be a mapping", "write migration:, rule: and reason:")
    unknown = {str(key) for key in entry} - {"migration", "rule", "reason"}
    if unknown:
        raise _fail(path, f"{where}.{sorted(unknown)[0]}", "unknown key", "use migration, rule and reason")
    reason = str(entry.get("reason") or "").strip()
    if not reason:
        raise _fail(path, where, "an approval needs a reason", "add reason: why this is safe")
    migration, code = entry.get("migration"), entry.get("rule")
    if migration is None and code is None:
        raise _fail(path, where, "approves nothing", "name a migration (app.name), a rule code, or both")
    if migration is not None and not MIGRATION.match(str(migration)):
        raise _fail(path, f"{where}.migration", f"{migration!r} is not app.migration_name", "e.g. orders.0012_x")
    if code is not None and (not isinstance(code, str) or code not in BY_CODE):
        raise _fail(path, f"{where}.rule", f"no rule {code}", "see docs/rules.md for the codes")
    return ApprovalRule("config", reason, migration=migration, code=code)


def parse_cli_approval(spec: str, reason: str | None) -> ApprovalRule:
    """Read --approve CODE | app.migration | app.migration:CODE."""
    if not reason or not reason.strip():
        raise ConfigError("--approve needs --approve-reason", "say why, e.g. --approve-reason 'table is empty in prod'")
    looks_like_code = re.fullmatch(r"[A-Za-z]{2}\d{3}", spec) is not None  # a rule code, even a mistyped one
    migration, _, code = (
        spec.partition(":") if ":" in spec else ((None, "", spec) if looks_like_code else (spec, "", ""))
    )
    if code and code not in BY_CODE:
        raise ConfigError(f"--approve {spec}: no rule {code}", "see docs/rules.md for the codes")
    if migration is not None and not MIGRATION.match(migration):
        raise ConfigError(f"--approve {spec}: {migration!r} is not app.migration_name", "e.g. orders.0012_x:DS102")
    return ApprovalRule("cli", reason.strip(), migration=migration, code=code or None)
