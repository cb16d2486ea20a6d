"""The analyst SQL sandbox: a query may read the registered tables and nothing else.

polars SQL can open files from inside a query (``SELECT * FROM read_csv('...')``), which would
hand an analyst the linkage key, the raw landing files and the vault. `check_query` parses the
query with sqlglot (a real parser, never patterns over the text), walks the whole tree against an
allow-list, and returns SQL regenerated from that tree, so the SQL that runs is the SQL that was
checked. It is pure: no file is opened and nothing is executed.

>>> checked = check_query("select need_count, count(*) from cohort group by 1", {"cohort"})
>>> checked.sql, checked.tables
('SELECT "need_count", COUNT(*) FROM "cohort" GROUP BY 1', ('cohort',))
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, rename_func, trim_sql
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.generator import Generator as BaseGenerator
from sqlglot.tokens import Tokenizer as BaseTokenizer
from sqlglot.tokens import TokenType

from governance.errors import QueryRefusedError

# The table functions of polars SQL 2.1 (crates/polars-sql, `PolarsTableFunctions`); a test
# probes the installed polars so that an upgrade which adds one fails until it is listed here.
POLARS_FILE_FUNCTIONS = frozenset(
    {"read_csv", "read_ipc", "read_json", "read_ndjson", "read_parquet"}
)
POLARS_TABLE_FUNCTIONS = POLARS_FILE_FUNCTIONS | {"generate_series", "range"}
# Refused anywhere in a query, whatever polars does with them today.
FILE_FUNCTION_PREFIXES = ("read_", "scan_")

# What sqlglot writes out as it stands (names not in double quotes, keywords, function names)
# must be a plain name: polars reads "$$a" as the start of a dollar-quoted string, sqlglot as a
# name, so a query could hide SQL from the check inside what polars then runs as code.
PLAIN_NAME = re.compile(r"[^\W\d]\w*")  # a letter or _, then letters, digits or _

READ_ONLY_QUERIES = (exp.Select, exp.SetOperation)  # SELECT; UNION, INTERSECT, EXCEPT of them
WRITES = (exp.DDL, exp.DML, exp.Command, exp.Into)  # CREATE, INSERT, COPY, SELECT INTO, ...


class _PolarsSQL(Dialect):
    """sqlglot's generic dialect with the spellings polars SQL reads differently."""

    LOG_BASE_FIRST = False  # polars reads LOG(value, base)

    class Tokenizer(BaseTokenizer):
        KEYWORDS = {**BaseTokenizer.KEYWORDS, "//": TokenType.DIV}  # integer division

    class Generator(BaseGenerator):
        TRANSFORMS = {
            **BaseGenerator.TRANSFORMS,
            exp.IntDiv: lambda self, e: self.binary(e, "//"),
            exp.Array: lambda self, e: f"[{self.expressions(e, flat=True)}]",
            exp.DayOfWeek: rename_func("DAYOFWEEK"),
            exp.DayOfYear: rename_func("DAYOFYEAR"),
            exp.StrPosition: lambda self, e: _strpos(self, e),
            exp.Trim: trim_sql,  # TRIM(BOTH 'x' FROM col), not TRIM(col, 'x')
        }


def _strpos(gen: BaseGenerator, e: exp.StrPosition) -> str:
    if e.args.get("position") or e.args.get("occurrence"):
        gen.unsupported("STRPOS with a start position")
    return gen.func("STRPOS", e.this, e.args["substr"])


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # SQL to execute: regenerated from the parsed tree (so what was checked is what runs)
    tables: tuple[str, ...]  # registered tables the query reads, sorted
    sha256: str  # sha256 hex of the SQL text as the user gave it


def check_query(sql: str, catalogue: Collection[str]) -> CheckedQuery:
    """Return the query as it will run, or raise `QueryRefusedError` saying what to change."""
    with _sqlglot_silenced():
        tree = _parse_one(sql, catalogue)
        tables = _check_tree(tree, catalogue)
        regenerated = _generate(tree, catalogue)
        # The regenerated text is what polars sees: check it too, and that it is a fixed point.
        again = _parse_one(regenerated, catalogue)
        if _check_tree(again, catalogue) != tables or _generate(again, catalogue) != regenerated:
            raise QueryRefusedError("SQL009", "the query does not survive a round trip", catalogue)
    return CheckedQuery(regenerated, tables, hashlib.sha256(sql.encode("utf-8")).hexdigest())


@contextmanager
def _sqlglot_silenced() -> Iterator[None]:
    """sqlglot logs warnings that quote the query (which may hold a path): drop them."""
    logger = logging.getLogger("sqlglot")
    drop_all = logging.Filter("\0")  # matches no logger name, so filters out every record
    logger.addFilter(drop_all)
    try:
        yield
    finally:
        logger.removeFilter(drop_all)


def _parse_one(sql: str, catalogue: Collection[str]) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=_PolarsSQL) if s is not None]
    except (SqlglotError, RecursionError):
        raise QueryRefusedError("SQL001", "the SQL could not be parsed", catalogue) from None
    if len(statements) != 1:
        raise QueryRefusedError("SQL002", "exactly one statement is allowed", catalogue)
    tree = statements[0]
    # "(SELECT ...) LIMIT 1" stays whole: unwrapping it would drop the LIMIT.
    inner = tree.unnest() if isinstance(tree, exp.Subquery) else tree
    if not isinstance(inner, READ_ONLY_QUERIES):
        raise QueryRefusedError("SQL003", "only a read-only SELECT is allowed", catalogue)
    return tree


def _generate(tree: exp.Expr, catalogue: Collection[str]) -> str:
    # No comments: polars and sqlglot may not agree where a nested one ends. Every name in
    # double quotes: no name can be read as a keyword or a string (polars matches table names
    # case-insensitively, quoted or not, and column names case-sensitively, quoted or not).
    try:
        return tree.sql(
            dialect=_PolarsSQL, comments=False, identify=True, unsupported_level=ErrorLevel.RAISE
        )
    except (SqlglotError, RecursionError):
        raise QueryRefusedError(
            "SQL009", "the query does not survive a round trip", catalogue
        ) from None


def _check_tree(tree: exp.Expr, catalogue: Collection[str]) -> tuple[str, ...]:
    """Refuse in order of importance; return the registered tables read."""
    nodes = list(tree.walk())
    checks = (_plain_names, _no_file_functions, _no_writes, _no_table_valued, _sources_are_tables)
    for check in checks:
        check(nodes, catalogue)
    return _registered_tables(nodes, catalogue)


def _plain_names(nodes: list[exp.Expr], catalogue: Collection[str]) -> None:
    for node in nodes:
        if isinstance(node, (exp.Parameter, exp.Placeholder)):
            what = "it has a query parameter ($1, ?, :name or @name)"
            raise QueryRefusedError("SQL010", what, catalogue)
        raw = _raw_name(node)
        if raw is not None and not PLAIN_NAME.fullmatch(raw):
            what = "a name has a character other than letters, digits and _ (quote such names)"
            raise QueryRefusedError("SQL010", what, catalogue)


def _raw_name(node: exp.Expr) -> str | None:
    """The text sqlglot writes out unquoted for this node, if any."""
    if (isinstance(node, exp.Identifier) and not node.quoted) or isinstance(node, exp.Var):
        return node.name
    if isinstance(node, exp.Anonymous) and isinstance(node.this, str):
        return node.this
    return None


def _function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _no_file_functions(nodes: list[exp.Expr], catalogue: Collection[str]) -> None:
    for node in nodes:
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name in POLARS_FILE_FUNCTIONS:
                what = f"it calls {name}, which reads files"
                raise QueryRefusedError("SQL004", what, catalogue)
            if name.startswith(FILE_FUNCTION_PREFIXES):
                what = "it calls a read_* or scan_* function, which would read files"
                raise QueryRefusedError("SQL004", what, catalogue)


def _no_writes(nodes: list[exp.Expr], catalogue: Collection[str]) -> None:
    for node in nodes:
        if isinstance(node, WRITES):
            what = f"it contains {node.key.upper()}; only a read-only SELECT is allowed"
            raise QueryRefusedError("SQL003", what, catalogue)
        if isinstance(node, exp.CTE) and not isinstance(
            node.this, (*READ_ONLY_QUERIES, exp.Subquery)
        ):
            raise QueryRefusedError("SQL003", "a WITH clause must hold a SELECT", catalogue)


def _no_table_valued(nodes: list[exp.Expr], catalogue: Collection[str]) -> None:
    for node in nodes:
        if isinstance(node, exp.UDTF):  # UNNEST, LATERAL, VALUES, EXPLODE, ...
            what = f"it uses {node.key.upper()}, a table-valued construct"
            raise QueryRefusedError("SQL005", what, catalogue)
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            name = _function_name(node.this) if isinstance(node.this, exp.Func) else ""
            shown = name if name in POLARS_TABLE_FUNCTIONS else "a function"
            what = f"it reads from {shown} as a table; table functions are not allowed"
            raise QueryRefusedError("SQL005", what, catalogue)


def _sources_are_tables(nodes: list[exp.Expr], catalogue: Collection[str]) -> None:
    ctes = _cte_names(nodes)
    registered = {name.lower() for name in catalogue}
    if ctes & registered:
        what = "a WITH clause reuses the name of a registered table"
        raise QueryRefusedError("SQL008", what, catalogue)
    for node in _sources(nodes):
        if not isinstance(node, (exp.Table, exp.Subquery)):
            raise QueryRefusedError(
                "SQL005", "a FROM or JOIN reads something other than a table", catalogue
            )
    for table in (n for n in nodes if isinstance(n, exp.Table)):
        if any(v for k, v in table.args.items() if k not in ("this", "alias")):
            what = "a table name is qualified (schema.table) or carries a modifier"
            raise QueryRefusedError("SQL007", what, catalogue)
        if table.name.lower() not in registered | ctes:
            raise QueryRefusedError("SQL006", "it reads a table that is not registered", catalogue)


def _sources(nodes: list[exp.Expr]) -> Iterator[exp.Expr]:
    for node in nodes:
        if isinstance(node, (exp.From, exp.Join)):
            yield node.this


def _cte_names(nodes: list[exp.Expr]) -> set[str]:
    return {n.alias_or_name.lower() for n in nodes if isinstance(n, exp.CTE)}


def _registered_tables(nodes: list[exp.Expr], catalogue: Collection[str]) -> tuple[str, ...]:
    by_lower = {name.lower(): name for name in catalogue}
    ctes = _cte_names(nodes)
    names = {t.name.lower() for t in nodes if isinstance(t, exp.Table)} - ctes
    return tuple(sorted(by_lower[n] for n in names))
