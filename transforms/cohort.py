"""The cohort table: one row per linked person with need flags, counts and coarse context."""

from __future__ import annotations

import polars as pl

from governance.canonical import sex_canonical
from schemas.cohort import COLUMN_NAMES, NEEDS


def person_needs(events: pl.LazyFrame, links: pl.LazyFrame) -> pl.LazyFrame:
    """person_id, one boolean per need, first/last need dates."""
    per_person = events.join(links.select("record_key", "person_id"), on="record_key")
    flags = per_person.group_by("person_id").agg(
        *[(pl.col("need") == n).any().alias(f"need_{n}") for n in NEEDS],
        pl.col("event_date").min().alias("first_need_date"),
        pl.col("event_date").max().alias("last_need_date"),
    )
    return flags


def person_context(records: pl.LazyFrame, links: pl.LazyFrame) -> pl.LazyFrame:
    """person_id with record and partner counts, age band, sex (F or M, the most common across
    records), latest district and link rank."""
    joined = records.join(links, on="record_key")
    sex = (
        sex_canonical(pl.col("sex"))
        if "sex" in records.collect_schema()
        else pl.lit(None, pl.String)
    )
    return (
        joined.with_columns(sex=sex)
        .group_by("person_id")
        .agg(
            pl.len().cast(pl.Int64).alias("n_records"),
            pl.col("partner").n_unique().cast(pl.Int64).alias("n_partners"),
            pl.col("partner").unique().sort().str.join(",").alias("partners"),
            pl.col("age_band").drop_nulls().mode().sort().first().alias("age_band"),
            pl.col("sex").drop_nulls().mode().sort().first().alias("sex"),
            pl.col("postcode_district")
            .sort_by("event_date")
            .drop_nulls()
            .last()
            .alias("postcode_district"),
            pl.col("link_rank").min().cast(pl.Int64).alias("link_rank"),
        )
    )


def cohort_table(
    records: pl.LazyFrame,
    links: pl.LazyFrame,
    events: pl.LazyFrame,
    threshold: int,
) -> pl.LazyFrame:
    """Every linked person, need flags false where no qualifying event (and for every domain
    the framework whose events these are does not use); mcn_flag at `threshold` needs."""
    flags = [f"need_{n}" for n in NEEDS]
    return (
        person_context(records, links)
        .join(person_needs(events, links), on="person_id", how="left")
        .with_columns(pl.col(flags).fill_null(False))
        .with_columns(need_count=pl.sum_horizontal(pl.col(flags).cast(pl.Int64)))
        .with_columns(mcn_flag=pl.col("need_count") >= threshold)
        .select(COLUMN_NAMES)
        .sort("person_id")
    )
