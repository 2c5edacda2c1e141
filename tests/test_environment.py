"""Production secrets never reach a process that runs the project's code.

tests/projects/envspy records `os.environ` from its settings (every probe process, the
baseline's probe, --test-command) and from a data migration. These tests run the real
`preflight` command with a distinctive target password and runner tokens in its own
environment, then read every recorded environment.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from conftest import PROJECTS, copy_project, run_cli
from preflight import secrets
from preflight.action.install import install
from preflight.environment import PassEnv, for_project_code
from preflight.postgres.base import Server
from preflight.progress import QuietProgress

PASSWORD = "Quokka-7731-prod-pw"
TOKEN = "ghs_SpyTokenThatMustNeverLeak0042"
RUNTIME_TOKEN = "eyJ-actions-runtime-token-0042"
CLOUD_KEY = "aws-secret-key-that-must-stay-0042"

# What a CI runner's environment looks like to Preflight: tokens, inputs, libpq variables.
RUNNER_ENV = {
    "GITHUB_TOKEN": TOKEN,
    "INPUT_GITHUB-TOKEN": TOKEN,
    "ACTIONS_RUNTIME_TOKEN": RUNTIME_TOKEN,
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": RUNTIME_TOKEN,
    "PGPASSWORD": PASSWORD,
    "PGHOST": "production.invalid",
    "AWS_SECRET_ACCESS_KEY": CLOUD_KEY,
    "SPY_FLAG": "passed-on-purpose",
    "SPY_HIDDEN": "not-passed",
}


@pytest.fixture
def target_url(pg: Server) -> Iterator[str]:
    """A 'production' database of the envspy project (0001 applied) behind a password."""
    name = pg.create_database("envspy")
    with pg.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE spy_owner LOGIN PASSWORD {}").format(sql.Literal(PASSWORD)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO spy_owner").format(sql.Identifier(name)))
    url = f"postgresql://spy_owner:{PASSWORD}@{pg.info.host}:{pg.info.port}/{name}"
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE django_migrations (id bigserial PRIMARY KEY, app varchar(255) NOT NULL,"
            " name varchar(255) NOT NULL, applied timestamptz NOT NULL)"
        )
        conn.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('spy', '0001_initial', now())")
        conn.execute("CREATE TABLE spy_note (id bigserial PRIMARY KEY, text text NOT NULL)")
        conn.execute("INSERT INTO spy_note (text) SELECT 'note ' || g FROM generate_series(1, 100) g")
    yield url
    pg.drop_database(name)
    with pg.connect() as conn:
        conn.execute("DROP ROLE spy_owner")


@pytest.fixture
def spy_tmp(tmpdir_env: dict[str, str]) -> Path:
    return Path(tmpdir_env["TMPDIR"])


def _recorded(tmp: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted((tmp / "envspy").glob("*.json"))]


def _assert_clean(records: list[dict[str, object]], url: str) -> None:
    assert records, "the project recorded no environment: the scenario did not run"
    for record in records:
        env = record["env"]
        assert isinstance(env, dict)
        text = json.dumps(env)
        for secret in (PASSWORD, TOKEN, RUNTIME_TOKEN, CLOUD_KEY, url):
            assert secret not in text, f"{secret!r} reached the project's code ({record['argv']})"
        assert not [name for name in env if name.startswith(("PREFLIGHT_TARGET", "INPUT_", "ACTIONS_", "PGP", "PGH"))]
        assert "GITHUB_TOKEN" not in env and "AWS_SECRET_ACCESS_KEY" not in env and "SPY_HIDDEN" not in env
        if record["argv"] == ["postgres-server"]:
            continue  # what the throwaway server runs programs with (COPY ... FROM PROGRAM)
        assert env["SPY_FLAG"] == "passed-on-purpose"  # --pass-env SPY_FLAG
        assert "127.0.0.1" in env["DATABASE_URL"] or "/" in env["DATABASE_URL"]  # the copy, never production
        assert "spy_owner" not in env["DATABASE_URL"]


@pytest.mark.parametrize("command, how", [("preview", "env"), ("gate", "flag")])
def test_target_password_and_tokens_never_reach_project_code(
    command: str, how: str, target_url: str, spy_tmp: Path, tmp_path: Path
) -> None:
    project = copy_project(PROJECTS / "envspy", tmp_path)
    env = {**RUNNER_ENV, "TMPDIR": str(spy_tmp)}
    args = [command, "--project", str(project), "--postgres", "local", "--pass-env", "SPY_FLAG"]
    args += ["--test-command", "python manage.py check"]
    if how == "env":
        env["PREFLIGHT_TARGET_URL"] = target_url
    else:
        args += ["--target-url", target_url]
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr
    records = _recorded(spy_tmp)
    _assert_clean(records, target_url)
    argvs = [" ".join(map(str, r["argv"])) for r in records]  # type: ignore[call-overload]
    assert any("check" in argv for argv in argvs), argvs  # --test-command ran and was inspected
    assert any(argv == "" for argv in argvs), argvs  # the data migration ran and was inspected
    assert "postgres-server" in argvs, argvs  # and it read the throwaway server's environment
    assert PASSWORD not in done.stdout + done.stderr


def test_baseline_worktree_gets_the_same_environment(target_url: str, spy_tmp: Path, tmp_path: Path) -> None:
    project = copy_project(PROJECTS / "envspy", tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run([*git, "-C", str(project), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(project), "commit", "-qm", "base"], check=True)
    env = {**RUNNER_ENV, "TMPDIR": str(spy_tmp), "PREFLIGHT_TARGET_URL": ""}
    done = run_cli(
        "preview", "--project", str(project), "--postgres", "local", "--base-ref", "HEAD", "--pass-env", "SPY_FLAG",
        env={**env, "DATABASE_URL_OF_PROD": target_url},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    records = _recorded(spy_tmp)
    _assert_clean(records, target_url)
    assert any("preflight-base-" in str(r.get("cwd")) for r in records)  # the baseline's probe was inspected


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("GITHUB_TOKEN", TOKEN, "--pass-env GITHUB_TOKEN is never given to the project's code"),
        ("PGPASSWORD", PASSWORD, "--pass-env PGPASSWORD is never given to the project's code"),
        ("PREFLIGHT_TARGET_URL", "x", "--pass-env PREFLIGHT_TARGET_URL is never given"),
        ("LEAKY_URL", "TARGET", "--pass-env LEAKY_URL: $LEAKY_URL carries the target's password or a token"),
        ("MY_*", "TARGET", "--pass-env MY_*: $MY_COPY carries the target's password"),
    ],
)
def test_pass_env_refuses_secrets(name: str, value: str, message: str, target_url: str, spy_tmp: Path) -> None:
    variable = "MY_COPY" if name == "MY_*" else name
    env = {"TMPDIR": str(spy_tmp), variable: target_url if value == "TARGET" else value}
    done = run_cli(
        "gate", "--project", str(PROJECTS / "envspy"), "--postgres", "local", "--target-url", target_url,
        "--pass-env", name, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert not (spy_tmp / "envspy").exists()  # refused before any project code ran


def test_action_install_runs_without_runner_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in RUNNER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INPUT_TARGET-DATABASE-URL", f"postgresql://u:{PASSWORD}@db.example/prod")
    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.example/simple")
    secrets.register(TOKEN)
    secrets.register_url(f"postgresql://u:{PASSWORD}@db.example/prod")
    (tmp_path / "proj").mkdir()
    seen = tmp_path / "install-env.json"
    (tmp_path / "proj" / "spy.py").write_text(
        f"import json, os\njson.dump(dict(os.environ), open({str(seen)!r}, 'w'))\n"
    )
    command = f"{sys.executable} spy.py"
    install(tmp_path / "proj", tmp_path / "venv", command, None, PassEnv(("SPY_FLAG",)), QuietProgress())
    env = json.loads(seen.read_text())
    text = json.dumps(env)
    for secret in (PASSWORD, TOKEN, RUNTIME_TOKEN, CLOUD_KEY):
        assert secret not in text
    assert env["PIP_INDEX_URL"] == "https://pypi.example/simple"  # installers keep their own settings
    assert env["VIRTUAL_ENV"] == str(tmp_path / "venv")
    assert env["SPY_FLAG"] == "passed-on-purpose" and "SPY_HIDDEN" not in env


def test_allow_list_keeps_what_python_needs_and_drops_values_carrying_secrets() -> None:
    secrets.register("Distinct-Secret-Value-99")
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "LC_CTYPE": "C.UTF-8",
        "TMPDIR": "/tmp/x",
        "SECRET_KEY": "django-insecure",
        "CI": "true",
        "LANGUAGE": "Distinct-Secret-Value-99",
        "REDIS_URL": "redis://cache:6379/0",
        "TZ": "postgresql://app:pw@db/prod",
    }
    env = for_project_code({"DATABASE_URL": "postgresql://copy"}, environ=environ)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "LC_CTYPE": "C.UTF-8",
        "TMPDIR": "/tmp/x",
        "CI": "true",
        "DATABASE_URL": "postgresql://copy",
    }
    passed = for_project_code({}, PassEnv(("SECRET_KEY", "REDIS_*")), environ=environ)
    assert passed["SECRET_KEY"] == "django-insecure" and passed["REDIS_URL"] == "redis://cache:6379/0"


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_DUMPABLE is Linux")
def test_preflight_process_is_not_dumpable_while_it_holds_secrets() -> None:
    # Project code runs as the same OS user as Preflight; a dumpable parent would let it read
    # /proc/<ppid>/environ and /proc/<ppid>/mem, which hold the target URL.
    code = (
        "import ctypes, sys\n"
        "from preflight.environment import shield_this_process\n"
        "shield_this_process()\n"
        "sys.exit(ctypes.CDLL(None, use_errno=True).prctl(3, 0, 0, 0, 0))\n"  # PR_GET_DUMPABLE
    )
    done = subprocess.run([sys.executable, "-c", code], env=os.environ.copy())
    assert done.returncode == 0
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 1  # this test process itself stays dumpable


def test_action_inputs_and_token_never_reach_project_code(
    target_url: str, spy_tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_action import run_action

    shutil.copytree(PROJECTS / "envspy", tmp_path / "workspace" / "spy")
    for name, value in {**RUNNER_ENV, "TMPDIR": str(spy_tmp)}.items():
        monkeypatch.setenv(name, value)  # run_action passes this process's environment on
    done, outputs = run_action(
        tmp_path,
        "http://127.0.0.1:9",
        [],
        project="spy",
        python=sys.executable,
        **{
            "target-dump": "",
            "target-database-url": target_url,
            "github-token": TOKEN,
            "approve-label": "",
            "comment": "off",
            "pass-env": "SPY_FLAG",
            "test-command": "python manage.py check",
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["pending-count"] == "1"
    records = _recorded(spy_tmp)
    _assert_clean(records, target_url)
    assert len(records) >= 4  # plan, sql, apply (settings and the data migration), the test command


def test_watchdog_gets_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # The watchdog outlives Preflight and runs as the same OS user as the project's code.
    from preflight import janitor

    for name, value in RUNNER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PREFLIGHT_TARGET_URL", f"postgresql://u:{PASSWORD}@db.example/prod")
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/podman.sock")
    secrets.register(TOKEN)
    env = janitor._watchdog_env("/src")
    text = json.dumps(env)
    for secret in (PASSWORD, TOKEN, RUNTIME_TOKEN):
        assert secret not in text
    assert env["DOCKER_HOST"] == "unix:///run/podman.sock" and env["PYTHONPATH"] == "/src"


def test_settings_that_need_a_withheld_variable_say_how_to_pass_it(spy_tmp: Path, tmp_path: Path) -> None:
    project = copy_project(PROJECTS / "envspy", tmp_path)
    settings = project / "proj" / "settings.py"
    settings.write_text(
        settings.read_text().replace('SECRET_KEY = "test"', 'SECRET_KEY = os.environ["APP_SECRET_KEY"]')
    )
    env = {"TMPDIR": str(spy_tmp), "APP_SECRET_KEY": "preview-only"}
    done = run_cli("preview", "--project", str(project), "--postgres", "local", "--no-round-trip", env=env)
    assert done.returncode == 3, done.stderr
    assert "KeyError: 'APP_SECRET_KEY' (proj/settings.py:" in done.stderr
    assert (
        "The settings read $APP_SECRET_KEY, which the project's code does not get from Preflight: "
        "pass --pass-env APP_SECRET_KEY" in done.stderr
    )
    done = run_cli(
        "preview", "--project", str(project), "--postgres", "local", "--no-round-trip",
        "--pass-env", "APP_SECRET_KEY", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_pass_env_refuses_a_copy_of_a_runner_token(spy_tmp: Path) -> None:
    env = {"TMPDIR": str(spy_tmp), "GITHUB_TOKEN": TOKEN, "MYTOK": TOKEN, "github_token": TOKEN}
    for name in ("MYTOK", "github_token"):
        done = run_cli("preview", "--project", str(PROJECTS / "envspy"), "--pass-env", name, env=env)
        assert done.returncode == 2, done.stderr
        assert f"--pass-env {name}: ${name} carries the target's password or a token" in done.stderr
        assert TOKEN not in done.stderr + done.stdout


def test_a_plain_sql_dump_cannot_read_the_environment_through_psql(spy_tmp: Path, tmp_path: Path) -> None:
    # A "sanitized" dump kept in the repository can be changed by the pull request.
    seen = spy_tmp / "psql.env"
    dump = tmp_path / "prod.sql"
    dump.write_text(f"\\! env > {seen}\nCREATE TABLE django_migrations (id int);\n")
    env = {**RUNNER_ENV, "TMPDIR": str(spy_tmp)}
    done = run_cli(
        "preview", "--project", str(PROJECTS / "envspy"), "--postgres", "local", "--target-dump", str(dump),
        "--no-round-trip", env=env,
    )  # fmt: skip
    assert seen.exists(), done.stderr  # psql ran the meta-command: the test looked at something
    text = seen.read_text()
    assert "PATH=" in text
    for secret in (PASSWORD, TOKEN, RUNTIME_TOKEN, CLOUD_KEY):
        assert secret not in text
    assert "GITHUB_TOKEN" not in text and "SPY_FLAG" not in text
