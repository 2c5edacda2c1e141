"""Findings as SARIF 2.1.0, for GitHub code scanning (upload-sarif). Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable

from preflight import __version__
from preflight.escape import json_for_log
from preflight.rules import REGISTRY
from preflight.rules.base import Finding
from preflight.secrets import redact

LEVEL = {"error": "error", "warning": "warning", "info": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def to_sarif(findings: Iterable[Finding], prefix: str = "") -> str:
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary()},
            "help": {"text": "See docs/rules.md in the Preflight repository."},
            "properties": {"category": str(rule.category), "tags": [str(rule.category)]},
            "defaultConfiguration": {"level": LEVEL[str(rule.severity)]},
        }
        for rule in REGISTRY
    ]
    results = []
    for finding in findings:
        result: dict[str, object] = {
            "ruleId": finding.code,
            "level": LEVEL[finding.severity],
            "message": {"text": redact(f"{finding.message}. Fix: {finding.fix}.")},
            "properties": {"migration": finding.label, "operation": finding.operation, "statement": finding.statement},
        }
        if finding.file:
            region = {"startLine": finding.line} if finding.line else {}
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": {"uri": prefix + finding.file}, "region": region}}
            ]
        if finding.approval is not None:
            result["suppressions"] = [{"kind": "external", "justification": finding.approval.reason}]
        results.append(result)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {"tool": {"driver": {"name": "Preflight", "version": __version__, "rules": rules}}, "results": results}
        ],
    }
    return json_for_log(json.dumps(document, indent=2)) + "\n"
