"""polars SQL table functions read files; `check_query` refuses every one of them.

Each attack is first shown to be real: raw `pl.SQLContext().execute` returns the content of a
secret file written here (a fake linkage key, a landing CSV, a vault Parquet file, a staged IPC
file, an NDJSON export; all synthetic). Then the same SQL is shown refused. A probe of the
installed polars checks that `POLARS_TABLE_FUNCTIONS` lists exactly the table functions it has,
so an upgrade that adds one fails here until the sandbox knows about it.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import polars as pl
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from governance.sql_sandbox import (
    POLARS_FILE_FUNCTIONS,
    POLARS_TABLE_FUNCTIONS,
    QueryRefusedError,
    check_query,
)

CATALOGUE = {"cohort"}
COHORT = pl.LazyFrame({"person_id": ["p1", "p2"], "need_count": [1, 2]})

# Synthetic stand-ins for what must never be read through SQL: kind -> path under the data root.
SECRET_PATHS = {
    "key": ".mcn/dev-keys/linkage.key",
    "landing": "landing/police/extract.csv",
    "vault": "vault/identities.parquet",
    "staged": "staged/police.arrow",
    "export": "exports/people.ndjson",
}
# function -> the secret files it reads: (kind, extra arguments)
TARGETS = {
    "read_csv": [("key", ", has_header => false"), ("landing", "")],
    "read_parquet": [("vault", "")],
    "read_ipc": [("staged", "")],
    "read_json": [("export", "")],
    "read_ndjson": [("export", "")],
}

# Where a table function can sit in a query and still hand back the file's rows.
PLACES = {
    "from": "select * from {src}",
    "upper case": "select * from {SRC}",
    "quoted name": 'select * from "{fn}"({args})',
    "comment before (": "select * from {fn} /**/ ({args})",
    "parentheses": "select * from (({src}))",
    "join": "select s.* from cohort join {src} s on true",
    "comma join": "select s.* from cohort, {src} s",
    "derived table": "select * from (select * from (select * from {src}) a) b",
    "cte": "with s as (select * from {src}) select * from s",
    "union": "select * from {src} union all select * from {src}",
}


def _frame(secret: str) -> pl.DataFrame:
    # Synthetic NHS numbers come only from the 999 test range.
    return pl.DataFrame({"nhs_number": ["9990000018"], "token": [secret]})


_WRITERS = {
    "key": lambda path, secret: path.write_text(secret + "\n"),
    "landing": lambda path, secret: _frame(secret).write_csv(path),
    "vault": lambda path, secret: _frame(secret).write_parquet(path),
    "staged": lambda path, secret: _frame(secret).write_ipc(path),
    "export": lambda path, secret: _frame(secret).write_ndjson(path),
}


@pytest.fixture
def secret_files(tmp_path) -> dict[str, tuple[Path, str]]:
    """Write one file of each kind; return kind -> (path, the secret value it holds)."""
    made = {}
    for kind, relative in SECRET_PATHS.items():
        path, secret = tmp_path / relative, f"SYNTHETIC-{kind}-{secrets.token_hex(8)}"
        path.parent.mkdir(parents=True, exist_ok=True)
        _WRITERS[kind](path, secret)
        made[kind] = (path, secret)
    return made


def _cases():
    for fn in sorted(POLARS_FILE_FUNCTIONS):
        for kind, extra in TARGETS[fn]:  # KeyError: a new file function needs a target here
            for place, template in PLACES.items():
                yield pytest.param(fn, kind, extra, template, id=f"{fn}-{kind}-{place}")


def _sql(template: str, fn: str, path: Path, extra: str) -> str:
    args = f"'{path}'{extra}"
    return template.format(src=f"{fn}({args})", SRC=f"{fn.upper()}({args})", fn=fn, args=args)


def _cells(frame: pl.DataFrame) -> set[str]:
    return {str(value) for row in frame.rows() for value in row}


@pytest.mark.parametrize(("fn", "kind", "extra", "template"), list(_cases()))
def test_file_function_reads_the_secret_in_polars_and_is_refused(
    secret_files, fn, kind, extra, template
):
    path, secret = secret_files[kind]
    sql = _sql(template, fn, path, extra)

    leaked = pl.SQLContext(cohort=COHORT).execute(sql, eager=True)
    assert secret in _cells(leaked), "the attack should be real in raw polars"

    with pytest.raises(QueryRefusedError) as refused:
        check_query(sql, CATALOGUE)
    message = str(refused.value)
    assert refused.value.code == "SQL004" and fn in message
    assert str(path.parent) not in message and path.name not in message and secret not in message


@pytest.mark.parametrize("fn", sorted(POLARS_TABLE_FUNCTIONS - POLARS_FILE_FUNCTIONS))
def test_other_table_functions_run_in_polars_and_are_refused(fn):
    sql = f"select * from {fn}(1, 4)"
    assert pl.SQLContext().execute(sql, eager=True).height > 0
    with pytest.raises(QueryRefusedError) as refused:
        check_query(sql, CATALOGUE)
    assert refused.value.code == "SQL005" and fn in str(refused.value)


@pytest.mark.parametrize(
    "sql", ["select * from table(read_csv('zz'))", "select * from unnest([1, 2]) as t(v)"]
)
def test_table_factor_syntax_polars_recognises_is_refused(sql):
    with pytest.raises(QueryRefusedError):
        check_query(sql, CATALOGUE)


def test_a_file_path_as_a_table_name_reads_nothing_in_polars_and_is_refused(secret_files):
    path, _ = secret_files["landing"]
    for sql in (f"select * from '{path}'", f'select * from "{path}"'):
        with pytest.raises(Exception, match="not found"):
            pl.SQLContext(cohort=COHORT).execute(sql, eager=True)
        with pytest.raises(QueryRefusedError) as refused:
            check_query(sql, CATALOGUE)
        assert refused.value.code == "SQL006" and path.name not in str(refused.value)


def test_dollar_quote_differential_is_refused():
    """sqlglot reads `$$a` as a name, polars as the start of a dollar-quoted string: polars
    would run as code what sqlglot checked as the inside of a string literal."""
    sql = "select $$a, ' $$ as smuggled, 42 as n --' as note from cohort"
    seen_by_sqlglot = sqlglot.parse_one(sql)
    assert [a.alias for a in seen_by_sqlglot.find_all(exp.Alias)] == ["note"]
    run_by_polars = pl.SQLContext(cohort=COHORT).execute(sql, eager=True)
    assert run_by_polars.columns == ["smuggled", "n"]  # and FROM cohort was commented out
    with pytest.raises(QueryRefusedError) as refused:
        check_query(sql, CATALOGUE)
    assert refused.value.code == "SQL010"


NOT_A_TABLE_FUNCTION = "is not a supported table function"
# Parsed by polars' SQL parser as table-factor syntax, not looked up as functions.
TABLE_FACTOR_KEYWORDS = {"table", "unnest"}


def _candidate_names() -> set[str]:
    """Every read_/scan_ function of the polars API and every function name sqlglot knows."""
    names = {n for n in dir(pl) if n.startswith(("read_", "scan_"))} | POLARS_TABLE_FUNCTIONS
    for dialect in ("", "duckdb", "postgres", "spark", "snowflake", "bigquery", "clickhouse"):
        names |= {k.lower() for k in Dialect.get_or_raise(dialect).parser_class.FUNCTIONS}
    return {n for n in names if re.fullmatch(r"[a-z_][a-z0-9_]*", n)}


def _polars_has_table_function(name: str) -> bool:
    try:
        pl.SQLContext().execute(f"select * from {name}('/nonexistent/zz')", eager=True)
    except Exception as exc:  # noqa: BLE001 - any other error means polars knows the name
        return NOT_A_TABLE_FUNCTION not in str(exc)
    return True


def test_probe_tells_known_from_unknown_names():
    assert _polars_has_table_function("read_csv")
    assert not _polars_has_table_function("zz_no_such_function")


def test_sandbox_lists_exactly_the_table_functions_of_the_installed_polars():
    recognised = {n for n in _candidate_names() if _polars_has_table_function(n)}
    assert recognised - TABLE_FACTOR_KEYWORDS == POLARS_TABLE_FUNCTIONS, (
        f"polars {pl.__version__} table functions changed: update POLARS_TABLE_FUNCTIONS "
        "(and POLARS_FILE_FUNCTIONS if the new one reads files) in governance/sql_sandbox.py"
    )
