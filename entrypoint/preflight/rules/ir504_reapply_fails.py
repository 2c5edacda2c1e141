from __future__ import annotations

from collections.abc import Iterator

from preflight.evidence.measured import RoundTrip
from preflight.rules.base import Category, Context, Finding, Rule, Severity


class ReapplyFails(Rule):
    """Applying the migrations again after migrating back failed on the copy.

    Why is this bad?
        A rollback followed by a redeploy (the normal way out of a bad release) fails:
        usually a data migration that is not idempotent, or a reverse that did not
        undo everything its forward did.

    Example:
        def forwards(apps, schema_editor):
            Tag.objects.create(name="sale")   # unique name: fails the second time

    Use instead:
        Make data migrations idempotent (get_or_create, update instead of insert) and
        reverses complete.
    """

    code = "IR504"
    name = "reapply-fails"
    category = Category.IRREVERSIBLE
    severity = Severity.ERROR

    def check_round_trip(self, trip: RoundTrip, context: Context) -> Iterator[Finding]:
        again = trip.forward
        if again is None or again.status == "ok":
            return
        yield self.finding(
            f"applying again after migrating back fails at {again.migration}: {again.error}",
            "make data migrations idempotent and reverses complete",
            migration=again.migration,
            sqlstate=again.sqlstate,
        )
