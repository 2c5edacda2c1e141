"""Facts read from a real copy, and the data-dependent findings they make possible."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import pg_dump, run_cli, scenario
from preflight.evidence import catalog
from preflight.evidence.facts import IndexFacts
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.rules.needs import needs
from preflight.sql.parse import parse

SQL = """
ALTER TABLE accounts ALTER COLUMN code TYPE varchar(4);
ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;
ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
ALTER TABLE accounts ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE accounts ADD COLUMN token text DEFAULT make_token();
ALTER TABLE accounts ADD COLUMN seen timestamptz DEFAULT now();
DROP INDEX accounts_kind_idx;
CREATE TABLE later (id int);
CREATE UNIQUE INDEX accounts_basic_email ON accounts (email) WHERE kind = 'basic';
CREATE UNIQUE INDEX accounts_token_email ON accounts (email) WHERE token IS NOT NULL;
"""


def test_fetch_reads_every_fact(pg: Server) -> None:
    database = pg.create_database("facts")
    with pg.connect(database) as conn:
        conn.execute("""
            CREATE TABLE accounts (id serial PRIMARY KEY, code varchar(10), email text,
                                   kind text NOT NULL DEFAULT 'basic');
            INSERT INTO accounts (code, email)
                SELECT CASE WHEN g % 10 = 0 THEN 'LONGCODE' ELSE 'AB' END,
                       CASE WHEN g % 7 = 0 THEN NULL ELSE 'user' || (g % 50) || '@example.com' END
                FROM generate_series(1, 200) g;
            CREATE INDEX accounts_kind_idx ON accounts (kind);
            CREATE UNIQUE INDEX accounts_code_premium ON accounts (code) WHERE kind = 'premium';
            CREATE FUNCTION make_token() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT md5(random()::text) $$;
            ANALYZE accounts;
        """)
        facts = catalog.fetch(conn, needs(parse(SQL)), data_known=True)
    assert facts.server_version_num == pg.info.version_num
    assert facts.tables["accounts"].rows == 200 and facts.tables["accounts"].size_bytes
    assert "later" not in facts.tables  # created by the plan: nothing to know yet
    assert facts.columns[("accounts", "code")].type == "character varying(10)"
    kind = facts.columns[("accounts", "kind")]
    assert kind.not_null and kind.default == "'basic'::text"
    assert facts.nulls[("accounts", "email")] == 28  # every 7th of 200
    # 172 non-NULL emails over 50 distinct values, every value repeated: all of them are duplicates
    assert facts.duplicates[("accounts", ("email",))] == 172
    assert facts.too_long[("accounts", "code", 4)] == 20
    assert facts.volatile_functions is not None
    assert "make_token" in facts.volatile_functions and "now" not in facts.volatile_functions
    # the dropped index, and every unique index of a table the plan adds a unique to
    assert facts.indexes == {
        "accounts_kind_idx": "accounts",
        "accounts_pkey": "accounts",
        "accounts_code_premium": "accounts",
    }
    assert facts.index_info["accounts_pkey"] == IndexFacts("accounts", ("id",), True, "primary key", False)
    assert facts.index_info["accounts_code_premium"] == IndexFacts("accounts", ("code",), True, None, True)
    # a partial unique counts its duplicates within its WHERE; one on a column the plan adds cannot be counted
    assert facts.duplicates_where == {("accounts", ("email",), "kind = 'basic'"): 172}
    pg.drop_database(database)


def test_data_dependent_findings_from_a_dump(pg: Server, tmp_path: Path) -> None:
    """The failing scenario's data (duplicate SKUs) restored from a dump: DD401 says how many."""
    project = scenario("failing", tmp_path)
    database = pg.create_database("dd")
    result = runner.run(project, "apply", pg.info.url(database), to=["inventory.0002_seed_items"])
    assert result["failure"] is None
    dump = pg_dump(pg, database, tmp_path / "inventory.dump")
    pg.drop_database(database)
    done = run_cli(
        "gate",
        "--project",
        str(project.root),
        "--target-dump",
        str(dump),
        "--postgres",
        "local",
        "--quiet",
        "--format",
        "json",
    )
    assert done.returncode == 4  # the unique constraint does fail on the copy
    report = json.loads(done.stdout)
    (finding,) = [f for f in report["findings"] if f["code"] == "DD401"]
    assert finding["severity"] == "error" and finding["facts"]["duplicate_rows"] == 9
    assert finding["migration"] == "0003_unique_sku" and finding["line"] == 7
    assert report["failure"]["sqlstate"] == "23505"
    assert sys.executable  # the project ran in this interpreter
