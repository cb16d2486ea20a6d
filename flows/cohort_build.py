"""Building the cohort from staged data, as plain functions the build_cohort flow calls."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl

from flows.config import Zones
from flows.io import sha256_file, write_json_atomic, write_parquet_atomic
from flows.linkage_chart import write_model_chart
from governance.audit import AuditLog
from schemas.registry import all_extracts
from transforms.cohort import cohort_table
from transforms.evaluate import pairwise_quality
from transforms.link import TOKEN_COLUMNS, link_records
from transforms.linkage_quality import linkage_quality
from transforms.needs import NEEDS_VERSION, need_events

RECORD_COLUMNS = (
    "record_key",
    "partner",
    "extract",
    "record_ref",
    "event_date",
    "age_band",
    "postcode_district",
    "sex",
)


def staged_files(zones: Zones) -> dict[tuple[str, str], list[Path]]:
    """Staged files per extract, oldest first."""
    return {
        (ex.partner, ex.name): sorted(
            (zones.staged / ex.partner / ex.name).glob("*.parquet"), key=lambda p: p.stat().st_mtime
        )
        for ex in all_extracts()
    }


def load_staged(zones: Zones) -> dict[tuple[str, str], pl.DataFrame]:
    """Every staged extract, one row per record_key (the newest staged copy wins)."""
    out = {}
    found = staged_files(zones)
    for ex in all_extracts():
        files = found[(ex.partner, ex.name)]
        if files:
            frames = [pl.read_parquet(f) for f in files]
            out[(ex.partner, ex.name)] = pl.concat(frames, how="diagonal_relaxed").unique(
                "record_key", keep="last", maintain_order=True
            )
    return out


def records_frame(staged: dict[tuple[str, str], pl.DataFrame]) -> pl.DataFrame:
    """One row per staged record: the columns linkage and the cohort need, in one shape."""
    parts = []
    for ex in all_extracts():
        df = staged.get((ex.partner, ex.name))
        if df is None:
            continue
        df = df.rename({ex.event_date: "event_date"})
        wanted = [*RECORD_COLUMNS, *TOKEN_COLUMNS]
        parts.append(
            df.select(
                [pl.col(c) if c in df.columns else pl.lit(None, pl.String).alias(c) for c in wanted]
            )
        )
    return pl.concat(parts)


def build(
    zones: Zones,
    run_date: dt.date,
    run_id: str,
    lookback_days: int,
    threshold: int,
    audit: AuditLog | None = None,
) -> dict:
    staged = load_staged(zones)
    if not staged:
        raise FileNotFoundError(
            f"no staged data under {zones.staged}: run the ingest first (`mcn run`)"
        )
    records = records_frame(staged)
    linkage = link_records(records.select("record_key", *TOKEN_COLUMNS))
    links = linkage.links
    events = need_events({k: v.lazy() for k, v in staged.items()}, run_date, lookback_days)
    cohort = cohort_table(records.lazy(), links.lazy(), events, threshold).collect()
    link_out = records.select("record_key", "partner", "extract", "record_ref").join(
        links, on="record_key"
    )
    key_ids = staged_key_ids(zones)
    footer = {
        "mcn.run_id": run_id,
        "mcn.needs_version": NEEDS_VERSION,
        "mcn.linkage_key_ids": ",".join(key_ids),
    }
    write_parquet_atomic(link_out, zones.links, footer)
    write_parquet_atomic(linkage.pairs, zones.link_pairs, footer)
    write_parquet_atomic(cohort, zones.cohort, footer)
    summary = {
        "run_id": run_id,
        "run_date": run_date.isoformat(),
        "needs_version": NEEDS_VERSION,
        "lookback_days": lookback_days,
        "mcn_threshold": threshold,
        "records_linked": records.height,
        "persons": cohort.height,
        "mcn_persons": int(cohort["mcn_flag"].sum()),
        "persons_by_need_count": dict(
            cohort.group_by("need_count").len().sort("need_count").iter_rows()
        ),
        "key_ids": {"linkage": key_ids},
        "cohort_path": str(zones.cohort),
        "links_path": str(zones.links),
        "linkage": linkage_summary(linkage),
        "linkage_quality_path": str(zones.runs / run_id / "linkage_quality.json"),
    }
    if linkage.model is not None:
        chart = write_model_chart(
            linkage.model.summary(), zones.runs / run_id / "linkage_model.svg"
        )
        summary["linkage_chart_path"] = str(chart)
    write_json_atomic(summary, zones.runs / run_id / "cohort.json")
    quality = linkage_quality(records, links, linkage.pairs)
    if linkage.model is not None:
        quality["model"] = linkage.model.summary()
        quality["model_chart"] = summary["linkage_chart_path"]
    write_json_atomic(quality, zones.runs / run_id / "linkage_quality.json")
    if audit is not None:
        audit.append("cohort", run_id=run_id, flow="build_cohort", **_audit_details(zones, summary))
    return summary


def linkage_summary(linkage) -> dict:
    """How records were linked: counts per rule and the fitted model (no values)."""
    rules = linkage.pairs.group_by("rule").len().sort("rule")
    out = {"pairs_by_rule": dict(rules.iter_rows())}
    if linkage.model is not None:
        out["threshold"] = linkage.model.threshold
        out["model"] = linkage.model.summary()
    return out


def staged_key_ids(zones: Zones) -> list[str]:
    """The linkage key ids the staged data was made under (one, unless mid-rotation)."""
    ids = {
        json.loads(p.with_suffix(".json").read_text()).get("key_id")
        for files in staged_files(zones).values()
        for p in files
        if p.with_suffix(".json").exists()
    }
    return sorted(i for i in ids if i)


def _audit_details(zones: Zones, summary: dict) -> dict:
    """Inputs and outputs by content hash, and the key ids the staged data was made under."""
    inputs = {
        str(p.relative_to(zones.root)): sha256_file(p)
        for files in staged_files(zones).values()
        for p in files
    }
    outputs = {
        str(p.relative_to(zones.root)): sha256_file(p)
        for p in (zones.cohort, zones.links, zones.link_pairs)
    }
    keep = (
        "run_date",
        "needs_version",
        "lookback_days",
        "mcn_threshold",
        "records_linked",
        "persons",
        "mcn_persons",
        "persons_by_need_count",
    )
    return {
        **{k: summary[k] for k in keep},
        "inputs": inputs,
        "outputs": outputs,
        "key_ids": summary["key_ids"],
    }


def evaluate_links(links_path: Path, truth_path: Path) -> dict:
    """Pairwise linkage quality of a published link table against a synthetic ground truth."""
    links = pl.read_parquet(links_path)
    truth = pl.read_parquet(truth_path).rename({"person": "truth"})
    assigned = links.join(truth, on=["partner", "extract", "record_ref"], how="inner")
    return pairwise_quality(assigned)
