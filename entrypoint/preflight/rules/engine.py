"""Run every rule over a plan's statements, in order, and return the findings. Pure.

The engine keeps what earlier statements did (tables created, columns added) so that a
rule can tell a new table, which nobody else can be using, from an existing one; and it
points every finding home: app, migration, operation, file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from pglast import ast, enums

from preflight.evidence.facts import Facts
from preflight.evidence.measured import MigrationRun, RoundTrip
from preflight.probe.protocol import GraphHealth, MissingMigrations, OperationRef
from preflight.rules import REGISTRY
from preflight.rules.base import (
    AddedColumn,
    Context,
    Finding,
    PlanState,
    Severity,
    Thresholds,
    Transaction,
    index_table,
)
from preflight.rules.locks import strongest, table_locks
from preflight.sql.nodes import AT, CONSTR, commands, constraints, indexes_created, indexes_dropped
from preflight.sql.params import with_parameters
from preflight.sql.parse import Statement, parse, relation_name


@dataclass
class Unit:
    """Statements that run together: one Django operation, or one SQL file."""

    statements: list[Statement]
    in_transaction: bool
    app: str | None = None
    migration: str | None = None
    file: str | None = None
    operation: OperationRef | None = None
    lines: list[int] | None = None  # per statement, for SQL files
    deferred: bool = False  # SQL the schema editor ran at the end of the migration for `operation`


@dataclass
class Settings:
    """What configuration changes about the rules: severities, disabled rules, thresholds."""

    severity: dict[str, Severity] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    thresholds: Thresholds = field(default_factory=Thresholds)


def target_table(node: object) -> str | None:
    if isinstance(node, ast.AlterTableStmt | ast.IndexStmt):
        return relation_name(node.relation)
    return None


def transaction_of(unit: Unit, state: PlanState) -> Transaction | None:
    """The transaction a statement of `unit` runs in: a BEGIN block, the whole atomic
    migration (every operation of it) or SQL file, or None when it commits on its own."""
    if state.in_transaction:
        return ("block", unit.app, unit.migration, unit.file, state.blocks)
    if unit.in_transaction:
        return ("unit", unit.app, unit.migration, unit.file)
    return None


def defaults_set(node: object) -> Iterator[tuple[str, str]]:
    """(table, column) of every ALTER COLUMN ... SET DEFAULT to something other than NULL."""
    for table, cmd in commands(node, AT.AT_ColumnDefault):
        value = cmd.def_
        if value is not None and not (isinstance(value, ast.A_Const) and value.isnull):
            yield table or "", cmd.name or ""


def observe(state: PlanState, statement: Statement, transaction: Transaction | None = None) -> None:
    """Record what a statement did, for the statements after it."""
    node = statement.node
    if isinstance(node, ast.CreateStmt):
        state.created_tables.add(relation_name(node.relation) or "")
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        state.created_tables.add(relation_name(node.into.rel) or "")
    elif isinstance(node, ast.RenameStmt) and node.renameType == enums.ObjectType.OBJECT_TABLE:
        if relation_name(node.relation) in state.created_tables:
            state.created_tables.add(node.newname or "")
    elif isinstance(node, ast.RenameStmt) and node.renameType == enums.ObjectType.OBJECT_COLUMN:
        key = (relation_name(node.relation) or "", node.subname or "")
        if key in state.added_columns:
            state.added_columns[(key[0], node.newname or "")] = state.added_columns[key]
        if key in state.added_to_existing:
            state.added_to_existing[(key[0], node.newname or "")] = state.added_to_existing.pop(key)
    elif isinstance(node, ast.UpdateStmt | ast.DeleteStmt | ast.InsertStmt):
        written = relation_name(node.relation) or ""
        state.data_written.add(written)
        for (owner, _), added in state.added_to_existing.items():
            if owner == written and isinstance(node, ast.UpdateStmt):
                added.rewritten = True  # the rows may now hold anything: ADD COLUMN's default no longer tells
    elif isinstance(node, ast.TransactionStmt):
        kind = enums.TransactionStmtKind
        if node.kind in (kind.TRANS_STMT_BEGIN, kind.TRANS_STMT_START):
            state.in_transaction = True
            state.blocks += 1
        elif node.kind in (kind.TRANS_STMT_COMMIT, kind.TRANS_STMT_ROLLBACK):
            state.in_transaction = False
    for key in defaults_set(node):
        if state.defaults_ahead[key] > 0:
            state.defaults_ahead[key] -= 1
    for table, cmd in commands(node, AT.AT_ColumnDefault):
        state.column_defaults[(table or "", cmd.name or "")] = (table or "", cmd.name or "") in set(defaults_set(node))
    state.dropped_indexes |= {dropped for _, dropped, _ in indexes_dropped(node)}
    for owner, name, _ in indexes_created(node):
        if name:
            state.index_tables[name] = owner
            state.dropped_indexes.discard(name)
    for table, cmd in commands(node, AT.AT_AddColumn):
        if isinstance(cmd.def_, ast.ColumnDef):
            not_null = any(c.contype == CONSTR.CONSTR_NOTNULL for c in cmd.def_.constraints or ())
            key = (table or "", cmd.def_.colname or "")
            added = AddedColumn.of(cmd.def_, not_null)
            state.added_columns[key] = not_null
            state.column_defaults[key] = added.default is not None
            if key[0] not in state.created_tables:
                state.added_to_existing[key] = added
    for table, constraint, _ in constraints(node):
        if constraint.skip_validation and constraint.conname:
            state.not_valid[(table or "", constraint.conname)] = (transaction, constraint)


def hold(state: PlanState, statement: Statement, transaction: Transaction | None, facts: Facts) -> None:
    """Record the locks a statement leaves its transaction holding until it commits."""
    if transaction is None or statement.node is None:
        return  # outside a transaction every lock is released when the statement ends
    held = state.held.setdefault(transaction, {})
    dropped = {name for table, name, _ in indexes_dropped(statement.node) if table is None}
    for lock in table_locks(statement.node) or ():
        relation = lock.relation
        if relation in dropped:  # DROP INDEX locks the index's table
            relation = index_table(facts, state, relation) or relation
        held[relation] = strongest(held.get(relation, lock.mode), lock.mode)


def run(
    units: Iterable[Unit],
    facts: Facts,
    settings: Settings | None = None,
    missing_migrations: MissingMigrations | None = None,
    state: PlanState | None = None,
) -> list[Finding]:
    """Return the findings of every enabled rule over `units`, in plan order."""
    settings = settings or Settings()
    rules = [rule() for rule in REGISTRY if rule.code not in settings.disabled]
    state = state or PlanState()
    units = list(units)
    for unit in units:  # what later statements will do, for rules that look ahead in the plan
        for statement in unit.statements:
            state.defaults_ahead.update(defaults_set(statement.node))
            state.planned_indexes |= {(t, c) for t, _, c in indexes_created(statement.node) if c}
    origins: dict[tuple[str | None, str | None, str], Unit] = {}  # table created by which operation
    findings: list[Finding] = []
    for unit in units:
        base = Context(facts, settings.thresholds, state, unit.in_transaction, unit.operation)
        if unit.operation is not None and not unit.deferred:  # the operation itself was checked in its own unit
            for rule in rules:
                findings += [_home(f, unit, None, None) for f in rule.check_operation(unit.operation, base)]
        for position, statement in enumerate(unit.statements):
            transaction = transaction_of(unit, state)
            context = replace(base, in_transaction=unit.in_transaction or state.in_transaction, transaction=transaction)
            home = origins.get((unit.app, unit.migration, target_table(statement.node) or ""), unit)
            line = unit.lines[position] if unit.lines else None
            for rule in rules:
                findings += [_home(f, home, statement, line) for f in rule.check(statement, context)]
            observe(state, statement, transaction)
            hold(state, statement, transaction, facts)
            if isinstance(statement.node, ast.CreateStmt) and unit.operation is not None:
                origins[(unit.app, unit.migration, relation_name(statement.node.relation) or "")] = unit
        if unit.operation is not None and unit.operation.type == "RunPython":
            state.opaque_before = True
            for added in state.added_to_existing.values():
                added.rewritten = True
    if missing_migrations:
        context = Context(facts, settings.thresholds, state, False)
        for rule in rules:
            check_project = getattr(rule, "check_project", None)
            if check_project:
                findings += list(check_project(missing_migrations, context))
    return [_configured(f, settings) for f in findings]


def settle(static: list[Finding], runs: list[MigrationRun]) -> list[Finding]:
    """Let the copy overrule predictions: each finding whose migration applied there, as its rule restates it.

    The static rules judge each statement by the copy's catalog before the plan; the run
    saw the data as the earlier pending migrations left it.
    """
    rules = {rule.code: rule() for rule in REGISTRY}
    applied = {run.label for run in runs if run.status == "applied"}
    return [rules[f.code].check_applied(f) if f.code in rules and f.label in applied else f for f in static]


def _home(finding: Finding, unit: Unit, statement: Statement | None, line: int | None) -> Finding:
    operation = unit.operation
    return replace(
        finding,
        statement=statement.text if statement is not None else None,
        app=unit.app,
        migration=unit.migration,
        operation=operation.describe if operation else None,
        file=unit.file,
        line=line if line is not None else (operation.line if operation else None),
    )


def _configured(finding: Finding, settings: Settings) -> Finding:
    if finding.code in settings.severity:
        return replace(finding, severity=str(settings.severity[finding.code]))
    return finding


def run_measured(
    runs: list[MigrationRun],
    facts: Facts,
    settings: Settings | None = None,
    round_trip: RoundTrip | None = None,
    health: GraphHealth | None = None,
) -> list[Finding]:
    """Return the evidence rules' findings about what the migrations did on the copy."""
    settings = settings or Settings()
    rules = [rule() for rule in REGISTRY if rule.code not in settings.disabled]
    state = PlanState()
    context = Context(facts, settings.thresholds, state, False)
    by_label = {run.label: run for run in runs}
    found: list[Finding] = []
    for run in runs:
        for rule in rules:
            found += [_locate(f, run) for f in rule.check_run(run, context)]
        # Tables the run created are new to the runs after it (nobody else uses them yet).
        for executed in run.executed:
            for statement in parse(with_parameters(executed.sql)):
                observe(state, statement)
    for rule in rules:
        if round_trip is not None and hasattr(rule, "check_round_trip"):
            for finding in rule.check_round_trip(round_trip, context):
                owner = by_label.get(finding.facts.get("migration") or "")
                found.append(_locate(finding, owner) if owner else finding)
        if health and hasattr(rule, "check_graph"):
            found += list(rule.check_graph(health, context))
    return [_configured(f, settings) for f in found]


def _locate(finding: Finding, run: MigrationRun) -> Finding:
    """Point a measured finding at its migration, operation, line and statement."""
    op_index = finding.facts.get("operation_index")
    operation = next((op for op in run.operations if op.index == op_index), None)
    statement_index = finding.facts.get("statement_index")
    statement = run.executed[statement_index].sql if statement_index is not None else run.failed_statement
    if operation is None and run.failed_operation is not None and finding.facts.get("sqlstate"):
        operation = next((op for op in run.operations if op.index == run.failed_operation), None)
    return replace(
        finding,
        app=run.app,
        migration=run.name,
        file=run.file,
        statement=statement,
        operation=operation.describe if operation else None,
        line=operation.line if operation else (run.operations[0].line if run.operations else None),
    )


def _normal(sql: str | None) -> str:
    return " ".join((sql or "").rstrip().rstrip(";").split())


def _same_subject(static: Finding, measured: Finding) -> bool:
    """Same migration and category, and the same statement (or, for both none, the same operation)."""
    if static.category != measured.category or static.label != measured.label:
        return False
    if measured.statement or static.statement:
        return _normal(static.statement) == _normal(measured.statement)
    return static.line == measured.line


def merge(static: list[Finding], measured: list[Finding]) -> list[Finding]:
    """Fold each measured finding into the static one about the same statement and category.

    The static finding keeps its code and fix; it gains the measured facts, the measured
    sentence and, if higher, the measured severity. A rule with `folds = False` (LK216:
    the lock queue, a hazard of its own) stays a finding of its own, and measured findings
    never fold into each other: a slow statement (LK215) and the rows it kept locked
    (LK218) are two hazards.
    """
    standalone = {rule.code for rule in REGISTRY if not rule.folds}
    result = list(static)
    for finding in measured:
        twin = None
        if finding.code not in standalone:
            twin = next((i for i, f in enumerate(result[: len(static)]) if _same_subject(f, finding)), None)
        if twin is None:
            result.append(finding)
            continue
        base = result[twin]
        severity = max(Severity.parse(base.severity), Severity.parse(finding.severity))
        result[twin] = replace(
            base,
            message=f"{base.message}; measured on the copy: {finding.message}",
            severity=str(severity),
            facts={**base.facts, **finding.facts, "measured_by": finding.code},
        )
    return result
