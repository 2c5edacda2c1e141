"""Check what the user gave before any work starts: paths, numbers, URLs, names.

Each check is cheap (a stat, a parse, a table lookup) and raises UsageError naming the
option, the cause and the fix, so a mistake exits 2 in well under a second instead of
after a server was started, a dump was taken and the migrations were run. The CLI and
the GitHub Action run the same checks.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from pathlib import Path

from preflight import secrets
from preflight.errors import UsageError

MAX_INT4 = 2_147_483_647  # PostgreSQL's limit for lock_timeout (ms)
URL_FORM = "postgresql://user@host:port/dbname"
ENCODE = "percent-encode special characters in the user and password (@ is %40, / is %2F, % is %25, space is %20)"
PROVIDERS = ("auto", "local", "docker")
MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
REPO = re.compile(r"^[\w.-]+/[\w.-]+$")


def _read_only(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _writable_dir(option: str, value: str | Path, directory: Path) -> None:
    if _read_only(directory):
        raise UsageError(f"{option} {value}: {directory} is on a read-only file system", "write to another folder")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {value}: no permission to write in {directory}", "write to another folder")


def output_file(option: str, value: str | Path, example: str = "report.md") -> Path:
    """A file Preflight will write: its folder exists and is writable, and it is not a folder."""
    path = Path(value).expanduser()
    if path.is_dir():
        raise UsageError(f"{option} {value} is a directory", f"pass a file name, e.g. {option} {path / example}")
    parent = path.parent
    if not parent.exists():
        raise UsageError(f"{option} {value}: the folder {parent} does not exist", "create it, or write elsewhere")
    if not parent.is_dir():
        raise UsageError(f"{option} {value}: {parent} is a file, not a folder", "pass a path inside a folder")
    _writable_dir(option, value, parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {value}: the file is not writable", "write to another file")
    return path


def output_dir(option: str, value: str | Path) -> Path:
    """A folder Preflight will create (with its parents) and write into."""
    path = Path(value).expanduser()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == path else f"is inside {existing}, which is a file"
        raise UsageError(f"{option} {value} {where}", "pass a folder")
    _writable_dir(option, value, existing)
    return path


def input_file(option: str, value: str | Path) -> Path:
    """A file Preflight will read: it exists, is a file, and may be read (`option` may name a kind of file)."""
    path = Path(value).expanduser()
    if not path.exists():
        raise UsageError(f"{option} {value} does not exist", "check the path")
    if path.is_dir():
        raise UsageError(f"{option} {value} is a directory", "pass a file")
    if not path.is_file():  # a FIFO, socket or device: reading it could wait forever
        raise UsageError(f"{option} {value} is not a regular file", "pass a file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{option} {value} is not readable", "check the file's permissions")
    return path


def dump_path(option: str, value: str | Path) -> Path:
    """A pg_dump file, or a pg_dump -Fd directory (which holds toc.dat)."""
    path = Path(value).expanduser()
    if path.is_dir():
        if not (path / "toc.dat").is_file():
            raise UsageError(
                f"{option} {value} is a directory without toc.dat", "pass a pg_dump -Fd directory, or a dump file"
            )
        return path
    return input_file(option, value)


def pg_bin(option: str, value: str | Path) -> Path:
    """A folder of PostgreSQL programs."""
    path = Path(value).expanduser()
    if not path.is_dir():
        problem = "is not a directory" if path.exists() else "does not exist"
        raise UsageError(f"{option} {value} {problem}", "pass the folder of initdb and postgres (pg_config --bindir)")
    return path


def executable(option: str, value: str | Path) -> Path:
    """A program Preflight will run (the project's Python)."""
    path = Path(value).expanduser()
    if not path.exists():
        raise UsageError(f"{option} {value} does not exist", "pass the path of the project's interpreter")
    if path.is_dir():
        raise UsageError(f"{option} {value} is a directory", "pass the interpreter inside it, e.g. .venv/bin/python")
    if not os.access(path, os.X_OK):
        raise UsageError(f"{option} {value} is not executable", "pass the project's Python interpreter")
    return path


def whole_number(option: str, value: int | None, minimum: int, maximum: int, example: str) -> None:
    if value is not None and not minimum <= value <= maximum:
        problem = "is negative" if value < 0 else f"is out of range ({minimum} to {maximum:,})"
        raise UsageError(f"{option} {value} {problem}", example)


def os_user(option: str, name: str | None) -> None:
    if name is None:
        return
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise UsageError(f"{option} {name}: there is no such OS user", "create it, or name an existing one") from None


def database_url(option: str, url: str) -> None:
    """A PostgreSQL URL or libpq key=value string that libpq will read as the user meant.

    The message never repeats the URL: when it is malformed, nobody can tell which part
    of it is the password.
    """
    import psycopg  # only when there is a URL: it is a third of the CLI's start-up time

    scheme, separator, rest = url.partition("://")
    if separator:
        if scheme.lower() not in ("postgresql", "postgres"):
            named = f"a {scheme}:// URL" if re.fullmatch(r"[A-Za-z][\w+.-]{0,20}", scheme) else "not a URL"
            raise UsageError(f"{option} is {named}, not a PostgreSQL one", f"use {URL_FORM}")
        if rest.split("/", 1)[0].count("@") > 1:
            raise UsageError(f"{option} is not a valid PostgreSQL URL: an @ is not percent-encoded", ENCODE)
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise UsageError(
            f"{option} is not a valid PostgreSQL URL ({URL_FORM}) or libpq connection string",
            ENCODE if separator else f"use {URL_FORM}",
        ) from None
    secrets.register(str(params.get("password") or ""))
    dbname = str(params.get("dbname") or "")
    if separator and ("/" in dbname or "@" in dbname):
        raise UsageError(f"{option} is not a valid PostgreSQL URL: a / or @ is not percent-encoded", ENCODE)
    port = str(params.get("port") or "")
    if port and not re.fullmatch(r"\d+(,\d*)*", port):
        raise UsageError(f"{option} has a port that is not a number", f"use {URL_FORM}, e.g. port 5432")
    if any(not 1 <= int(part) <= 65535 for part in port.split(",") if part):
        raise UsageError(f"{option} has a port outside 1-65535", f"use {URL_FORM}, e.g. port 5432")


def postgres_spec(option: str, value: str) -> None:
    if value in PROVIDERS:
        return
    if value.startswith("external:"):
        database_url(f"{option.rstrip(':')} external:URL", value.removeprefix("external:"))
        return
    raise UsageError(f"{option} {value!r} is not a provider", "use auto, local, docker or external:postgresql://...")


def settings_module(option: str, value: str | None) -> None:
    if value is not None and not MODULE.match(value):
        example = value.removesuffix(".py").replace("/", ".").strip(".") if value.endswith(".py") else "mysite.settings"
        raise UsageError(f"{option} {value!r} is not a Python module name", f"pass the dotted module, e.g. {example}")


def test_command(option: str, value: str | None, python: str, cwd: Path) -> None:
    """The command is not empty and is valid shell syntax (`/bin/sh -n`: parsed, never run).

    It runs through /bin/sh -c, so `VAR=1 pytest`, `cd app && pytest` and pipes are fine;
    a program that does not exist shows as a failed test (exit 127) with the shell's words.
    """
    if value is None:
        return
    if not value.strip():
        raise UsageError(f"{option} is empty", 'e.g. --test-command "pytest -x tests/"')
    parsed = subprocess.run(["/bin/sh", "-n", "-c", value], capture_output=True, text=True, cwd=cwd)
    if parsed.returncode != 0:
        words = " ".join(parsed.stderr.split()) or f"exit {parsed.returncode}"
        raise UsageError(f"{option} is not a valid shell command: {words}", 'quote it as one argument, e.g. "a | b"')


def repository(option: str, value: str | None) -> None:
    if value is not None and not REPO.match(value):
        raise UsageError(f"{option} {value!r} is not owner/name", "e.g. --repo octo-org/shop")
