"""Prefect flows: build_cohort, and nightly (every partner concurrently, then the cohort)."""

from __future__ import annotations

import datetime as dt
import uuid

from prefect import flow, get_run_logger, task

from flows.cohort_build import build
from flows.config import Zones, restrict_umask
from flows.ingest import ingest_partner
from governance.audit import service_log
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
    restrict_umask()
    zones = Zones.from_env(data_dir)
    audit = service_log(zones.audit)
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
        audit.seal_run()
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


def describe_failure(exc: BaseException) -> str:
    """Our own errors say what, where and how to fix, without values; anything else is named by
    its type only, since its message could quote data."""
    if hasattr(exc, "exit_code"):
        return str(exc)
    return f"{type(exc).__name__} (an internal error; details in the Prefect logs)"


class NightFailed(Exception):
    """Some partners failed; the others were ingested and the cohort built without them. Carries
    the night's result (counts only) so the summary can still be shown."""

    def __init__(self, result: dict, failed: dict[str, BaseException]) -> None:
        self.result = result
        self.exit_code = getattr(next(iter(failed.values())), "exit_code", 1)
        names = ", ".join(sorted(failed))
        super().__init__(f"{len(failed)} partner(s) failed tonight: {names}")


@flow(name="nightly", persist_result=False)
def nightly(
    data_dir: str | None = None,
    run_date: dt.date | None = None,
    partners: list[str] | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    mcn_threshold: int = DEFAULT_MCN_THRESHOLD,
) -> dict:
    """Ingest every partner at once, then build the cohort. A partner that fails (bad policy,
    bad file, missing opt-out list) stops only itself: the others go on, the build uses only
    partners whose agreement is signed and in force, and the run ends failed, naming them."""
    restrict_umask()
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
        get_run_logger().error("ingest failed for %s", ", ".join(sorted(failed)))
    if not ingested:
        raise next(iter(failed.values()))
    cohort = build_cohort(data_dir, run_date, run_id, lookback_days, mcn_threshold)
    result = {
        "run_id": run_id,
        "ingest": ingested,
        "cohort": cohort,
        "failed": {p: describe_failure(e) for p, e in sorted(failed.items())},
    }
    if failed:
        raise NightFailed(result, failed)
    return result
