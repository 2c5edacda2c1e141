"""The rule registry: unique codes, every module registered, every rule documented and tested."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from corpus import load

import preflight.rules
from preflight.rules import REGISTRY, Rule
from preflight.rules.base import Category

PREFIX = {
    Category.DESTRUCTIVE: "DS",
    Category.LOCKING: "LK",
    Category.BREAKING: "BR",
    Category.DATA_DEPENDENT: "DD",
    Category.IRREVERSIBLE: "IR",
    Category.REVIEW: "RV",
}
RULE_MODULE = re.compile(r"^[a-z]{2}\d{3}_\w+$")


def test_codes_and_names_are_unique_and_well_formed() -> None:
    codes = [rule.code for rule in REGISTRY]
    names = [rule.name for rule in REGISTRY]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    for rule in REGISTRY:
        assert re.fullmatch(r"[A-Z]{2}\d{3}", rule.code), rule
        assert rule.code.startswith(PREFIX[rule.category]), (rule.code, rule.category)
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.name), rule.name
    assert codes == sorted(codes, key=lambda c: (list(PREFIX.values()).index(c[:2]), c))


def test_every_rule_module_is_registered() -> None:
    modules = [m.name for m in pkgutil.iter_modules(preflight.rules.__path__) if RULE_MODULE.match(m.name)]
    classes = set()
    for name in modules:
        module = importlib.import_module(f"preflight.rules.{name}")
        found = [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Rule) and c is not Rule and c.__module__ == module.__name__
        ]
        assert len(found) == 1, f"{name} must define exactly one rule class"
        assert name.startswith(found[0].code.lower()), f"{name} holds {found[0].code}"
        classes.add(found[0])
    assert classes == set(REGISTRY)


def test_every_rule_is_documented() -> None:
    for rule in REGISTRY:
        doc = inspect.cleandoc(rule.__doc__ or "")
        assert rule.summary() and rule.summary().endswith("."), rule.code
        for section in ("Why is this bad?", "Example:", "Use instead:"):
            assert section in doc, f"{rule.code} docstring lacks {section!r}"


def test_every_rule_has_passing_and_failing_cases() -> None:
    cases = load()
    for rule in REGISTRY:
        mine = [c for c in cases if c.rule == rule.code]
        assert any(c.name.startswith("test_fail_") for c in mine), f"{rule.code} has no failing case"
        assert any(c.name.startswith("test_pass_") for c in mine), f"{rule.code} has no passing case"
    assert len(cases) >= 150


def test_rules_doc_is_current() -> None:
    from pathlib import Path

    from preflight.rules.docs import render

    path = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    assert path.read_text() == render(), "docs/rules.md is stale: python -m preflight.rules.docs > docs/rules.md"
