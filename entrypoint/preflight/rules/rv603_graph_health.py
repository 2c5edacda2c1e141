from __future__ import annotations

from collections.abc import Iterator

from preflight.probe import protocol
from preflight.rules.base import Category, Context, Finding, Rule, Severity


class GraphHealth(Rule):
    """The target's migration history does not match the code's.

    Why is this bad?
        Migrations applied on the target that this code does not have (a branch
        deployed ahead, a migration deleted or renamed) and squashed migrations only
        partly applied mean the database and the code disagree about the schema. A
        migration that a squashed migration of the code replaces is not missing, even
        when its file was deleted after squashing: Django counts it into the squash.

    Example:
        django_migrations on the target has orders.0014_hotfix; the code has no such file.

    Use instead:
        Bring the missing migrations into this branch (merge the deployed one), or
        fake them out deliberately; finish applying the replaced migrations before
        deploying the squash.
    """

    code = "RV603"
    name = "graph-health"
    category = Category.REVIEW
    severity = Severity.WARNING

    def check_graph(self, health: protocol.GraphHealth, context: Context) -> Iterator[Finding]:
        unknown = list(health.applied_not_in_code)
        if unknown:
            yield self.finding(
                f"the target has {len(unknown)} applied migration{'s' if len(unknown) != 1 else ''} this code lacks: "
                f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}",
                "merge the branch that added them, or fake them out deliberately",
                migrations=unknown,
            )
        for squash, parts in sorted(health.partially_applied_squashes.items()):
            yield self.finding(
                f"squashed migration {squash} is partly applied ({', '.join(parts)} not yet)",
                "apply the replaced migrations before deploying the squash",
                squash=squash,
                missing=list(parts),
            )
