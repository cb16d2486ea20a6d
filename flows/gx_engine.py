"""The engine great-expectations validates on: DuckDB in this process, through SQLAlchemy.

GX's pandas engine filters the whole frame for every metric of every expectation and runs each
regex in Python, one value at a time; at a million people the staged checks took 77 s of the
night (docs/benchmarks.md). Its SQL engine sends the same expectations as SQL, bundled per
column, and DuckDB answers them vectorised over the Arrow buffers polars already holds (no copy):
the same checks on every row, about seven times faster (docs/decisions.md).

GX 1.24 has no DuckDB dialect of its own. DuckDB speaks PostgreSQL's SQL, and duckdb-engine's
SQLAlchemy dialect is PostgreSQL's, so this dialect names itself "postgresql" and GX writes
PostgreSQL SQL (`col ~ 'regex'`, `col IN (...)`, `GROUP BY ... HAVING count(*) > 1`), which
DuckDB runs. tests/unit/flows/test_check_list.py and (property-based, on awkward text, names
and types) tests/unit/flows/test_gx_engine.py prove it counts the same unexpected rows as GX's
pandas engine on every kind of check we use, or more where a full match is stricter.

Four things differ from a database server, and this module handles them:
- every connection is the one in-process DuckDB connection, where `frame_as_table` shows a
  polars frame as a table for the length of one checkpoint. It never spills to disk (no temp
  directory: a query that outgrows memory fails instead of writing rows to `.tmp/`), installs
  nothing and reads or writes no file;
- results are fetched as soon as a statement runs: GX reads a result after it has handed its
  connection back, which closes a DuckDB cursor's pending rows;
- regexes. PostgreSQL's `~` searches; DuckDB 1.x's is a full match (2.0's searches: so both
  operators are compiled to DuckDB's functions by name, `regexp_full_match` for `~`), and
  RE2's `$` matches only at the very end where Python's (GX's pandas engine) also matches
  before a final newline. A full match is never weaker for `expect_column_values_to_match_regex`
  (a token must be the whole value), but for `..._to_not_match_regex` (the staged leak shapes)
  it let `<NHS number>\\n` through where pandas failed it. So `!~` is compiled as a search
  (`regexp_matches`) with each `$` read as Python reads it (`python_dollar`): a value fails
  there whenever Python's `re.search` would fail it;
- error messages: DuckDB's may quote a row, and GX stores an expectation's exception in its
  result and Data Docs, so the cursor withholds them (the expectation still fails).

`CONNECTION_STRING` is what gx/great_expectations.yml names; importing this module registers it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from duckdb_engine import Dialect as _DuckDBDialect
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.base import PGCompiler

SCHEME = "mcnduckdb"
WITHHELD = "message withheld, as it may quote a value from a row (flows/gx_engine.py)"
CONNECTION_STRING = f"{SCHEME}:///:memory:"

_state: dict[str, Any] = {}
_lock = threading.Lock()
# No temp directory: DuckDB cannot spill a frame's rows to disk (an in-memory database spills
# to `.tmp/` in the working directory by default). No extension is installed or loaded.
_CONFIG = {
    "temp_directory": "",
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _connection():
    """The process's DuckDB connection (made on first use; a Dask worker makes its own)."""
    with _lock:
        if "con" not in _state:
            con = duckdb.connect(":memory:", config=_CONFIG)
            # After the temp directory is set (this also forbids changing it): no SQL statement
            # may read or write a file; registered frames are still readable.
            con.execute("SET enable_external_access = false")
            _state["con"] = con
        return _state["con"]


class _Cursor:
    """A DB-API cursor on the shared connection that fetches each result at once."""

    notices: list[str] = []

    def __init__(self, con) -> None:
        self._con = con
        self._rows: list[tuple] = []
        self.description = None
        self.rowcount = -1

    def execute(self, statement: str, parameters=None, context=None) -> None:
        try:
            result = (
                self._con.execute(statement, parameters)
                if parameters
                else self._con.execute(statement)
            )
        except duckdb.Error as exc:
            # DuckDB's message may quote a row ("Could not convert string '...'"), and GX
            # stores an expectation's exception message and traceback in its result and Data
            # Docs. The same class (so SQLAlchemy and GX treat it alike), without the message.
            raise type(exc)(f"DuckDB {type(exc).__name__}: {WITHHELD}") from None
        self.description = result.description
        self._rows = result.fetchall() if result.description else []
        self.rowcount = len(self._rows)

    def executemany(self, statement: str, parameters=None, context=None) -> None:
        self._con.executemany(statement, list(parameters or []))

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        size = size or 1
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def close(self) -> None:
        self._rows = []

    @property
    def connection(self) -> _Cursor:
        return self  # where SQLAlchemy's PostgreSQL dialect looks for `notices`


class _Connection:
    """The DB-API connection SQLAlchemy pools: the shared one. Reads only, so no transaction."""

    autocommit = None
    closed = False
    notices: list[str] = []

    def cursor(self) -> _Cursor:
        return _Cursor(_connection())

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass


def python_dollar(regex: str) -> str:
    """`regex` for RE2 with each `$` (outside a class, not escaped) matching where Python's `$`
    does: at the end, or before a newline that ends the text."""
    out, i, in_class = [], 0, False
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = not (ch == "]" and out[-1] not in ("[", "[^"))
        elif ch == "[":
            in_class = True
            if regex[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
                continue
        elif ch == "$":
            ch = r"(?:\n?$)"
        out.append(ch)
        i += 1
    return "".join(out)


class _Compiler(PGCompiler):
    """PostgreSQL's compiler, with `!~` (GX's not-match-regex) as a search in Python's sense."""

    def visit_custom_op_binary(self, element, operator, **kw):
        right = element.right
        if operator.opstring == "!~" and isinstance(getattr(right, "value", None), str):
            search = sa.func.regexp_matches(element.left, sa.literal(python_dollar(right.value)))
            return self.process(sa.not_(search), **kw)
        if operator.opstring == "~" and isinstance(getattr(right, "value", None), str):
            # By name, not DuckDB's `~`, whose meaning changed: a full match in DuckDB 1.x, a
            # search in 2.0 (measured). A full match: the value must be a token, not hold one.
            return self.process(sa.func.regexp_full_match(element.left, right), **kw)
        return super().visit_custom_op_binary(element, operator, **kw)


class Dialect(_DuckDBDialect):
    """duckdb-engine's dialect, over the shared connection, named as the SQL GX should write."""

    name = "postgresql"
    driver = SCHEME
    statement_compiler = _Compiler
    # No cache of compiled statements: `_Compiler` puts the translated pattern into the SQL as a
    # new parameter, which a cached statement would keep for the next expectation's pattern.
    supports_statement_cache = False

    def connect(self, *args, **kwargs) -> _Connection:  # type: ignore[override]
        return _Connection()

    def do_begin(self, dbapi_connection) -> None:
        pass

    def do_rollback(self, dbapi_connection) -> None:
        pass

    def do_commit(self, dbapi_connection) -> None:
        pass


registry.register(SCHEME, __name__, "Dialect")


def table_name(suite: str) -> str:
    """The table a suite's frame is shown as (`<partner>.<extract>.<stage>` ->
    `<partner>__<extract>__<stage>`)."""
    return suite.replace(".", "__")


# Rows per Arrow record batch shown to DuckDB. DuckDB scans one batch per thread, and polars
# hands over a whole frame as one batch, so a query used one core whatever the frame's size
# (docs/benchmarks.md); slices of this size (views, no copy) let it use every core.
SCAN_BATCH_ROWS = 65_536


def as_batches(frame: pl.DataFrame) -> pa.Table:
    """`frame` as an Arrow table of record batches of at most SCAN_BATCH_ROWS rows (zero-copy
    slices of polars' export)."""
    table = frame.to_arrow()
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_BATCH_ROWS), table.schema)


@contextmanager
def frame_as_table(suite: str, frame: pl.DataFrame) -> Iterator[None]:
    """Show `frame` to GX as the table its suite's asset names, for the length of the block.
    DuckDB reads the Arrow buffers in place, in batches its threads scan side by side; nothing
    is written to disk. Text is exported as Arrow large_string, a copy of every string (1.2 GB
    for a staged A&E extract at a million people): polars' own string views would need no
    copy, but DuckDB scans them more slowly, and the night took 11% more CPU for 7% less peak
    memory (docs/decisions.md)."""
    con = _connection()
    name = table_name(suite)
    con.register(name, as_batches(frame))
    try:
        yield
    finally:
        con.unregister(name)
