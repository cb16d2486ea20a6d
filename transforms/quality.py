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


def _blank(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")


def _date_rules(col: Column, present: pl.Expr, latest: dt.date | None, event: bool) -> list:
    parsed = pl.col(col.name).str.strip_chars().str.to_date(col.date_format, strict=False)
    earliest = parsed < dt.date.fromisoformat(EARLIEST_DATE)
    late = parsed > latest if event and latest is not None else pl.lit(False)
    return [("BAD_DATE", present & parsed.is_null()), ("OUT_OF_RANGE", earliest | late)]


def column_reasons(col: Column, latest: dt.date | None = None, event: bool = False) -> list:
    """One expression per rule that applies to the column: the reason code or null.

    `latest`: no event date may be after it (the run date); `event`: this is the event date."""
    present = ~_blank(col.name)
    value = pl.col(col.name)
    rules: list[tuple[str, pl.Expr]] = [
        ("NUL_BYTE", value.str.contains("\x00", literal=True).fill_null(False)),
        ("FIELD_TOO_LONG", value.str.len_chars().fill_null(0) > MAX_FIELD_CHARS),
    ]
    if col.required:
        rules.append(("MISSING", ~present))
    if col.dtype == "date" and col.identity is None:
        rules += _date_rules(col, present, latest, event)
    if col.allowed and col.identity is None:
        rules.append(("BAD_CODE", present & ~value.str.strip_chars().is_in(col.allowed)))
    if col.format == "nhs_number":
        valid = canon.nhs_number_valid(canon.nhs_number_digits(value))
        rules.append(("BAD_NHS_NUMBER", present & ~valid))
    if col.format == "nino":
        rules.append(("BAD_NINO", present & canon.nino_canonical(value).is_null()))
    return [pl.when(hit).then(pl.lit(reason(code, col.name))) for code, hit in rules]


def duplicate_reasons(ex: Extract) -> list[pl.Expr]:
    """DUPLICATE_ROW for every copy of an earlier identical row; DUPLICATE_REF for every row
    whose record_ref is shared by a different row."""
    row = pl.struct(ex.column_names)
    copy = pl.when(~row.is_first_distinct()).then(pl.lit(reason("DUPLICATE_ROW")))
    shared = (row.n_unique().over("record_ref") > 1) & ~_blank("record_ref")
    return [copy, pl.when(shared).then(pl.lit(reason("DUPLICATE_REF", "record_ref")))]


def with_reasons(lf: pl.LazyFrame, ex: Extract, latest: dt.date | None = None) -> pl.LazyFrame:
    """Add `quarantine_reason`: the row's reason codes joined by ';', or null for a good row."""
    checks = [r for c in ex.columns for r in column_reasons(c, latest, c.name == ex.event_date)]
    reasons = pl.concat_list([*checks, *duplicate_reasons(ex)]).list.drop_nulls()
    return lf.with_columns(
        quarantine_reason=pl.when(reasons.list.len() > 0).then(reasons.list.join(";"))
    )


def split_rows(
    df: pl.DataFrame, ex: Extract, latest: dt.date | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that pass, rows to quarantine with their `quarantine_reason`)."""
    checked = with_reasons(df.lazy(), ex, latest).collect()
    good = checked.filter(pl.col("quarantine_reason").is_null()).drop("quarantine_reason")
    return good, checked.filter(pl.col("quarantine_reason").is_not_null())


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
