"""Every rule against its passing and failing cases: one runner, one case per test."""

from __future__ import annotations

import pytest
from corpus import Case, load

from preflight.rules import engine
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
        if case.severity:
            assert finding.severity == case.severity, finding.message
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
