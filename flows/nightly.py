"""Prefect flows: build_cohort, and nightly (every partner concurrently, then the cohort)."""

from __future__ import annotations

import datetime as dt
import uuid

from prefect import flow, get_run_logger, task

from flows.cohort_build import build
from flows.config import Zones
from flows.ingest import ingest_partner
from governance.audit import AuditLog, load_audit_key
from schemas.registry import PARTNER_NAMES
from transforms.cohort import DEFAULT_MCN_THRESHOLD
from transforms.needs import DEFAULT_LOOKBACK_DAYS


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


@flow(name="build_cohort", persist_result=False)
def build_cohort(
    data_dir: str | None = None,
    run_date: dt.date | None = None,
    run_id: str | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    mcn_threshold: int = DEFAULT_MCN_THRESHOLD,
) -> dict:
    """Link staged records, derive needs, publish the cohort table atomically."""
    zones = Zones.from_env(data_dir)
    audit, audit_key = AuditLog(zones.audit), load_audit_key()
    try:
        summary = build(
            zones,
            run_date or dt.date.today(),
            run_id or new_run_id(),
            lookback_days,
            mcn_threshold,
            audit,
        )
    finally:
        audit.checkpoint(audit_key)
    get_run_logger().info(
        "cohort: %d persons, %d with %d+ needs",
        summary["persons"],
        summary["mcn_persons"],
        mcn_threshold,
    )
    return summary


@task(persist_result=False, cache_policy=None)
def ingest_partner_task(partner: str, data_dir: str, run_date: dt.date, run_id: str) -> list:
    return ingest_partner(partner, data_dir, run_date, run_id)


@flow(name="nightly", persist_result=False)
def nightly(
    data_dir: str | None = None,
    run_date: dt.date | None = None,
    partners: list[str] | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    mcn_threshold: int = DEFAULT_MCN_THRESHOLD,
) -> dict:
    """Ingest every partner at once; build the cohort only when every ingest succeeded."""
    data_dir = str(Zones.from_env(data_dir).root)
    run_date = run_date or dt.date.today()
    run_id = new_run_id()
    futures = {
        p: ingest_partner_task.submit(p, data_dir, run_date, run_id)
        for p in partners or PARTNER_NAMES
    }
    ingested, failed = {}, {}
    for partner, future in futures.items():
        try:
            ingested[partner] = future.result()
        except Exception as exc:  # noqa: BLE001 - report every partner, then stop
            failed[partner] = exc
    if failed:
        first = next(iter(failed.values()))
        get_run_logger().error(
            "ingest failed for %s; the published cohort was not changed", ", ".join(sorted(failed))
        )
        raise first
    cohort = build_cohort(data_dir, run_date, run_id, lookback_days, mcn_threshold)
    return {"run_id": run_id, "ingest": ingested, "cohort": cohort}
