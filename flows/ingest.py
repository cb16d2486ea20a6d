"""Prefect flow: ingest one partner's drop under its data-sharing agreement."""

from __future__ import annotations

import datetime as dt
import time

from prefect import flow, get_run_logger, task

from flows import runs
from flows.config import Zones, restrict_umask
from flows.io import read_manifest
from flows.stages import IngestContext, process_extract
from governance.audit import service_log
from governance.errors import AgreementNotInForceError, OptOutError, PolicyError, Problem
from governance.keys import load_linkage_key
from governance.optout import current_list, require_fresh
from governance.policy import load_approved, policy_path, require_in_force
from governance.signing import trusted_keys
from governance.vault import load_vault_key
from schemas.registry import partner as partner_schema

REFUSALS = (PolicyError, AgreementNotInForceError, OptOutError)


def _io_error(task, task_run, state) -> bool:
    """Retry only what a retry can mend: the filesystem, not bad data or a bad policy."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:  # noqa: BLE001
        return False
    return False


def audit_entries(zones: Zones) -> list[dict]:
    from governance.audit import read_entries

    return read_entries(zones.audit) if (zones.audit / "audit.jsonl").exists() else []


# Each partner run's context, made once by ingest_partner and used by every extract task it
# runs (tasks run in its process). Keys stay in memory: only the policy's sha256 is a parameter.
_CONTEXTS: dict[tuple[str, str], IngestContext] = {}


def ingest_context(data_dir: str, partner: str, run_date: dt.date, run_id: str) -> IngestContext:
    """Policy (signed, in force), keys and opt-out list: everything checked before any read."""
    zones = Zones.from_env(data_dir)
    policy, approval = load_approved(partner)
    require_in_force(policy, run_date)
    optout = None
    if policy.agreement.opt_out and policy.agreement.opt_out.national_data_opt_out:
        optout = current_list(zones.optout, trusted_keys(), audit_entries(zones))
        require_fresh(optout, policy, run_date)
    vault_key = load_vault_key() if policy.agreement.reidentification else None
    return IngestContext(
        zones,
        policy,
        approval,
        load_linkage_key(),
        run_date,
        run_id,
        service_log(zones.audit),
        vault_key,
        optout,
    )


def partner_context(
    data_dir: str, partner: str, run_date: dt.date, run_id: str, policy_sha256: str
) -> IngestContext:
    """The partner run's context; made again only where the run's is not at hand (a task
    retried in another process), and then only under the very policy the run pinned."""
    ctx = _CONTEXTS.get((partner, run_id)) or ingest_context(data_dir, partner, run_date, run_id)
    if ctx.approval.sha256 != policy_sha256:
        path = policy_path(partner)
        raise PolicyError(
            [
                Problem(
                    str(path),
                    "signature",
                    "POL036",
                    "the policy changed during the run; its remaining extracts were not read. "
                    "Fix: run the partner again, under one policy",
                )
            ]
        )
    return ctx


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_io_error, persist_result=False)
def read_partner_manifest(data_dir: str, partner: str) -> dict:
    return read_manifest(Zones.from_env(data_dir).landing / partner)


@task(
    task_run_name="{partner}/{extract}",
    persist_result=False,
    cache_policy=None,
)
def ingest_extract(
    data_dir: str,
    partner: str,
    extract: str,
    run_date: dt.date,
    run_id: str,
    manifest: dict,
    policy_sha256: str,
) -> dict:
    """Read, check, pseudonymise and stage one extract under the partner run's context (keys
    never pass through parameters; the policy is pinned by its sha256)."""
    start = time.monotonic()
    ctx = partner_context(data_dir, partner, run_date, run_id, policy_sha256)
    counts = process_extract(ctx, partner_schema(partner).extract(extract), manifest)
    runs.progress(
        f"{partner}/{extract}: {counts.rows_in:,} in, {counts.rows_staged:,} staged, "
        f"{counts.rows_quarantined:,} quarantined, {counts.rows_opted_out:,} opted out"
        + (" (already staged)" if counts.already_staged else "")
    )
    get_run_logger().info(
        "%s/%s: %d in, %d staged, %d quarantined, %d opted out%s",
        partner,
        extract,
        counts.rows_in,
        counts.rows_staged,
        counts.rows_quarantined,
        counts.rows_opted_out,
        " (already staged)" if counts.already_staged else "",
    )
    return {**counts.as_dict(), "seconds": round(time.monotonic() - start, 1)}


def build_run_data_docs(zones: Zones, run_id: str) -> None:
    """The run's great-expectations Data Docs, from every result stored so far. A failure here
    loses no data (the results are stored), so it is logged, not raised."""
    from flows.gx_project import build_data_docs

    try:
        build_data_docs(zones.runs / run_id)
    except Exception as exc:  # noqa: BLE001 - the night's data is safe without the pages
        get_run_logger().warning("Data Docs not built: %s", type(exc).__name__)


@flow(
    name="ingest_partner",
    flow_run_name="ingest-{partner}-{run_id}",
    persist_result=False,
    timeout_seconds=runs.PARTNER_TIMEOUT,
)
def ingest_partner(
    partner: str, data_dir: str, run_date: dt.date, run_id: str, data_docs: bool = True
) -> list[dict]:
    """Refuse before reading anything when the policy, its signature, the agreement's dates, a
    key or the opt-out list is not right; audit the refusal; checkpoint the audit log."""
    restrict_umask()
    zones = Zones.from_env(data_dir)
    audit = service_log(zones.audit)
    try:
        try:
            ctx = ingest_context(data_dir, partner, run_date, run_id)
        except REFUSALS as exc:
            runs.progress(f"{partner}: refused ({type(exc).__name__})")
            audit.append(
                "ingest_refused",
                run_id=run_id,
                flow="ingest_partner",
                partner=partner,
                run_date=run_date.isoformat(),
                reason=type(exc).__name__,
            )
            raise
        _CONTEXTS[(partner, run_id)] = ctx
        manifest = read_partner_manifest(data_dir, partner)
        sha = ctx.approval.sha256
        counts = [
            ingest_extract(data_dir, partner, ex.name, run_date, run_id, manifest, sha)
            for ex in partner_schema(partner).extracts
        ]
        if data_docs:  # the nightly flow builds them once, after every partner
            build_run_data_docs(zones, run_id)
        return counts
    finally:
        _CONTEXTS.pop((partner, run_id), None)
        audit.seal_run()
