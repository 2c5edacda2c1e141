"""Render a SquashReport to Markdown (templates/squash.md.j2) or JSON, as the preview's report is rendered."""

from __future__ import annotations

import json

from preflight import escape
from preflight.report.render import environment
from preflight.secrets import redact
from preflight.squash.model import SquashReport, as_json


def to_markdown(report: SquashReport) -> str:
    return redact(environment().get_template("squash.md.j2").render(report=report))


def to_json(report: SquashReport) -> str:
    return escape.json_for_log(redact(json.dumps(as_json(report), indent=2))) + "\n"
