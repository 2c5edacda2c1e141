"""Every rule against its passing and failing cases: one runner, one case per test."""

from __future__ import annotations

import pytest
from corpus import Case, load

from preflight.rules import BY_CODE, engine
from preflight.rules.base import Finding, Thresholds

CASES = load()


def run_case(case: Case) -> list[Finding]:
    if case.measured:
        run = case.build_run()
        settings = engine.Settings(thresholds=Thresholds(**case.thresholds))
        return engine.run_measured(
            [run] if run else [], case.build_facts(), settings, case.build_round_trip(), case.health
        )
    found = engine.run([case.unit()], case.build_facts(), missing_migrations=case.missing, state=case.state())
    return engine.settle(found, [case.applied_run()]) if case.applied else found


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case) -> None:
    found = [f for f in run_case(case) if f.code == case.rule]
    assert len(found) == case.expect, [f.message for f in found]
    assert (case.expect == 0) == case.name.startswith("test_pass_")
    for finding in found:
        assert finding.message and finding.fix
        # a case that names no severity asserts the rule's default one
        assert finding.severity == (case.severity or str(BY_CODE[case.rule].severity)), finding.message
        if case.message_contains:
            assert case.message_contains in finding.message + " " + finding.fix
        for key, value in case.where.items():
            assert finding.facts.get(key) == value, (key, finding.facts)
        if case.statement_text:
            assert finding.statement == case.statement_text, finding.statement
    if case.statement is not None:
        at = [case.statement] if isinstance(case.statement, int) else case.statement
        texts = [s.text for s in case.unit().statements]
        assert [f.statement for f in found] == [texts[i] for i in at], "finding about the wrong statement"
    elif found and not (case.statement_text or case.where or case.measured or case.missing is not None):
        assert_located(case, found)


def assert_located(case: Case, found: list[Finding]) -> None:
    """Where a case does not say which statement, its only statement, or its operation's line."""
    texts = [s.text for s in case.unit().statements]
    for finding in found:
        if finding.statement is None:
            assert case.operation, "a finding about no statement must come from an operation"
            assert finding.line == 1, "a finding about the operation points at its line"
        else:
            assert len(texts) == 1, "a case with several statements must say which one with `statement:`"
            assert finding.statement == texts[0]
