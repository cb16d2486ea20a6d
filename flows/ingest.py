"""Prefect flow: ingest one partner's drop under its data-sharing agreement."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task

from flows.config import Zones
from flows.io import read_manifest
from flows.stages import process_extract
from governance.keys import load_linkage_key
from governance.policy import load_policy, require_in_force
from schemas.registry import partner as partner_schema


def _io_error(task, task_run, state) -> bool:
    """Retry only what a retry can mend: the filesystem, not bad data or a bad policy."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:  # noqa: BLE001
        return False
    return False


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_io_error, persist_result=False)
def read_partner_manifest(data_dir: str, partner: str) -> dict:
    return read_manifest(Zones.from_env(data_dir).landing / partner)


@task(persist_result=False, cache_policy=None)
def ingest_extract(
    data_dir: str, partner: str, extract: str, run_date: dt.date, run_id: str, manifest: dict
) -> dict:
    """Read, check, pseudonymise and stage one extract. The key is loaded here, not passed in."""
    ex = partner_schema(partner).extract(extract)
    policy = load_policy(partner)
    counts = process_extract(
        Zones.from_env(data_dir), ex, manifest, policy, load_linkage_key(), run_date, run_id
    )
    get_run_logger().info(
        "%s/%s: %d in, %d staged, %d quarantined%s",
        partner,
        extract,
        counts.rows_in,
        counts.rows_staged,
        counts.rows_quarantined,
        " (already staged)" if counts.already_staged else "",
    )
    return counts.as_dict()


@flow(name="ingest_partner", persist_result=False)
def ingest_partner(partner: str, data_dir: str, run_date: dt.date, run_id: str) -> list[dict]:
    """Policy first: an agreement that fails its checks or is not in force stops the partner."""
    policy = load_policy(partner)
    require_in_force(policy, run_date)
    load_linkage_key()  # fail before reading anything when no key is configured
    manifest = read_partner_manifest(data_dir, partner)
    return [
        ingest_extract(data_dir, partner, ex.name, run_date, run_id, manifest)
        for ex in partner_schema(partner).extracts
    ]
