"""Row-level checks on a raw extract, from its contract: each failing row gets reason codes.

Reason codes name the rule and the column (e.g. MISSING:event_date), never a value. A row with
any reason goes to quarantine; every other row goes on. rows in = rows passed + rows quarantined.
"""

from __future__ import annotations

import polars as pl

from governance import canonical as canon
from schemas.contract import Column, Extract


def _blank(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")


def column_reasons(col: Column) -> list[pl.Expr]:
    """One expression per rule that applies to the column: the reason code or null."""
    present = ~_blank(col.name)
    rules: list[tuple[str, pl.Expr]] = []
    if col.required:
        rules.append(("MISSING", ~present))
    if col.dtype == "date" and col.identity is None:
        parsed = pl.col(col.name).str.strip_chars().str.to_date(col.date_format, strict=False)
        rules.append(("BAD_DATE", present & parsed.is_null()))
    if col.allowed and col.identity is None:
        rules.append(("BAD_CODE", present & ~pl.col(col.name).str.strip_chars().is_in(col.allowed)))
    if col.format == "nhs_number":
        rules.append(
            (
                "BAD_NHS_NUMBER",
                present & ~canon.nhs_number_valid(canon.nhs_number_digits(pl.col(col.name))),
            )
        )
    if col.format == "nino":
        rules.append(("BAD_NINO", present & canon.nino_canonical(pl.col(col.name)).is_null()))
    return [pl.when(hit).then(pl.lit(f"{code}:{col.name}")) for code, hit in rules]


def with_reasons(lf: pl.LazyFrame, ex: Extract) -> pl.LazyFrame:
    """Add `quarantine_reason`: the row's reason codes joined by ';', or null for a good row."""
    checks = [r for c in ex.columns for r in column_reasons(c)]
    duplicate_ref = pl.when(pl.col("record_ref").is_duplicated() & ~_blank("record_ref")).then(
        pl.lit("DUPLICATE_REF:record_ref")
    )
    reasons = pl.concat_list([*checks, duplicate_ref]).list.drop_nulls()
    return lf.with_columns(
        quarantine_reason=pl.when(reasons.list.len() > 0).then(reasons.list.join(";"))
    )


def split_rows(df: pl.DataFrame, ex: Extract) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that pass, rows to quarantine with their `quarantine_reason`)."""
    checked = with_reasons(df.lazy(), ex).collect()
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
