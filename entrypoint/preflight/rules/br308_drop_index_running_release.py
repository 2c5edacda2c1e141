from __future__ import annotations

from collections.abc import Iterator

from preflight.evidence.facts import IndexFacts
from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import indexes_dropped
from preflight.sql.parse import Statement

# How PostgreSQL and Django name what a unique or primary-key constraint builds; without
# the copy's catalog (lint-sql) a DROP CONSTRAINT is reported only when its name says so.
_INDEXED_SUFFIXES = {"_pkey": "primary key", "_pk": "primary key", "_key": "unique", "_uniq": "unique"}


class DropIndexRunningRelease(Rule):
    """Dropping an index or a unique constraint makes the running release's lookups scan the table.

    Why is this bad?
        The release still running during the deploy keeps running the queries that used
        the index: `Model.objects.get(token=...)` on every request becomes a sequential
        scan of the table, and a dropped unique or primary-key constraint no longer stops
        duplicates. Reported for DROP INDEX and for ALTER TABLE ... DROP CONSTRAINT of a
        constraint backed by an index (unique, primary key, exclusion) on a table that
        existed before the plan; info below the locking rows threshold. Not reported when
        the plan builds another index on the same table with the same leading column
        (Django's AlterField from unique=True to db_index=True drops the constraint and
        creates a plain index), for an index the plan created or already dropped, nor
        twice for one table and leading column. Without the copy's catalog (lint-sql), a
        DROP INDEX is reported with what its SQL says, and a DROP CONSTRAINT only when
        its name ends as PostgreSQL and Django name unique and primary-key constraints
        (`_key`, `_uniq`, `_pkey`, `_pk`).

    Example:
        ALTER TABLE "oauth2_provider_accesstoken" DROP CONSTRAINT "oauth2_provider_accesstoken_token_key";

    Use instead:
        Build the index the new code needs first and keep the old one until no running
        release queries by it: drop it in a later release (DROP INDEX CONCURRENTLY). If
        the running release never looks rows up by these columns, approve the finding.
    """

    code = "BR308"
    name = "drop-index-running-release"
    category = Category.BREAKING
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for named_table, name, constraint in indexes_dropped(statement.node):
            if name in context.state.dropped_indexes or name in context.state.index_tables:
                continue  # gone already, or built by the plan: the running release never used it
            info = context.facts.index_info.get(name)
            if constraint and info is not None and info.constraint is None:
                continue  # a plain index of that name, not the constraint dropped here
            if info is None:
                guessed = _uncatalogued(named_table, name, constraint, context)
                if guessed is None:
                    continue
                info = guessed
            if _covered(info, context):
                continue
            severity = context.locking_severity(info.table or None, self.severity)
            if severity is None:
                continue
            yield self._finding(name, info, context, severity)

    def _finding(self, name: str, info: IndexFacts, context: Context, severity: Severity) -> Finding:
        on = f" on {info.table}" if info.table else ""
        columns = f" ({', '.join(info.columns)})" if info.columns else ""
        unique = ", and uniqueness is no longer enforced" if info.unique or info.constraint in _UNIQUE_KINDS else ""
        return self.finding(
            f"{info.kind} {name}{on}{columns} is dropped{context.size_note(info.table or None)}: the running "
            f"release's queries that used it scan the table instead{unique}",
            "build the index the new code needs first and drop this one in a later release, once no running "
            "code queries by it; approve if the running release never looks rows up by these columns",
            severity=severity,
            index=name,
            table=info.table or None,
            columns=list(info.columns) or None,
        )


_UNIQUE_KINDS = ("unique", "primary key")


def _uncatalogued(table: str | None, name: str, constraint: bool, context: Context) -> IndexFacts | None:
    """What the SQL alone tells about an index the copy's catalog does not list; None: nothing to report."""
    if context.facts.catalog:
        return None  # not on the copy (DROP ... IF EXISTS of nothing, or not an index-backed constraint)
    table = table or context.facts.indexes.get(name) or ""
    if context.is_new(table):
        return None
    if not constraint:
        return IndexFacts(table, ())
    kind = next((kind for suffix, kind in _INDEXED_SUFFIXES.items() if name.endswith(suffix)), None)
    return IndexFacts(table, (), constraint=kind) if kind else None


def _covered(info: IndexFacts, context: Context) -> bool:
    """The plan builds an index with the same leading column, or an earlier drop already lost that column's index."""
    if not info.columns:
        return False
    leading = (info.table, info.columns[0])
    if leading in context.state.planned_indexes:
        return True
    earlier = (context.facts.index_info.get(name) for name in context.state.dropped_indexes)
    return any(other is not None and (other.table, other.columns[:1]) == (leading[0], leading[1:]) for other in earlier)
