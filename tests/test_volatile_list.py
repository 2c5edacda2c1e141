"""LK205's built-in function lists agree with a real server's pg_proc."""

from __future__ import annotations

import psycopg
from pglast import enums

from preflight.postgres.base import Server
from preflight.rules.lk205_volatile_default import STABLE, VOLATILE

EXTENSION = {"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4"}  # uuid-ossp, not built in
SQL_VALUE = {op.name.removeprefix("SVFOP_").lower() for op in enums.SQLValueFunctionOp}  # keywords, not in pg_proc


def test_listed_functions_have_the_volatility_postgres_gives_them(pg: Server) -> None:
    names = sorted((STABLE - SQL_VALUE) | (VOLATILE - EXTENSION))
    with psycopg.connect(pg.info.conninfo()) as conn:
        query = "SELECT proname, bool_or(provolatile = 'v') FROM pg_proc WHERE proname = ANY(%s) GROUP BY proname"
        volatile = dict(conn.execute(query, (names,)).fetchall())
    assert [name for name in names if name not in volatile] == []
    assert sorted(name for name in STABLE - SQL_VALUE if volatile[name]) == []
    assert sorted(name for name in VOLATILE - EXTENSION if not volatile[name]) == []
