"""Linkage quality from every run, without ground truth: how much links, by what, and for whom.

Link rates by partner, age band, sex and area show whether linkage works less well for some
groups (a missed link hides a need). Counts and rates only.
"""

from __future__ import annotations

import polars as pl

from governance import canonical as canon

SIZE_BUCKETS = ((1, "1"), (2, "2"), (3, "3-5"), (6, "6-10"), (11, "11+"))


def _size_bucket(n: pl.Expr) -> pl.Expr:
    out = pl.lit(None, pl.String)
    for lower, label in SIZE_BUCKETS:
        out = pl.when(n >= lower).then(pl.lit(label)).otherwise(out)
    return out


def _rates(frame: pl.DataFrame, by: str) -> dict[str, dict]:
    grouped = (
        frame.group_by(by)
        .agg(pl.len().alias("records"), pl.col("linked").mean().round(4).alias("link_rate"))
        .sort(by, nulls_last=True)
    )
    return {
        str(row[by]): {"records": row["records"], "link_rate": row["link_rate"]}
        for row in grouped.iter_rows(named=True)
    }


def _rate(mean) -> float | None:
    """A rate to four places; None when there is nothing to rate (no records tonight)."""
    return None if mean is None else round(float(mean), 4)


def linkage_quality(records: pl.DataFrame, links: pl.DataFrame, pairs: pl.DataFrame) -> dict:
    """records: record_key, partner, age_band, postcode_district, sex (raw codes, optional)."""
    sizes = links.group_by("person_id").len()
    frame = records.join(links.select("record_key", "person_id"), on="record_key").join(
        sizes.rename({"len": "cluster_size"}), on="person_id"
    )
    frame = frame.with_columns(linked=pl.col("cluster_size") > 1)
    if "sex" in frame.columns:
        frame = frame.with_columns(sex=canon.sex_canonical(pl.col("sex")).fill_null("unknown"))
    else:
        frame = frame.with_columns(sex=pl.lit("unknown"))
    clusters = (
        sizes.with_columns(_size_bucket(pl.col("len")).alias("size"))
        .group_by("size")
        .len()
        .sort("size")
    )
    return {
        "records": records.height,
        "persons": sizes.height,
        "link_rate": _rate(frame["linked"].mean()),
        "pairs_by_rule": dict(pairs.group_by("rule").len().sort("rule").iter_rows()),
        "persons_by_cluster_size": dict(clusters.iter_rows()),
        "by_partner": _rates(frame, "partner"),
        "by_age_band": _rates(frame, "age_band"),
        "by_sex": _rates(frame, "sex"),
        "by_district": _rates(frame, "postcode_district"),
    }
