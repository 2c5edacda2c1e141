"""The probe's answers are read once, at the edge: a malformed one is one clear line, never a KeyError.

Real answers come from the real probe on examples/shop; the malformed ones are those
answers with a key taken out, a type changed or another protocol version named. End to
end, a project interpreter that answers with a malformed plan makes `preflight preview`
exit 3 with one line, and leaves nothing behind.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLE, copy_project, leftovers, run_cli
from preflight.errors import ExitCode, ProjectError
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.probe.protocol import (
    PROTOCOL_VERSION,
    ApplyAnswer,
    PlanAnswer,
    RoundTripAnswer,
    SqlAnswer,
)
from preflight.project import Project

BUG = "This looks like a bug in Preflight's probe: please report it"


@pytest.fixture(scope="module")
def answers(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The raw answers of every verb on a fresh copy of the shop (everything pending)."""
    project = Project(copy_project(EXAMPLE, tmp_path_factory.mktemp("protocol")), "shop.settings", sys.executable)
    database = pg.create_database("protocol")
    url = pg.info.url(database)
    plan = runner.run(project, "plan", url)
    found = {"plan": plan, "sql": runner.run(project, "sql", url), "apply": runner.run(project, "apply", url)}
    back_to = [f"{app}.{to}" for app, to in plan["rollback"].items()]
    found["roundtrip"] = runner.run(project, "roundtrip", url, to=back_to)
    return found


PARSERS = {"plan": PlanAnswer, "sql": SqlAnswer, "apply": ApplyAnswer, "roundtrip": RoundTripAnswer}


def error(verb: str, data: dict[str, Any]) -> ProjectError:
    with pytest.raises(ProjectError) as caught:
        PARSERS[verb].parse(data)
    assert caught.value.exit_code == ExitCode.PROJECT
    return caught.value


def test_real_answers_parse_into_records(answers: dict[str, dict[str, Any]]) -> None:
    plan = PlanAnswer.parse(answers["plan"])
    sql = SqlAnswer.parse(answers["sql"])
    applied = ApplyAnswer.parse(answers["apply"])
    trip = RoundTripAnswer.parse(answers["roundtrip"])
    labels = [m.label for m in plan.pending]
    assert labels and labels == [m.label for m in applied.migrations]
    assert [f"{m.app}.{m.name}" for m in sql.migrations] == labels
    assert all(m.status == "applied" for m in applied.migrations) and applied.failure is None
    first = plan.pending[0]
    assert first.operations[0].describe == answers["plan"]["pending"][0]["operations"][0]["describe"]
    assert sql.of(first.app, first.name).forwards.text == answers["sql"]["migrations"][0]["forwards"]["text"]
    assert plan.django == answers["plan"]["_django"] and plan.has_migrations_table is False  # an empty database
    assert trip.backward.status == answers["roundtrip"]["backward"]["status"]
    assert len(trip.backwards_sql) == len(answers["roundtrip"]["backwards_sql"])


@pytest.mark.parametrize(
    ("verb", "path", "said"),
    [
        ("plan", ["pending"], "it lacks pending"),
        ("plan", ["pending", 0, "operations", 1, "describe"], "it lacks pending[0].operations[1].describe"),
        ("plan", ["health"], "it lacks health"),
        ("sql", ["migrations", 2, "forwards"], "it lacks migrations[2].forwards"),
        ("apply", ["migrations", 0, "statements", 0, "sql"], "it lacks migrations[0].statements[0].sql"),
        ("apply", ["captured"], "it lacks captured"),
        ("roundtrip", ["backward", "status"], "it lacks backward.status"),
    ],
)
def test_a_missing_key_is_one_line(
    answers: dict[str, dict[str, Any]], verb: str, path: list[str | int], said: str
) -> None:
    data = copy.deepcopy(answers[verb])
    holder: Any = data
    for step in path[:-1]:
        holder = holder[step]
    del holder[path[-1]]
    assert error(verb, data).line() == f"the probe's {verb} answer is malformed: {said}. {BUG}"


def test_a_value_of_the_wrong_type_is_one_line(answers: dict[str, dict[str, Any]]) -> None:
    data = copy.deepcopy(answers["apply"])
    data["migrations"][0]["statements"][0]["duration_ms"] = "12 ms"
    assert error("apply", data).line() == (
        f"the probe's apply answer is malformed: migrations[0].statements[0].duration_ms is a string, "
        f"not a number. {BUG}"
    )
    plan = copy.deepcopy(answers["plan"])
    plan["pending"][0]["atomic"] = 1
    assert "pending[0].atomic is an integer, not true or false" in error("plan", plan).line()
    plan = copy.deepcopy(answers["plan"])
    plan["pending"] = {"not": "a list"}
    assert "pending is an object, not a list" in error("plan", plan).line()
    assert "the answer is a list, not an object" in error("sql", []).line()  # type: ignore[arg-type]


def test_another_protocol_version_is_refused(answers: dict[str, dict[str, Any]]) -> None:
    for verb, data in answers.items():
        assert PARSERS[verb].parse({**data, "protocol": PROTOCOL_VERSION})  # its own version reads
        assert error(verb, {**data, "protocol": PROTOCOL_VERSION + 1}).line() == (
            f"the probe's {verb} answer speaks protocol {PROTOCOL_VERSION + 1}, this Preflight reads "
            f"{PROTOCOL_VERSION}. Run the probe that ships with this Preflight (reinstall Preflight)"
        )


def test_unknown_keys_are_ignored_within_a_version(answers: dict[str, dict[str, Any]]) -> None:
    data = copy.deepcopy(answers["plan"])
    data["pending"][0]["operations"][0]["new_in_a_later_probe"] = True
    data["later"] = {"anything": 1}
    assert PlanAnswer.parse(data) == PlanAnswer.parse(answers["plan"])


FAKE = """#!{python}
# A project interpreter whose probe session answers `plan` without its pending migrations.
import json, os, sys
requests = os.fdopen(int(sys.argv[sys.argv.index("--requests-fd") + 1]))
answers = os.fdopen(int(sys.argv[sys.argv.index("--answers-fd") + 1]), "w")
result = {answer}
def send(message):
    answers.write(json.dumps(dict(message, protocol="preflight-probe/2")) + "\\n")
    answers.flush()
send({{"id": None, "type": "ready", "django": "5.2", "python": "3.11", "setup_ms": 1, "pid": os.getpid()}})
for line in requests:
    request = json.loads(line)
    if request["verb"] == "shutdown":
        break
    send({{"id": request["id"], "type": "answer", "ok": True, "result": result, "django": "5.2", "python": "3.11",
           "session": {{"pid": os.getpid(), "setups": 1, "requests": 1}}}})
"""


def test_preview_with_a_malformed_answer_exits_3_with_one_line(
    answers: dict[str, dict[str, Any]], tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    plan = {key: value for key, value in answers["plan"].items() if key != "pending"}
    fake = tmp_path / "python"
    fake.write_text(FAKE.format(python=sys.executable, answer=repr(json.loads(json.dumps(plan)))))
    os.chmod(fake, 0o755)
    done = run_cli("preview", "--project", str(EXAMPLE), "--python", str(fake), "--postgres", "local", env=tmpdir_env)
    assert done.returncode == ExitCode.PROJECT, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("preflight: error: ")]
    assert lines == [f"preflight: error: the probe's plan answer is malformed: it lacks pending. {BUG}"]
    assert "Traceback" not in done.stderr
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []
