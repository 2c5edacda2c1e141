"""The rules: an explicit registry, in code order. Each rule is one module, one class.

Adding a rule: write `xx123_name.py` (see STYLE.md), add its class here, add
`tests/rules/fixtures/XX123.yml` with passing and failing cases, and regenerate
docs/rules.md (`python -m preflight.rules.docs > docs/rules.md`).
"""

from __future__ import annotations

from preflight.rules.base import Category, Finding, Rule, Severity
from preflight.rules.br301_rename_column import RenameColumn
from preflight.rules.br302_rename_table import RenameTable
from preflight.rules.br303_not_null_without_default import NotNullWithoutDefault
from preflight.rules.br304_missing_migrations import MissingMigrations
from preflight.rules.br305_set_not_null_running_release import SetNotNullRunningRelease
from preflight.rules.br306_column_type_running_release import ColumnTypeRunningRelease
from preflight.rules.br307_unique_running_release import UniqueRunningRelease
from preflight.rules.br308_drop_index_running_release import DropIndexRunningRelease
from preflight.rules.dd401_unique_on_duplicates import UniqueOnDuplicates
from preflight.rules.dd402_not_null_on_nulls import NotNullOnNulls
from preflight.rules.dd403_failed_on_copy import FailedOnCopy
from preflight.rules.ds101_drop_table import DropTable
from preflight.rules.ds102_drop_column import DropColumn
from preflight.rules.ds103_drop_schema import DropSchemaOrDatabase
from preflight.rules.ds104_truncate import Truncate
from preflight.rules.ds105_delete_without_where import DeleteWithoutWhere
from preflight.rules.ds106_update_without_where import UpdateWithoutWhere
from preflight.rules.ds107_lossy_type_change import LossyTypeChange
from preflight.rules.ds108_drop_not_null_default import DropNotNullDefault
from preflight.rules.ds109_separate_state_drop import SeparateDatabaseAndStateDrop
from preflight.rules.ir501_run_python_without_reverse import RunPythonWithoutReverse
from preflight.rules.ir502_run_sql_without_reverse import RunSQLWithoutReverse
from preflight.rules.ir503_round_trip_back import RoundTripBackFails
from preflight.rules.ir504_reapply_fails import ReapplyFails
from preflight.rules.lk201_create_index import CreateIndexNonConcurrently
from preflight.rules.lk202_drop_index import DropIndexNonConcurrently
from preflight.rules.lk203_reindex import ReindexNonConcurrently
from preflight.rules.lk204_column_type_rewrite import ColumnTypeRewrite
from preflight.rules.lk205_volatile_default import AddColumnVolatileDefault
from preflight.rules.lk206_set_not_null import SetNotNull
from preflight.rules.lk207_foreign_key_validated import ForeignKeyWithoutNotValid
from preflight.rules.lk208_check_validated import CheckWithoutNotValid
from preflight.rules.lk209_unique_without_index import UniqueWithoutIndex
from preflight.rules.lk210_concurrently_in_transaction import ConcurrentlyInTransaction
from preflight.rules.lk211_enum_add_value import EnumAddValueInTransaction
from preflight.rules.lk212_vacuum_full_cluster import VacuumFullOrCluster
from preflight.rules.lk213_writes_blocked_long import WritesBlockedLong
from preflight.rules.lk214_table_rewrite import TableRewrite
from preflight.rules.lk215_slow_statement import SlowStatement
from preflight.rules.lk216_no_lock_timeout import NoLockTimeout
from preflight.rules.lk217_validate_in_same_transaction import ValidateInSameTransaction
from preflight.rules.lk218_row_locks_held import RowLocksHeldLong
from preflight.rules.rv601_unparseable_sql import UnparseableSQL
from preflight.rules.rv602_dynamic_sql import DynamicSQL
from preflight.rules.rv603_graph_health import GraphHealth

REGISTRY: tuple[type[Rule], ...] = (
    DropTable,
    DropColumn,
    DropSchemaOrDatabase,
    Truncate,
    DeleteWithoutWhere,
    UpdateWithoutWhere,
    LossyTypeChange,
    DropNotNullDefault,
    SeparateDatabaseAndStateDrop,
    CreateIndexNonConcurrently,
    DropIndexNonConcurrently,
    ReindexNonConcurrently,
    ColumnTypeRewrite,
    AddColumnVolatileDefault,
    SetNotNull,
    ForeignKeyWithoutNotValid,
    CheckWithoutNotValid,
    UniqueWithoutIndex,
    ConcurrentlyInTransaction,
    EnumAddValueInTransaction,
    VacuumFullOrCluster,
    WritesBlockedLong,
    TableRewrite,
    SlowStatement,
    NoLockTimeout,
    ValidateInSameTransaction,
    RowLocksHeldLong,
    RenameColumn,
    RenameTable,
    NotNullWithoutDefault,
    MissingMigrations,
    SetNotNullRunningRelease,
    ColumnTypeRunningRelease,
    UniqueRunningRelease,
    DropIndexRunningRelease,
    UniqueOnDuplicates,
    NotNullOnNulls,
    FailedOnCopy,
    RunPythonWithoutReverse,
    RunSQLWithoutReverse,
    RoundTripBackFails,
    ReapplyFails,
    UnparseableSQL,
    DynamicSQL,
    GraphHealth,
)

BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in REGISTRY}

__all__ = ["BY_CODE", "REGISTRY", "Category", "Finding", "Rule", "Severity"]
