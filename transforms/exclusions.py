"""Removing whole persons from the linked outputs (the national data opt-out, objections)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from governance.pseudonymise import token_as


@dataclass(frozen=True)
class Excluded:
    links: pl.DataFrame
    pairs: pl.DataFrame
    persons: int
    records: int


def exclude_persons(
    links: pl.DataFrame, pairs: pl.DataFrame, listed_records: pl.Series
) -> Excluded:
    """Drop every person holding any of the listed record keys: all their records from `links`
    and every pair touching one of them from `pairs`."""
    hit = links.filter(pl.col("record_key").is_in(listed_records.implode()))
    persons = hit.select("person_id").unique()
    if persons.is_empty():  # nobody listed is linked: the outputs as they are, not copies
        return Excluded(links, pairs, 0, 0)
    dropped = links.join(persons, on="person_id", how="semi")["record_key"].implode()
    # one filter, one copy of the pair table (millions of rows), not a join per end
    kept_pairs = pairs.filter(
        ~(pl.col("record_key_l").is_in(dropped) | pl.col("record_key_r").is_in(dropped))
    )
    return Excluded(
        links.join(persons, on="person_id", how="anti"),
        kept_pairs,
        persons.height,
        dropped.list.len().item(),
    )


def listed_records(records: pl.DataFrame, column: str, tokens: pl.Series) -> pl.Series:
    """Record keys whose token in `column` is one of `tokens` (hex text; compared as codes
    when the records hold the column as codes: transforms.link.as_codes)."""
    if column not in records.columns:
        return pl.Series("record_key", [], dtype=pl.String)
    tokens = tokens.to_frame().select(token_as(pl.first(), records[column].dtype)).to_series()
    return records.filter(pl.col(column).is_in(tokens.implode()))["record_key"]
