"""What the default analyst may get back from a query: counts of people in coarse groups, under
disclosure control. Row-level results are for the accredited role only.

A query result is an aggregate when its outermost SELECT is one COUNT(...) and at most two
grouping columns, each derived (through any subqueries, aliases and CTEs: sqlglot's lineage)
only from the table's groupable columns: never the person key, never a date. Anything else
(a bare column list, SUM or MAX of a value, a window, a UNION at the top) is refused before it
runs, with the reason (and SQL016: a default analyst's `mcn cohort diff --rows`). The result
is then controlled (governance.disclosure): small cells redacted, a second cell where totals
would give one away, every count rounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify

from governance.disclosure import Controlled, DisclosureRules, control
from schemas.errors import ExitCode, UserError

# polars dtypes as sqlglot types, for the schema qualify and lineage need
_SQL_TYPES = {"str": "text", "int": "bigint", "bool": "boolean", "date": "date", "float": "double"}
ALL_ROWS = "all"  # the label of a count over no grouping


@dataclass(frozen=True)
class AggregateShape:
    dims: list[int]  # positions of the grouping columns in the result
    count: int  # position of the COUNT column


class AggregateOnlyError(UserError):
    """A default analyst's query that would return rows, values or too fine a table."""

    exit_code = ExitCode.QUERY_REFUSED

    def __init__(self, code: str, why: str) -> None:
        self.code = code
        super().__init__(
            f"[{code}] query refused: as an analyst you get counts of people in groups, not "
            f"rows: {why}. Fix: ask for one COUNT in at most two coarse groups, e.g. "
            "`select age_band, count(*) as n from cohort group by 1` (row-level queries need "
            "an accredited analyst's grant)"
        )


def aggregate_shape(
    sql: str, schemas: Mapping[str, Mapping[str, str]], groupable: Mapping[str, set[str]]
) -> AggregateShape:
    """The dims and count of an aggregate query, or AggregateOnlyError (codes SQL011-SQL015).
    `schemas`: table -> column -> contract dtype; `groupable`: table -> columns a group may use.
    """
    sql_schema: dict[str, object] = {
        t: {c: _SQL_TYPES.get(d, "text") for c, d in cols.items()} for t, cols in schemas.items()
    }
    try:
        tree = qualify(sqlglot.parse_one(sql), schema=sql_schema)
    except SqlglotError:
        raise AggregateOnlyError(
            "SQL011", "the query could not be resolved against the tables' columns"
        ) from None
    if not isinstance(tree, exp.Select):
        raise AggregateOnlyError(
            "SQL011", "the outermost query must be one SELECT (no UNION at the top)"
        )
    counts = [e for e in tree.expressions if isinstance(e.unalias(), exp.Count)]
    if len(counts) != 1:
        raise AggregateOnlyError(
            "SQL012", f"it must return exactly one COUNT column (found {len(counts)})"
        )
    dims = [e for e in tree.expressions if e is not counts[0]]
    if len(dims) > 2:
        raise AggregateOnlyError(
            "SQL013", f"it groups by {len(dims)} columns; group by at most two"
        )
    allowed = {f'"{t}"."{c}"' for t, cols in groupable.items() for c in cols}
    for dim in dims:
        if isinstance(dim.unalias(), exp.AggFunc | exp.Window):
            raise AggregateOnlyError(
                "SQL014", f"column {dim.alias_or_name} is an aggregate other than COUNT"
            )
        sources = [
            n.name
            for n in lineage(dim.alias_or_name, tree, schema=sql_schema).walk()
            if not n.downstream
        ]
        outside = sorted({s for s in sources if s not in allowed})
        if outside or not sources:
            names = ", ".join(s.split(".")[-1].strip('"') for s in outside) or "no column"
            raise AggregateOnlyError(
                "SQL015",
                f"group {dim.alias_or_name} is made from {names}, which identify people or "
                "dates; group by coarse columns (see docs/schemas.md, cohort: groupable)",
            )
    if dims and not tree.args.get("group"):
        raise AggregateOnlyError("SQL013", "columns beside the COUNT need a GROUP BY")
    where = {id(e): i for i, e in enumerate(tree.expressions)}
    return AggregateShape([where[id(d)] for d in dims], where[id(counts[0])])


def controlled_result(
    result: pl.DataFrame, shape: AggregateShape, rules: DisclosureRules
) -> Controlled:
    """The query's result under disclosure control, with its margins."""
    names = result.columns
    dims = [names[i] for i in shape.dims] or [ALL_ROWS]
    count = names[shape.count]
    frame = result if shape.dims else result.with_columns(pl.lit(ALL_ROWS).alias(ALL_ROWS))
    frame = frame.select(*[pl.col(d).cast(pl.String) for d in dims], pl.col(count))
    return control(frame, dims, count, rules)
