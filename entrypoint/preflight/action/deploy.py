"""`mode: apply`: the deploy job's apply, with the run's actor and URL in the audit record.

The report goes to the step summary and under RUNNER_TEMP (Markdown and JSON, for an
artifact), its outputs name them and the backup; errors become one `::error` line. There
is no pull request to comment on: apply runs on push, workflow_dispatch or a release.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from preflight.action.settings import Settings
from preflight.errors import ExitCode
from preflight.options import apply_options
from preflight.progress import Progress
from preflight.publish import workflow
from preflight.publish.stage import Destinations, publish


def run(settings: Settings, args: argparse.Namespace, root: Path, temp: Path, out: Progress) -> int:
    """Apply the pending migrations to the target; publish the report; return the exit code."""
    from preflight import applying

    report = applying.run(apply_options(args, via="action"), out)
    folder = temp / "preflight-report"
    folder.mkdir(parents=True, exist_ok=True)
    files = (("markdown", folder / "apply.md"), ("json", folder / "apply.json"))
    published = publish(
        report,
        Destinations(
            files=files,
            summary=Path(settings.summary_path) if settings.summary_path else None,
            outputs=Path(settings.output_path) if settings.output_path else None,
        ),
    )
    deployment = report.deployment
    if deployment is not None and deployment.backup is not None and settings.output_path:
        workflow.write_outputs(Path(settings.output_path), outputs(deployment.backup.path))
    if published.ending is not None:
        print(workflow.message_line("error", published.ending.line()))
        return published.ending.exit_code
    return ExitCode.OK


def outputs(backup_path: str) -> dict[str, str]:
    """The step output apply adds to the report's (action.yml declares it)."""
    return {"backup-path": backup_path}
