"""Row-level checks on a raw extract, from its contract: each failing row gets reason codes.

Reason codes name the rule and the column (e.g. MISSING:event_date), never a value; every code is
declared in schemas.codes. A row with any reason goes to quarantine; every other row goes on.
rows in = rows passed + rows quarantined. Of rows that are exact copies of each other the first
is kept and the others are quarantined as DUPLICATE_ROW; different rows sharing a record_ref are
all quarantined (DUPLICATE_REF), since nothing says which is right.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from governance import canonical as canon
from schemas.codes import reason
from schemas.contract import EARLIEST_DATE, MAX_FIELD_CHARS, Column, Extract
from schemas.rules import Rule, column_rules


def _blank(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")


def _date_rules(col: Column, present: pl.Expr, latest: dt.date | None, event: bool) -> list:
    parsed = pl.col(col.name).str.strip_chars().str.to_date(col.date_format, strict=False)
    earliest = parsed < dt.date.fromisoformat(EARLIEST_DATE)
    late = parsed > latest if event and latest is not None else pl.lit(False)
    return [("BAD_DATE", present & parsed.is_null()), ("OUT_OF_RANGE", earliest | late)]


def _rule_hits(rule: Rule, latest: dt.date | None, event: bool) -> list[tuple[str, pl.Expr]]:
    """(reason code, failing rows) for one contract rule (schemas/rules.py)."""
    col, value = rule.column, pl.col(rule.column.name)
    present = ~_blank(col.name)
    if rule.kind == "no_nul_byte":
        return [("NUL_BYTE", value.str.contains("\x00", literal=True))]
    if rule.kind == "max_length":
        return [("FIELD_TOO_LONG", value.str.len_chars() > MAX_FIELD_CHARS)]
    if rule.kind == "required":
        return [("MISSING", ~present)]
    if rule.kind == "date":
        return _date_rules(col, present, latest, event)
    if rule.kind == "allowed":
        return [("BAD_CODE", present & ~value.str.strip_chars().is_in(col.allowed or ()))]
    if col.format == "nhs_number":
        return [
            ("BAD_NHS_NUMBER", present & ~canon.nhs_number_valid(canon.nhs_number_digits(value)))
        ]
    return [("BAD_NINO", present & canon.nino_canonical(value).is_null())]


def column_reasons(col: Column, latest: dt.date | None = None, event: bool = False) -> list:
    """One boolean expression per quarantining rule on the column, named by its reason code.

    `latest`: no event date may be after it (the run date); `event`: this is the event date."""
    hits = [h for r in column_rules(col) if r.quarantines for h in _rule_hits(r, latest, event)]
    return [hit.fill_null(False).alias(reason(code, col.name)) for code, hit in hits]


def duplicate_reasons(ex: Extract) -> list[pl.Expr]:
    """DUPLICATE_ROW for every copy of an earlier identical row; DUPLICATE_REF for every row
    whose record_ref is shared by a different row."""
    row = pl.struct(ex.column_names)
    shared = (row.n_unique().over("record_ref") > 1) & ~_blank("record_ref")
    return [
        (~row.is_first_distinct()).alias(reason("DUPLICATE_ROW")),
        shared.fill_null(False).alias(reason("DUPLICATE_REF", "record_ref")),
    ]


def rule_flags(ex: Extract, latest: dt.date | None = None) -> list[pl.Expr]:
    """Every rule of the contract as a boolean column named by its reason (`CODE:column`)."""
    checks = [r for c in ex.columns for r in column_reasons(c, latest, c.name == ex.event_date)]
    return [*checks, *duplicate_reasons(ex)]


def split_rows(
    df: pl.DataFrame, ex: Extract, latest: dt.date | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that pass, rows to quarantine with `quarantine_reason`: their codes joined by ';').

    Rules are evaluated as booleans over every row; reason strings are built for failing rows
    only (most rows pass)."""
    flags = df.select(rule_flags(ex, latest))
    failed = flags.select(pl.any_horizontal(pl.all()).alias("failed")).to_series()
    good = df.filter(~failed)
    reasons = pl.concat_list([pl.when(pl.col(n)).then(pl.lit(n)) for n in flags.columns])
    bad = pl.concat([df, flags], how="horizontal").filter(failed)
    bad = bad.with_columns(quarantine_reason=reasons.list.drop_nulls().list.join(";"))
    return good, bad.select(*df.columns, "quarantine_reason")


def reason_counts(quarantined: pl.DataFrame) -> dict[str, int]:
    """How many rows failed each rule (a row can fail several). Safe to log: no values."""
    if quarantined.is_empty():
        return {}
    counts = (
        quarantined.select(pl.col("quarantine_reason").str.split(";").explode())
        .group_by("quarantine_reason")
        .len()
        .sort("quarantine_reason")
    )
    return dict(zip(counts["quarantine_reason"], counts["len"], strict=True))
