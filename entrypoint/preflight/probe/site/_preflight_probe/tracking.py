"""Which operation of a migration is running, deferred SQL included (for SQL and for apply)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, List

OnOperation = Callable[[int, Any, bool], None]


class tracking_operations:
    """Tell `on_operation` which operation of `migration` is running, deferred SQL included.

    The schema editor keeps some SQL (indexes, foreign keys) in `deferred_sql` and runs it
    in its __exit__, after the last operation; that SQL belongs to the operation that
    queued it, so `on_operation` is called again with that operation's index before each
    deferred statement runs (see DeferredSQL): `on_operation(index, schema_editor, deferred)`.
    """

    def __init__(self, migration: Any, on_operation: OnOperation) -> None:
        self.migration, self.on_operation = migration, on_operation
        self.current: int | None = None  # index of the operation running (or that ran last)
        self.depth = 0  # > 0 while an operation runs: its reads of deferred_sql are not the final run

    def __enter__(self) -> tracking_operations:
        for index, operation in enumerate(self.migration.operations):
            original = operation.database_forwards

            def forwards(
                app_label: str,
                schema_editor: Any,
                from_state: Any,
                to_state: Any,
                _index: int = index,
                _original: Callable[..., Any] = original,
            ) -> Any:
                self.current = _index
                self.on_operation(_index, schema_editor, False)
                if not isinstance(schema_editor.deferred_sql, DeferredSQL):
                    schema_editor.deferred_sql = DeferredSQL(schema_editor.deferred_sql, self, schema_editor)
                self.depth += 1
                try:
                    return _original(app_label, schema_editor, from_state, to_state)
                finally:
                    self.depth -= 1

            operation.database_forwards = forwards
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for operation in self.migration.operations:
            operation.__dict__.pop("database_forwards", None)


class DeferredSQL(List[Any]):
    """schema_editor.deferred_sql that remembers which operation queued each statement.

    Keyed by identity: Django removes entries (a dropped column's index) and renames
    references inside them (a renamed column) in place, so position is no guide.
    Iterated outside every operation (the schema editor's __exit__ running them), it
    reports each statement's operation before handing the statement out.
    """

    def __init__(self, items: Iterable[Any], tracker: tracking_operations, schema_editor: Any) -> None:
        items = list(items)
        super().__init__(items)
        self.tracker, self.schema_editor = tracker, schema_editor
        self.owner: dict[int, int | None] = {id(item): tracker.current for item in items}

    def append(self, item: Any) -> None:
        self.owner[id(item)] = self.tracker.current
        super().append(item)

    def extend(self, items: Iterable[Any]) -> None:
        items = list(items)
        for item in items:
            self.owner[id(item)] = self.tracker.current
        super().extend(items)

    def insert(self, index: Any, item: Any) -> None:
        self.owner[id(item)] = self.tracker.current
        super().insert(index, item)

    def __iadd__(self, items: Iterable[Any]) -> DeferredSQL:  # type: ignore[override,misc]
        self.extend(items)
        return self

    def __iter__(self) -> Iterator[Any]:
        if self.tracker.depth:  # an operation looking through the list (renames, removals)
            yield from super().__iter__()
            return
        last = len(self.tracker.migration.operations) - 1
        for item in super().__iter__():
            owner = self.owner.get(id(item))
            self.tracker.on_operation(last if owner is None else owner, self.schema_editor, True)
            yield item
