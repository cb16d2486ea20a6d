"""The demo's intervention list: people at a crisis peak, as a support team would pick them.

A partnership's own list is written by its support team (person_id from the cohort they worked
from, the date support started). The demo makes one from the published set: MCN cohort people
whose costliest month is followed by enough months of data, supported from the month after
that peak, which is when a real team meets them. The synthetic data hold no effect of support,
so the honest estimate should include zero while the before/after shows a "saving".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from flows.synth import write_manifest
from schemas.registry import partner

STARTS = partner("interventions").extract("intervention_starts")
PROGRAMMES = ("navigator", "housing_first")


def demo_starts(
    cohort: pl.DataFrame, use: pl.DataFrame, months_after: int, share: float, seed: int
) -> pl.DataFrame:
    """record_ref, person_id, start_date, programme, caseworker_notes (empty)."""
    last = use["month"].max()
    assert isinstance(last, dt.date)
    latest_start = _month(last, 1 - months_after)
    mcn = cohort.filter(pl.col("mcn_flag")).select("person_id")
    peaks = (
        use.join(mcn, on="person_id")
        .group_by("person_id", "month")
        .agg(pl.col("events").sum())
        .sort("events", "month", descending=[True, False])
        .group_by("person_id", maintain_order=True)
        .first()
        .with_columns(pl.col("month").dt.offset_by("1mo").alias("start_date"))
        .filter(pl.col("start_date") <= latest_start, pl.col("events") >= 2)
        .sort("person_id")
    )
    rng = np.random.default_rng(seed)
    picked = peaks.filter(pl.Series(rng.random(peaks.height) < share))
    n = picked.height
    return picked.select(
        pl.format("IS-{}", pl.int_range(1, n + 1).cast(pl.String).str.zfill(5)).alias("record_ref"),
        "person_id",
        pl.col("start_date").dt.offset_by(f"{rng.integers(0, 20)}d"),
        pl.Series("programme", rng.choice(PROGRAMMES, n).tolist(), dtype=pl.String),
        pl.lit(None, pl.String).alias("caseworker_notes"),
    )


def write_drop(landing: Path, starts: pl.DataFrame, as_of: dt.date) -> Path:
    """landing/interventions/intervention_starts.csv and its manifest."""
    folder = landing / STARTS.partner
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STARTS.file
    starts.with_columns(pl.col("start_date").dt.strftime("%Y-%m-%d")).write_csv(path)
    write_manifest(folder, STARTS.partner, {STARTS.file: starts.height}, as_of)
    return path


def _month(d: dt.date, shift: int) -> dt.date:
    index = d.year * 12 + d.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)
