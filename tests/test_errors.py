"""User mistakes end in one line naming the real cause and the fix, with the documented exit code.

One test per class of mistake, each case a bad input a user could give. Argument mistakes
must exit 2 before any server starts; the others run the real pipeline (real PostgreSQL,
real Django 4.2 and 5.2, real pg_dump and pg_restore, real full disks on a small tmpfs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg import sql

from conftest import EXAMPLE, PROJECTS, copy_project, leftovers, run_cli
from preflight import lint
from preflight.action.main import action
from preflight.action.settings import from_env
from preflight.cli import main
from preflight.errors import PreflightError
from preflight.postgres.base import Server
from preflight.progress import QuietProgress

STARTED = "starting throwaway PostgreSQL"
TMPDIR_FIX = "Free disk space there, or point TMPDIR at a bigger disk"
ENCODE = "Percent-encode special characters in the user and password (@ is %40, / is %2F, % is %25, space is %20)"


def error_line(stderr: str) -> str:
    """The one `preflight: error:` line, without its prefix (there must be exactly one)."""
    lines = [line for line in stderr.splitlines() if line.startswith("preflight: error: ")]
    assert len(lines) == 1, stderr
    return lines[0].removeprefix("preflight: error: ")


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, float]:
    """Run the real `preflight` main() in this process: exit code, stderr, seconds."""
    started = time.monotonic()
    code = main([str(arg) for arg in argv])
    elapsed = time.monotonic() - started
    return code, capsys.readouterr().err, elapsed


@pytest.fixture(scope="module")
def mount() -> Iterator[Callable[..., Path]]:
    """Mount small tmpfs file systems (root only), unmounted after the module's tests."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def make(size: str, *options: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix="errors-tmpfs-", dir="/tmp"))
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", "mode=0711", *options]), "tmpfs", str(path)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            path.rmdir()
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(path)
        return path

    yield make
    for path in mounted:
        subprocess.run(["umount", str(path)], check=True)
        path.rmdir()


# -- output paths: exit 2 at once, before any server -----------------------------------------


@pytest.fixture(scope="module")
def read_only(mount: Callable[..., Path]) -> Path:
    return mount("1m", "ro")


def _output_cases(tmp: Path, ro: Path) -> list[tuple[list[str], str]]:
    a_file = tmp / "notes.txt"
    a_file.write_text("not a folder\n")
    return [
        (
            ["--output", tmp / "missing" / "r.md"],
            f"--output {tmp}/missing/r.md: the folder {tmp}/missing does not exist",
        ),
        (["--output", tmp], f"--output {tmp} is a directory. Pass a file name, e.g. --output {tmp}/report.md"),
        (
            ["--output", ro / "r.md"],
            f"--output {ro}/r.md: {ro} is on a read-only file system. Write to another folder",
        ),
        (["--output", a_file / "r.md"], f"--output {a_file}/r.md: {a_file} is a file, not a folder"),
        (
            ["--json", tmp / "missing" / "r.json"],
            f"--json {tmp}/missing/r.json: the folder {tmp}/missing does not exist",
        ),
        (["--json", tmp], f"--json {tmp} is a directory"),
        (["--json", ro / "r.json"], f"--json {ro}/r.json: {ro} is on a read-only file system"),
        (["--format", "sarif", "--output", tmp], f"--output {tmp} is a directory"),
        (["--format", "sarif", "--output", ro / "r.sarif"], f"--output {ro}/r.sarif: {ro} is on a read-only file"),
        (["--output", tmp / "r.json", "--json", tmp / "r.json"], "--output and --json name the same file"),
    ]


@pytest.mark.parametrize("command", ["preview", "gate"])
def test_output_paths_are_checked_before_any_work(
    command: str, tmp_path: Path, read_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for options, message in _output_cases(tmp_path, read_only):
        code, stderr, seconds = run_main(
            capsys, command, "--project", EXAMPLE, "--postgres", "local", "--no-round-trip", *options
        )
        assert code == 2, (options, stderr)
        assert message in error_line(stderr), options
        assert STARTED not in stderr and seconds < 1.0, (options, seconds)


def test_demo_output_paths_are_checked_before_any_work(
    tmp_path: Path, read_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x\n")
    cases = [
        (["--output-dir", a_file], f"--output-dir {a_file} is a file. Pass a folder"),
        (["--output-dir", a_file / "demo"], f"--output-dir {a_file}/demo is inside {a_file}, which is a file"),
        (["--output-dir", read_only / "demo"], f"--output-dir {read_only}/demo: {read_only} is on a read-only file"),
        (["--save-dump", tmp_path / "no" / "prod.dump"], f"--save-dump {tmp_path}/no/prod.dump: the folder"),
        (["--save-dump", tmp_path], f"--save-dump {tmp_path} is a directory"),
    ]
    for options, message in cases:
        code, stderr, seconds = run_main(capsys, "demo", "--postgres", "local", "--lines", "100", *options)
        assert code == 2, (options, stderr)
        assert message in error_line(stderr), options
        assert STARTED not in stderr and seconds < 1.0, (options, seconds)


# -- .preflight.yml: exit 2 naming the file -------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfefail_on: any\n", ".preflight.yml: byte 0: is not UTF-8 text. Save the file as UTF-8"),
        (b"fail_on: \xe9\n", ".preflight.yml: byte 9: is not UTF-8 text"),
        (b"- LK208\n", ".preflight.yml: top level: must be a mapping (key: value lines), not a list. See README"),
        (b"dangerous\n", ".preflight.yml: top level: must be a mapping (key: value lines), not plain text"),
        (b"rules: [LK208]\n", ".preflight.yml: rules: must be a mapping. E.g. rules: {LK208: off}"),
        (b"thresholds: [1000]\n", ".preflight.yml: thresholds: must be a mapping"),
        (
            b"thresholds: {lock_ms: yes}\n",
            ".preflight.yml: thresholds.lock_ms: True is not a whole number. E.g. lock_ms: 1000",
        ),
        (
            b"thresholds: {lock_ms: -1}\n",
            ".preflight.yml: thresholds.lock_ms: -1 is negative. Use 0 or more, e.g. lock_ms: 1000",
        ),
        (b"approvals:\n  migration: a.b\n  reason: ok\n", ".preflight.yml: approvals: must be a list"),
        (b"approvals:\n  - {rule: [DS102], reason: ok}\n", ".preflight.yml: approvals[0].rule: no rule ['DS102']"),
        (b"1: x\n", ".preflight.yml: 1: unknown key"),
    ],
)
def test_bad_config_file(content: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_project(PROJECTS / "raising", tmp_path)
    (root / ".preflight.yml").write_bytes(content)
    code, stderr, _ = run_main(capsys, "preview", "--project", root, "--postgres", "local")
    assert code == 2
    assert message in error_line(stderr)
    assert STARTED not in stderr


def test_config_path_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql_file = tmp_path / "a.sql"
    sql_file.write_text("SELECT 1;\n")
    for argv in (["lint-sql", "--config", tmp_path, sql_file], ["preview", "--project", EXAMPLE, "--config", tmp_path]):
        code, stderr, _ = run_main(capsys, *argv)
        assert code == 2
        assert error_line(stderr) == f"--config {tmp_path} is a directory. Pass a file"


# -- migration problems: exit 3 naming the file or the cycle --------------------------------


@pytest.mark.parametrize("series", ["4.2", "5.2"])
@pytest.mark.parametrize(
    "project, edit, message",
    [
        (
            "cycle",
            None,
            "circular migration dependencies: ledger.0001_initial -> ledger.0003_tag -> ledger.0002_memo -> "
            "ledger.0001_initial (each depends on the next). Remove one of these dependencies (in "
            "ledger/migrations/0001_initial.py, ledger/migrations/0003_tag.py, ledger/migrations/0002_memo.py)",
        ),
        (
            "missing_dependency",
            None,
            "migration ledger.0002_memo depends on ledger.0001_squashed_gone, which does not exist "
            "(ledger/migrations/0002_memo.py:6). Fix the dependency in ledger/migrations/0002_memo.py, "
            "or add the missing migration ledger.0001_squashed_gone",
        ),
        (
            "missing_dependency",
            ('("ledger", "0001_squashed_gone")', '("billing", "0001_initial")'),
            "migration ledger.0002_memo depends on billing.0001_initial, but no installed app is labelled "
            "'billing' (ledger/migrations/0002_memo.py:6). Add that app to INSTALLED_APPS, or remove the dependency",
        ),
        (
            "migration_syntax",
            None,
            "migration file ledger/migrations/0002_memo.py does not import: line 9: SyntaxError: ",
        ),
        (
            "migration_import",
            None,
            "migration file ledger/migrations/0002_memo.py does not import: line 4: ModuleNotFoundError: "
            "No module named 'ledger.fields'. Fix the error in that file",
        ),
        (
            "migration_import",
            ("from ledger.fields import MoneyField", "MoneyField = undefined_name"),
            "migration file ledger/migrations/0002_memo.py does not import: line 4: NameError: "
            "name 'undefined_name' is not defined. Fix the error in that file",
        ),
    ],
)
def test_migration_problems_are_project_problems(
    project: str,
    edit: tuple[str, str] | None,
    message: str,
    series: str,
    django_pythons: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = copy_project(PROJECTS / project, tmp_path)
    if edit:
        migration = root / "ledger" / "migrations" / "0002_memo.py"
        migration.write_text(migration.read_text().replace(*edit))
    code, stderr, _ = run_main(
        capsys, "preview", "--project", root, "--python", django_pythons[series], "--postgres", "local"
    )
    assert code == 3, stderr
    line = error_line(stderr)
    assert message in line
    assert "bug in Preflight" not in line and "<frozen" not in line
    assert ("missing migration" in line) == (project == "missing_dependency" and edit is None)


def test_settings_module_that_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stderr, _ = run_main(
        capsys, "preview", "--project", EXAMPLE, "--settings", "nosuch.settings", "--postgres", "local"
    )
    assert code == 3
    assert error_line(stderr) == (
        "settings module 'nosuch.settings' does not import: ModuleNotFoundError: No module named 'nosuch'. "
        "Fix the error, or pass --settings with the module manage.py uses"
    )


# -- options checked up front: exit 2 ----------------------------------------------------------


def _added_in_second_commit(repo: Path, source: Path, name: str) -> Path:
    """Make `repo` a git repository whose first commit has no project and whose second adds `source` as `name`."""
    repo.mkdir(exist_ok=True)

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True, text=True)

    git("init", "-q")
    (repo / "README").write_text("first\n")
    git("add", "README")
    git("commit", "-qm", "first")
    if not (repo / name).exists():
        shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    git("add", ".")
    git("commit", "-qm", "add the project")
    return repo / name


def test_options_are_checked_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    not_executable = tmp_path / "python"
    not_executable.write_text("#!/bin/sh\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    fifo = tmp_path / "prod.fifo"
    os.mkfifo(fifo)
    dump = tmp_path / "real.dump"
    dump.write_bytes(b"PGDMP")
    latin1 = tmp_path / "latin1.sql"
    latin1.write_bytes(b"-- caf\xe9\nSELECT 1;\n")
    app = _added_in_second_commit(tmp_path / "repo", PROJECTS / "raising", "app")
    preview = ["preview", "--project", EXAMPLE, "--postgres", "local"]
    cases = [
        ([*preview, "--lock-timeout", "-1"], "--lock-timeout -1 is negative. Pass milliseconds, e.g. 5000"),
        ([*preview, "--lock-timeout", "2147483648"], "--lock-timeout 2147483648 is out of range (0 to 2,147,483,647)"),
        ([*preview, "--python", tmp_path], f"--python {tmp_path} is a directory. Pass the interpreter inside it"),
        ([*preview, "--python", not_executable], f"--python {not_executable} is not executable"),
        ([*preview, "--pg-bin", tmp_path / "nope"], f"--pg-bin {tmp_path}/nope does not exist. Pass the folder of"),
        ([*preview, "--pg-user", "no-such-user-x"], "--pg-user no-such-user-x: there is no such OS user"),
        (["preview", "--project", EXAMPLE, "--postgres", "kubernetes"], "--postgres 'kubernetes' is not a provider"),
        (
            ["preview", "--project", EXAMPLE, "--postgres", "external:db.internal/x"],
            "--postgres external:URL is not a valid PostgreSQL URL",
        ),
        ([*preview, "--settings", "shop/settings.py"], "--settings 'shop/settings.py' is not a Python module name. "),
        (
            [*preview, "--test-command", "pytest 'tests"],
            "--test-command is not a valid shell command: /bin/sh: 1: Syntax error: Unterminated quoted string",
        ),
        ([*preview, "--test-command", "pytest | | wc"], "--test-command is not a valid shell command: "),
        ([*preview, "--test-command", "   "], "--test-command is empty"),
        ([*preview, "--target-dump", tmp_path / "prod.dump"], f"--target-dump {tmp_path}/prod.dump does not exist"),
        ([*preview, "--target-dump", empty], f"--target-dump {empty} is a directory without toc.dat"),
        ([*preview, "--config", tmp_path / "nope.yml"], f"--config {tmp_path}/nope.yml does not exist"),
        ([*preview, "--target-dump", fifo], f"--target-dump {fifo} is not a regular file. Pass a file"),
        ([*preview, "--target-dump", dump, "--output", dump], "--output names the --target-dump file"),
        (
            [*preview, "--target-url", "postgresql://u:pw@127.0.0.1:99999/app"],
            "--target-url has a port outside 1-65535",
        ),
        (["gate", "--project", EXAMPLE, "--approve", "DS999", "--approve-reason", "ok"], "--approve DS999: no rule"),
        (
            ["preview", "--project", app, "--postgres", "local", "--base-ref", "HEAD~1"],
            "the project folder app does not exist at --base-ref HEAD~1 (commit ",
        ),
        (
            ["preview", "--project", app, "--postgres", "local", "--base-ref", "no-such-branch"],
            "--base-ref no-such-branch is not a commit in",
        ),
        (["demo", "--postgres", "local", "--lines", "0"], "--lines 0 is out of range (1 to 100,000,000)"),
        (["demo", "--postgres", "local", "--lines", "-5"], "--lines -5 is negative"),
        (["lint-sql", tmp_path / "nope.sql"], f"SQL file {tmp_path}/nope.sql does not exist"),
        (["lint-sql", tmp_path], f"SQL file {tmp_path} is a directory"),
        (["lint-sql", latin1], f"cannot read {latin1}: 'utf-8' codec can't decode byte 0xe9"),
        (["comment", tmp_path / "report.md", "--pr", "7", "--repo", "o/r"], f"report {tmp_path}/report.md does not"),
        (["comment", latin1, "--pr", "7", "--repo", "o/r"], f"{latin1} is not a JSON report"),
        (["comment", latin1, "--pr", "7", "--repo", "shop"], "--repo 'shop' is not owner/name"),
        (["comment", latin1, "--pr", "0", "--repo", "o/r"], "--pr 0 is out of range"),
    ]
    monkeypatch.setenv("GITHUB_TOKEN", "not-used")  # comment: reach the file before any network
    for argv, message in cases:
        code, stderr, _ = run_main(capsys, *argv)
        assert code == 2, (argv, stderr)
        assert message in error_line(stderr), argv
        assert STARTED not in stderr, argv


def test_argparse_mistakes_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["preview", "--lock-timeout", "soon"])
    assert raised.value.code == 2
    assert error_line(capsys.readouterr().err) == (
        "argument --lock-timeout: invalid int value: 'soon'. Run `preflight preview --help` for the options"
    )


# -- --target-url: exit 2, with the hint to percent-encode, and never the password ------------


@pytest.mark.parametrize(
    "url, message, secret",
    [
        (
            "postgresql://app:Pa@ss-91@db.internal/shop",
            "is not a valid PostgreSQL URL: an @ is not percent-encoded",
            "ss-91",
        ),
        (
            "postgresql://app:Pa/ss-92@db.internal/shop",
            "is not a valid PostgreSQL URL: a / or @ is not percent",
            "ss-92",
        ),
        (
            "postgresql://app:Pa ss-93@db.internal/shop",
            "is not a valid PostgreSQL URL (postgresql://user@host",
            "ss-93",
        ),
        (
            "postgresql://app:100%ss-94@db.internal/shop",
            "is not a valid PostgreSQL URL (postgresql://user@host",
            "ss-94",
        ),
        ("mysql://app:Pass-95@db.internal/shop", "is a mysql:// URL, not a PostgreSQL one", "Pass-95"),
        ("db.internal:5432/shop", "is not a valid PostgreSQL URL (postgresql://user@host:port/dbname) or libpq", None),
        ("postgresql://app:Pass-96@db.internal:54x2/shop", "has a port that is not a number", "Pass-96"),
    ],
)
@pytest.mark.parametrize("via", ["--target-url", "PREFLIGHT_TARGET_URL"])
def test_malformed_target_url(
    url: str,
    message: str,
    secret: str | None,
    via: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = ["preview", "--project", EXAMPLE, "--postgres", "local"]
    if via == "--target-url":
        argv += ["--target-url", url]
    else:
        monkeypatch.setenv("PREFLIGHT_TARGET_URL", url)
    code, stderr, _ = run_main(capsys, *argv)
    assert code == 2, stderr
    line = error_line(stderr)
    assert line.startswith(f"{via} {message}")
    if url.startswith("postgresql://") and "port" not in message:
        assert line.endswith(ENCODE)
    assert secret is None or secret not in stderr
    assert STARTED not in stderr


# -- a full disk anywhere: exit 6 naming the directory and what is free --------------------


@pytest.fixture
def big_target(pg: Server) -> Iterator[str]:
    """A database with 13 MB of random bytes: its pg_dump -Fc does not fit in 8 MB."""
    name = pg.create_database("big")
    with pg.connect(name) as conn:
        conn.execute(
            "CREATE TABLE blobs AS SELECT decode(md5(random()::text) || md5(random()::text), 'hex') AS b "
            "FROM generate_series(1, 400000)"
        )
        conn.execute(sql.SQL("CREATE ROLE errors_user LOGIN SUPERUSER PASSWORD 'Disk-pw-77'"))
    yield f"postgresql://errors_user:Disk-pw-77@{pg.info.host}:{pg.info.port}/{name}"
    pg.drop_database(name)
    with pg.connect() as conn:
        conn.execute("DROP ROLE errors_user")


def test_full_disk_for_initdb(mount: Callable[..., Path]) -> None:
    tiny = mount("8m")
    done = run_cli("preview", "--project", str(EXAMPLE), "--postgres", "local", env={"TMPDIR": str(tiny)})
    assert done.returncode == 6, done.stderr
    line = error_line(done.stderr)
    assert line.startswith(f"initdb could not write the throwaway cluster: no space left on device in {tiny} (")
    assert "free of 8.4 MB after the failed write). " in line and line.endswith(TMPDIR_FIX)
    assert leftovers(tiny) == []


def test_full_disk_during_restore(tmp_path: Path, mount: Callable[..., Path]) -> None:
    tiny = mount("64m")  # room for a cluster, not for the restored data
    dump = tmp_path / "big.dump"  # on the real disk; only the throwaway server is on the tmpfs
    dump.write_text(
        "CREATE TABLE big AS SELECT g, repeat(md5(g::text), 8) AS filler FROM generate_series(1, 400000) g;\n"
    )
    done = run_cli(
        "preview",
        "--project",
        str(EXAMPLE),
        "--postgres",
        "local",
        "--target-dump",
        str(dump),
        env={"TMPDIR": str(tiny)},
    )
    assert done.returncode == 6, done.stderr
    line = error_line(done.stderr)
    assert line.startswith(f"restoring big.dump into the throwaway server: no space left on device in {tiny} (")
    assert line.endswith(TMPDIR_FIX) and "make a new dump" not in line
    assert leftovers(tiny) == []


def test_full_disk_while_a_migration_runs_on_the_copy(tmp_path: Path, mount: Callable[..., Path]) -> None:
    tiny = mount("64m")
    root = copy_project(PROJECTS / "fills_disk", tmp_path)
    done = run_cli("preview", "--project", str(root), "--postgres", "local", env={"TMPDIR": str(tiny)})
    assert done.returncode == 6, done.stderr  # not 4: the migration is fine, the disk is not
    line = error_line(done.stderr)
    assert line.startswith(f"applying ledger.0002_history on the copy: no space left on device in {tiny} (")
    assert line.endswith(TMPDIR_FIX)
    assert leftovers(tiny) == []


def test_full_disk_while_dumping_the_target(big_target: str, mount: Callable[..., Path]) -> None:
    tiny = mount("8m")
    done = run_cli(
        "preview",
        "--project",
        str(EXAMPLE),
        "--postgres",
        "local",
        "--target-url",
        big_target,
        env={"TMPDIR": str(tiny)},
    )
    assert done.returncode == 6, done.stderr  # not 5: the target is fine, the disk is not
    line = error_line(done.stderr)
    description = big_target.replace(":Disk-pw-77", "")
    assert line.startswith(f"pg_dump of {description} could not write the dump: no space left on device in {tiny} (")
    assert line.endswith(TMPDIR_FIX) and "Disk-pw-77" not in done.stderr
    assert leftovers(tiny) == []


def test_full_disk_when_writing_the_report(tmp_path: Path, mount: Callable[..., Path]) -> None:
    full = mount("1m")
    filled = subprocess.run(["dd", "if=/dev/zero", f"of={full / 'filler'}", "bs=64k"], capture_output=True, text=True)
    assert "No space left on device" in filled.stderr
    done = run_cli(
        "preview",
        "--project",
        str(PROJECTS / "raising"),
        "--postgres",
        "local",
        "--no-round-trip",
        "--output",
        str(full / "report.md"),
        env={"TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 6, done.stderr
    assert error_line(done.stderr) == (
        f"writing {full}/report.md: no space left on device in {full} (0 B free of 1.0 MB after the failed write). "
        + TMPDIR_FIX
    )


# -- --debug keeps the documented exit code ----------------------------------------------------


def test_debug_keeps_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stderr, _ = run_main(capsys, "--debug", "preview", "--project", EXAMPLE, "--output", tmp_path)
    assert code == 2 and error_line(stderr).startswith(f"--output {tmp_path} is a directory")
    code, stderr, _ = run_main(capsys, "--debug", "preview", "--project", PROJECTS / "not_django")
    assert code == 3 and "is not a Django project" in error_line(stderr)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in Preflight")

    monkeypatch.setattr(lint, "lint", broken)  # stands in for an unknown bug in Preflight's own code
    sql_file = tmp_path / "a.sql"
    sql_file.write_text("SELECT 1;\n")
    code, stderr, _ = run_main(capsys, "--debug", "lint-sql", sql_file)
    assert code == 70
    assert "Traceback (most recent call last)" in stderr and 'raise RuntimeError("a bug in Preflight")' in stderr
    assert error_line(stderr) == (
        "internal error: RuntimeError: a bug in Preflight (the traceback is above; please report it)"
    )
    code, stderr, _ = run_main(capsys, "lint-sql", sql_file)
    assert code == 70 and "Traceback" not in stderr
    assert error_line(stderr) == "internal error: RuntimeError: a bug in Preflight (rerun with --debug and report it)"


# -- the GitHub Action checks its inputs the same way -----------------------------------------


@pytest.mark.parametrize(
    "inputs, message",
    [
        (
            {"TARGET-DATABASE-URL": "postgresql://app:Pa@ss-97@db/shop"},
            "--target-url is not a valid PostgreSQL URL: an @ is not percent-encoded",
        ),
        ({"POSTGRES": "kubernetes"}, "--postgres 'kubernetes' is not a provider"),
        ({"LOCK-TIMEOUT": "99999999999"}, "--lock-timeout 99999999999 is out of range"),
        ({"SETTINGS": "shop/settings.py"}, "--settings 'shop/settings.py' is not a Python module name"),
        ({"TARGET-DUMP": "missing.dump"}, "--target-dump missing.dump does not exist"),
        ({"TARGET-DUMP": "."}, "--target-dump . is a directory without toc.dat"),
        ({"CONFIG": "nope.yml"}, "--config nope.yml does not exist"),
        ({"PROJECT": "nope"}, "--project nope is not a directory"),
        ({"PYTHON": "shop/manage.py"}, "--python shop/manage.py is not executable"),
        ({"BASE-REF": "HEAD~1"}, "the project folder shop does not exist at --base-ref HEAD~1 (commit "),
    ],
)
def test_action_inputs(inputs: dict[str, str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = tmp_path / "ws"
    copy_project(EXAMPLE, workspace)
    _added_in_second_commit(workspace, EXAMPLE, "shop")
    monkeypatch.chdir(workspace)
    env = {"GITHUB_WORKSPACE": str(workspace), "INPUT_PROJECT": "shop", "INPUT_PYTHON": shutil.which("python3") or ""}
    env.update({f"INPUT_{key}": value for key, value in inputs.items()})
    with pytest.raises(PreflightError) as raised:
        action(from_env(env), None, QuietProgress())
    assert message.format(ws=workspace) in raised.value.line()
    assert raised.value.exit_code == 2
    assert "ss-97" not in raised.value.line()


def test_a_cause_ending_in_a_question_takes_no_full_stop() -> None:
    # libpq ends "connection refused" with "Is the server running on that host ...?"
    error = PreflightError("cannot reach the target: Is the server running on that host?", "check --target-url")
    assert error.line() == "cannot reach the target: Is the server running on that host? Check --target-url"
    assert PreflightError("the dump is empty", "make a new one").line() == "the dump is empty. Make a new one"
