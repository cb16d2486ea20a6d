"""The engine great-expectations validates on: DuckDB in this process, through SQLAlchemy.

GX's pandas engine filters the whole frame for every metric of every expectation and runs each
regex in Python, one value at a time; at a million people the staged checks took 77 s of the
night (docs/benchmarks.md). Its SQL engine sends the same expectations as SQL, bundled per
column, and DuckDB answers them vectorised over the Arrow buffers polars already holds (no copy):
the same checks on every row, about seven times faster (docs/decisions.md).

GX 1.24 has no DuckDB dialect of its own. DuckDB speaks PostgreSQL's SQL, and duckdb-engine's
SQLAlchemy dialect is PostgreSQL's, so this dialect names itself "postgresql" and GX writes
PostgreSQL SQL (`col ~ 'regex'`, `col IN (...)`, `GROUP BY ... HAVING count(*) > 1`), which
DuckDB runs. tests/unit/flows/test_check_list.py proves it counts the same unexpected rows as
GX's pandas engine on every kind of check we use.

Two things differ from a database server, and this module handles both:
- every connection is the one in-process DuckDB connection, where `frame_as_table` shows a
  polars frame as a table for the length of one checkpoint;
- results are fetched as soon as a statement runs: GX reads a result after it has handed its
  connection back, which closes a DuckDB cursor's pending rows.

`CONNECTION_STRING` is what gx/great_expectations.yml names; importing this module registers it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from duckdb_engine import Dialect as _DuckDBDialect
from sqlalchemy.dialects import registry

SCHEME = "mcnduckdb"
CONNECTION_STRING = f"{SCHEME}:///:memory:"

_state: dict[str, Any] = {}
_lock = threading.Lock()


def _connection():
    """The process's DuckDB connection (made on first use; a Dask worker makes its own)."""
    with _lock:
        if "con" not in _state:
            import duckdb

            _state["con"] = duckdb.connect(":memory:")
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
        result = (
            self._con.execute(statement, parameters) if parameters else self._con.execute(statement)
        )
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


class Dialect(_DuckDBDialect):
    """duckdb-engine's dialect, over the shared connection, named as the SQL GX should write."""

    name = "postgresql"
    driver = SCHEME

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


@contextmanager
def frame_as_table(suite: str, frame: pl.DataFrame) -> Iterator[None]:
    """Show `frame` to GX as the table its suite's asset names, for the length of the block.
    DuckDB reads the frame's Arrow buffers in place; nothing is copied or written to disk."""
    con = _connection()
    name = table_name(suite)
    con.register(name, frame.to_arrow())
    try:
        yield
    finally:
        con.unregister(name)
