"""The environments of the processes Preflight starts: allow-listed, never a production secret.

Two kinds of child process get an environment from here:

- processes that run the project's code (the probe, the baseline's probe, `--test-command`,
  the Action's project install): `for_project_code` builds theirs from an allow-list, not
  from Preflight's own environment minus a deny-list, so a variable nobody thought of
  (`PREFLIGHT_TARGET_URL`, `INPUT_GITHUB-TOKEN`, `ACTIONS_RUNTIME_TOKEN`, a cloud key)
  never reaches code written by whoever opened the pull request;
- PostgreSQL's own programs (initdb, the throwaway server, pg_dump, pg_restore, psql):
  `for_postgres` gives them the same allow-list plus the connection Preflight chooses, as
  the project's code can make the server run programs and a plain-SQL dump can make psql.

The allow-list is documented in README.md ("What your project's code can see").
"""

from __future__ import annotations

import ctypes
import fnmatch
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psycopg

from preflight import secrets
from preflight.errors import UsageError

# What a Python program, Django and the usual project code need from the machine.
ALLOWED = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TERM",
    "TMPDIR",
    "TEMP",
    "TMP",
    "CI",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "SYSTEMROOT",
)
# Installing the project also needs the installers' own settings (index URLs, proxies).
INSTALLER = (
    "PIP_*",
    "UV_*",
    "POETRY_*",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
# Never passed, not even by --pass-env: Preflight's own inputs and secrets, the runner's
# tokens, and the variables that would send libpq or Django somewhere else.
FORBIDDEN = (
    "PREFLIGHT_*",
    "INPUT_*",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_*",
    "PG*",
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
)
PR_SET_DUMPABLE = 4
# Variables that would send a child libpq program somewhere we did not choose.
LIBPQ = (
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
)


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _carries_secret(value: str) -> bool:
    return secrets.carried_by(value)


@dataclass(frozen=True)
class PassEnv:
    """Variables the user chose to give the project's code (`--pass-env NAME`, repeatable).

    A NAME may be a shell-style pattern (`DJANGO_*`). A name on the forbidden list, or one
    whose value carries a secret Preflight knows (the target's password, a token), is refused.
    """

    names: tuple[str, ...] = ()

    def validate(self, environ: Mapping[str, str] | None = None) -> None:
        """Raise UsageError for a --pass-env that could hand a secret to the project."""
        environ = os.environ if environ is None else environ
        for name in self.names:
            if not name or any(c in name for c in "= \t\n"):
                raise UsageError(f"--pass-env {name!r} is not a variable name", "pass a NAME (or a NAME_* pattern)")
            if not any(c in name for c in "*?[") and _matches(name, FORBIDDEN):
                raise UsageError(
                    f"--pass-env {name} is never given to the project's code (Preflight's inputs, "
                    "the runner's tokens and libpq variables stay out of it)",
                    "remove it; the project gets DATABASE_URL and its settings are pointed at the copy",
                )
            for variable in sorted(environ):
                if fnmatch.fnmatchcase(variable, name) and _carries_secret(environ[variable]):
                    raise UsageError(
                        f"--pass-env {name}: ${variable} carries the target's password or a token",
                        "pass only variables that hold no production secret",
                    )

    def select(self, environ: Mapping[str, str]) -> dict[str, str]:
        return {
            name: value
            for name, value in environ.items()
            if _matches(name, self.names) and not _matches(name, FORBIDDEN) and not _carries_secret(value)
        }


def for_project_code(
    extra: Mapping[str, str],
    passed: PassEnv | None = None,
    *,
    installer: bool = False,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment for a process that runs the project's code.

    Only allow-listed variables (plus the installers' settings when `installer`), the ones
    the user passed, and `extra` (what Preflight sets itself, e.g. DATABASE_URL of the
    copy) are kept; none whose value carries a secret Preflight knows.
    """
    environ = os.environ if environ is None else environ
    allowed = ALLOWED + (INSTALLER if installer else ())
    env = {
        name: value
        for name, value in environ.items()
        if _matches(name, allowed) and not _matches(name, FORBIDDEN) and not _carries_secret(value)
    }
    if passed is not None:
        env.update(passed.select(environ))
    env.update(extra)
    return env


def shield_this_process() -> None:
    """Make this process non-dumpable (Linux), so project code cannot read its memory.

    The project's code runs as the same OS user as Preflight; while Preflight is dumpable,
    that code could read `/proc/<preflight>/environ` and `/proc/<preflight>/mem`, which hold
    the target URL and tokens. A non-dumpable process's /proc files belong to root. (As root,
    nothing stops another root process; the Action's container is the boundary there.)
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: nothing more this process can do
        return


def for_postgres(extra: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment for PostgreSQL's own programs: the server, initdb, pg_dump, psql.

    Allow-listed too, never Preflight's own: the project's code is superuser on the copy
    and can run `COPY ... FROM PROGRAM 'env'` as the server, and a plain-SQL dump (which
    may come from the pull request) can run `\\! env` in psql. Only `extra` (the connection
    Preflight chooses: host, port, password of the server it talks to) is added.
    """
    return for_project_code(extra or {}, environ=environ)  # the same allow-list, nothing passed on


# Variables whose values are secrets whatever they look like: registered at start-up, so
# that a copy of one under another name (MYTOKEN=$GITHUB_TOKEN) is recognised as well.
SECRET_NAMES = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_*TOKEN*",
    "INPUT_GITHUB-TOKEN",
    "INPUT_TARGET-DATABASE-URL",
    "PREFLIGHT_TARGET_URL",
    "PGPASSWORD",
)


def register_runner_secrets(environ: Mapping[str, str] | None = None) -> None:
    """Register the tokens and URLs in Preflight's own environment with `secrets`."""
    environ = os.environ if environ is None else environ
    for name, value in environ.items():
        if not (_matches(name, SECRET_NAMES) and value):
            continue
        if "://" in value or "=" in value:
            secrets.register_url(value)  # the URL, and its password on its own
        else:
            secrets.register(value)


def for_pg_dump(url: str, options: str) -> tuple[dict[str, str], str]:
    """Return (environment, conninfo without password) for pg_dump with these session options."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    password = str(params.pop("password", "") or "")
    env = for_postgres({"PGOPTIONS": options})
    if password:
        env["PGPASSWORD"] = password  # via the environment: never on a command line
    return env, psycopg.conninfo.make_conninfo("", **params)
