"""Secrets never printed; progress as timestamped lines when not on a terminal."""

from __future__ import annotations

import io
import re

from preflight import secrets
from preflight.errors import TargetError
from preflight.progress import PlainProgress, for_stream


def test_url_passwords_are_masked_registered_or_not() -> None:
    assert secrets.redact("postgresql://app:hunter2@db:5432/prod") == "postgresql://app:***@db:5432/prod"
    assert secrets.redact("postgres+psycopg://u:p%40ss@h/d failed") == "postgres+psycopg://u:***@h/d failed"
    assert secrets.redact("host=db password='a b' user=x") == "host=db password=*** user=x"


def test_registered_secrets_are_masked_everywhere() -> None:
    secrets.register("tok%2Fen-123")
    assert secrets.redact("token tok%2Fen-123 and tok/en-123") == "token *** and ***"


def test_error_lines_are_redacted_at_the_edge() -> None:
    error = TargetError("cannot reach postgresql://u:pw-123@h/d", "check it")
    assert "pw-123" not in secrets.redact(error.line())
    assert error.line() == "cannot reach postgresql://u:pw-123@h/d. Check it"


def test_plain_progress_lines_are_timestamped_and_redacted() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream)
    with progress.step("restoring", total=2) as step:
        step.advance("postgresql://u:secret-9@h/d")
        step.advance("b")
    lines = stream.getvalue().splitlines()
    assert all(re.match(r"\d\d:\d\d:\d\d preflight: ", line) for line in lines)
    assert "restoring 1/2: postgresql://u:***@h/d" in lines[1]
    assert "restoring 2/2: b" in lines[2] and "done in" in lines[3]
    assert "secret-9" not in stream.getvalue()


def test_no_terminal_means_plain_lines() -> None:
    assert isinstance(for_stream(io.StringIO()), PlainProgress)
