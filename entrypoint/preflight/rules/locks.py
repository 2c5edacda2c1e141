"""The table locks a statement takes, read from its parse tree. Pure.

The modes are PostgreSQL's documented ones ("Explicit Locking", and each command's
reference page), named as pg_locks names them so that they compare with the modes
measured on the copy (measured.Lock). Only what matters for lock queues is modelled: a
statement's strongest lock on each relation it touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast, enums

from preflight.sql.nodes import AT, CONSTR, OBJ, dotted, has_option
from preflight.sql.params import with_parameters
from preflight.sql.parse import Statement, parse, relation_name

# pg_locks' names, weakest first (LOCK TABLE's mode numbers are their position + 1).
MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE = MODES[2:]

# ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE (everything else takes it).
_SHARE_UPDATE_EXCLUSIVE = {
    AT.AT_SetStatistics,
    AT.AT_SetOptions,
    AT.AT_ResetOptions,
    AT.AT_ClusterOn,
    AT.AT_DropCluster,
    AT.AT_SetRelOptions,
    AT.AT_ResetRelOptions,
    AT.AT_ValidateConstraint,
    AT.AT_AttachPartition,
    AT.AT_DetachPartitionFinalize,
}
_SHARE_ROW_EXCLUSIVE = {
    AT.AT_EnableTrig,
    AT.AT_EnableAlwaysTrig,
    AT.AT_EnableReplicaTrig,
    AT.AT_EnableTrigAll,
    AT.AT_EnableTrigUser,
    AT.AT_DisableTrig,
    AT.AT_DisableTrigAll,
    AT.AT_DisableTrigUser,
}
# Statements that take no lock on an existing table that anyone could queue behind.
_NO_TABLE_LOCK = (
    ast.VariableSetStmt,
    ast.VariableShowStmt,
    ast.TransactionStmt,
    ast.SelectStmt,
    ast.DoStmt,  # what it runs is judged statement by statement (sql.parse expands DO blocks)
    ast.CreateSeqStmt,
    ast.CreateFunctionStmt,
    ast.CreateExtensionStmt,
    ast.CreateEnumStmt,
    ast.AlterEnumStmt,
    ast.CompositeTypeStmt,
    ast.CreateDomainStmt,
    ast.CreateSchemaStmt,
    ast.GrantStmt,
    ast.GrantRoleStmt,
    ast.CreateRoleStmt,
    ast.ExplainStmt,
    ast.ViewStmt,
    ast.CreateTableAsStmt,
    ast.CopyStmt,
    ast.DefineStmt,
    ast.NotifyStmt,
)


@dataclass(frozen=True)
class TableLock:
    relation: str
    mode: str  # a name from MODES


def strongest(*modes: str) -> str:
    return max(modes, key=MODES.index)


def statement_locks(statement: Statement) -> list[TableLock] | None:
    """The locks `statement` takes; None when it cannot be told (unparsed or dynamic SQL)."""
    if statement.node is None:
        return None
    return table_locks(statement.node)


def sql_locks(sql: str) -> list[TableLock] | None:
    """The locks a piece of SQL as a driver sent it takes (%s placeholders allowed); None if unknown."""
    found: list[TableLock] = []
    for statement in parse(with_parameters(sql)):
        locks = statement_locks(statement)
        if locks is None:
            return None
        found += locks
    return found


def table_locks(node: Any) -> list[TableLock] | None:
    """The strongest lock `node` takes on each relation; None when it cannot be told."""
    if isinstance(node, _NO_TABLE_LOCK):
        return []
    if isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt | ast.MergeStmt):
        return [TableLock(relation_name(node.relation) or "", ROW_EXCLUSIVE)]
    if isinstance(node, ast.AlterTableStmt):
        return _alter_table(node)
    if isinstance(node, ast.IndexStmt):
        mode = SHARE_UPDATE_EXCLUSIVE if node.concurrent else SHARE
        return [TableLock(relation_name(node.relation) or "", mode)]
    if isinstance(node, ast.DropStmt):
        return _drop(node)
    if isinstance(node, ast.TruncateStmt):
        return [TableLock(relation_name(r) or "", ACCESS_EXCLUSIVE) for r in node.relations or ()]
    if isinstance(node, ast.RenameStmt):
        return _rename(node)
    if isinstance(node, ast.CreateStmt):
        return _references(node.tableElts, node.constraints)
    if isinstance(node, ast.LockStmt):
        mode = MODES[int(node.mode or 8) - 1]  # LOCK TABLE without a mode: ACCESS EXCLUSIVE
        return [TableLock(relation_name(r) or "", mode) for r in node.relations or ()]
    if isinstance(node, ast.CreateTrigStmt):
        return [TableLock(relation_name(node.relation) or "", SHARE_ROW_EXCLUSIVE)]
    if isinstance(node, ast.CreatePolicyStmt | ast.AlterPolicyStmt):
        return [TableLock(relation_name(node.table) or "", ACCESS_EXCLUSIVE)]
    if isinstance(node, ast.RuleStmt | ast.ClusterStmt) and node.relation is not None:
        return [TableLock(relation_name(node.relation) or "", ACCESS_EXCLUSIVE)]
    if isinstance(node, ast.RefreshMatViewStmt):
        return [TableLock(relation_name(node.relation) or "", EXCLUSIVE if node.concurrent else ACCESS_EXCLUSIVE)]
    if isinstance(node, ast.VacuumStmt):
        return _vacuum(node)
    if isinstance(node, ast.ReindexStmt) and node.relation is not None:
        mode = SHARE_UPDATE_EXCLUSIVE if has_option(node.params, "concurrently") else SHARE
        if node.kind == enums.ReindexObjectType.REINDEX_OBJECT_INDEX and mode == SHARE:
            mode = ACCESS_EXCLUSIVE  # the index itself: queries planned on its table wait for it
        return [TableLock(relation_name(node.relation) or "", mode)]
    if isinstance(node, ast.AlterSeqStmt):
        return [TableLock(relation_name(node.sequence) or "", SHARE_ROW_EXCLUSIVE)]
    if isinstance(node, ast.CommentStmt | ast.CreateStatsStmt):
        return []  # SHARE UPDATE EXCLUSIVE at most: reads and writes go on
    if isinstance(node, ast.AlterObjectSchemaStmt | ast.AlterOwnerStmt) and node.relation is not None:
        return [TableLock(relation_name(node.relation) or "", ACCESS_EXCLUSIVE)]
    return None


def _alter_table(node: ast.AlterTableStmt) -> list[TableLock]:
    table = relation_name(node.relation) or ""
    modes, others = [], []
    for cmd in node.cmds or ():
        if cmd.subtype in _SHARE_UPDATE_EXCLUSIVE or (cmd.subtype == AT.AT_DetachPartition and _concurrent(cmd)):
            modes.append(SHARE_UPDATE_EXCLUSIVE)
        elif cmd.subtype in _SHARE_ROW_EXCLUSIVE or (
            cmd.subtype == AT.AT_AddConstraint
            and isinstance(cmd.def_, ast.Constraint)
            and cmd.def_.contype == CONSTR.CONSTR_FOREIGN
        ):
            modes.append(SHARE_ROW_EXCLUSIVE)
        else:
            modes.append(ACCESS_EXCLUSIVE)
        if cmd.subtype in (AT.AT_AddConstraint, AT.AT_AddColumn):
            others += _references([cmd.def_], ())
    return ([TableLock(table, strongest(*modes))] if modes else []) + others


def _concurrent(cmd: ast.AlterTableCmd) -> bool:
    return isinstance(cmd.def_, ast.PartitionCmd) and bool(cmd.def_.concurrent)


def _references(elements: Any, constraints: Any) -> list[TableLock]:
    """A foreign key takes SHARE ROW EXCLUSIVE on the table it references."""
    found = []
    for element in [*(elements or ()), *(constraints or ())]:
        inline = element.constraints if isinstance(element, ast.ColumnDef) else [element]
        for constraint in inline or ():
            if isinstance(constraint, ast.Constraint) and constraint.contype == CONSTR.CONSTR_FOREIGN:
                found.append(TableLock(relation_name(constraint.pktable) or "", SHARE_ROW_EXCLUSIVE))
    return found


_DROPPED_RELATIONS = {
    OBJ.OBJECT_TABLE,
    OBJ.OBJECT_INDEX,
    OBJ.OBJECT_VIEW,
    OBJ.OBJECT_MATVIEW,
    OBJ.OBJECT_FOREIGN_TABLE,
    OBJ.OBJECT_SEQUENCE,
}
_DROPPED_ON_TABLE = {OBJ.OBJECT_TRIGGER, OBJ.OBJECT_POLICY, OBJ.OBJECT_RULE}


def _drop(node: ast.DropStmt) -> list[TableLock]:
    mode = SHARE_UPDATE_EXCLUSIVE if node.concurrent else ACCESS_EXCLUSIVE
    if node.removeType in _DROPPED_RELATIONS:
        return [TableLock(dotted(obj), mode) for obj in node.objects or ()]
    if node.removeType in _DROPPED_ON_TABLE:
        # The object's name is the table's name followed by its own.
        return [TableLock(dotted(tuple(obj)[:-1]), ACCESS_EXCLUSIVE) for obj in node.objects or ()]
    return []


_RENAMED_RELATIONS = {
    OBJ.OBJECT_TABLE,
    OBJ.OBJECT_COLUMN,
    OBJ.OBJECT_TABCONSTRAINT,
    OBJ.OBJECT_TRIGGER,
    OBJ.OBJECT_VIEW,
    OBJ.OBJECT_MATVIEW,
    OBJ.OBJECT_SEQUENCE,
    OBJ.OBJECT_RULE,
    OBJ.OBJECT_POLICY,
    OBJ.OBJECT_FOREIGN_TABLE,
}


def _rename(node: ast.RenameStmt) -> list[TableLock]:
    if node.relation is None:
        return []
    if node.renameType == OBJ.OBJECT_INDEX:
        return [TableLock(relation_name(node.relation) or "", SHARE_UPDATE_EXCLUSIVE)]
    if node.renameType in _RENAMED_RELATIONS:
        return [TableLock(relation_name(node.relation) or "", ACCESS_EXCLUSIVE)]
    return []


def _vacuum(node: ast.VacuumStmt) -> list[TableLock] | None:
    full = node.is_vacuumcmd and has_option(node.options, "full")
    if not node.rels:
        return None if full else []  # VACUUM FULL of every table
    mode = ACCESS_EXCLUSIVE if full else SHARE_UPDATE_EXCLUSIVE
    return [TableLock(relation_name(r.relation) or "", mode) for r in node.rels if r.relation is not None]
