"""`mcn reidentify`: a named role recovers contact identity for one cohort person, for a purpose
their agreements allow. Every request, granted or refused, is audited (never the identity)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from flows.config import Zones
from governance.agreement import Policy
from governance.audit import AuditLog
from governance.errors import ReidentificationError
from governance.vault import VaultKey, unseal


@dataclass(frozen=True)
class Request:
    person_id: str
    role: str
    purpose: str
    requester: str


def allowed(policy: Policy, request: Request) -> bool:
    rule = policy.agreement.reidentification
    return bool(rule and request.role in rule.roles and request.purpose in rule.purposes)


def person_records(zones: Zones, person_id: str) -> pl.DataFrame:
    if not zones.links.exists():
        raise ReidentificationError(f"no link table at {zones.links}. Fix: run `mcn run` first")
    records = pl.read_parquet(zones.links).filter(pl.col("person_id") == person_id)
    if records.is_empty():
        raise ReidentificationError(
            "that person_id is not in the current link table. Fix: "
            "copy it from the cohort table (`mcn query`)"
        )
    return records


def sealed_for(zones: Zones, records: pl.DataFrame) -> pl.DataFrame:
    keys = records.select("record_key", "partner", "extract", "record_ref")
    files = list(zones.vault.glob("*/*/*.parquet"))
    if not files:
        raise ReidentificationError(f"no vault under {zones.vault}")
    vault = pl.concat([pl.read_parquet(f) for f in files]).unique("record_key")
    return keys.join(vault, on="record_key", how="inner").sort("partner", "extract")


def reidentify(
    zones: Zones, policies: dict[str, Policy], request: Request, key: VaultKey, audit: AuditLog
) -> list[dict]:
    """Contact identity of the person's records from partners whose agreement allows it."""
    records = person_records(zones, request.person_id)
    partners = sorted(records["partner"].unique())
    permitted = [p for p in partners if p in policies and allowed(policies[p], request)]
    details = {
        "person_id": request.person_id,
        "role": request.role,
        "purpose": request.purpose,
        "requester": request.requester,
        "partners_permitted": permitted,
        "partners_refused": [p for p in partners if p not in permitted],
        "vault_key_id": key.key_id,
    }
    if not permitted:
        audit.append("reidentify_refused", **details)
        raise ReidentificationError(
            f"no agreement allows role '{request.role}' to re-identify "
            f"for purpose '{request.purpose}' (partners: "
            f"{', '.join(partners)}). Fix: check the agreements' "
            "reidentification roles and purposes"
        )
    sealed = sealed_for(zones, records.filter(pl.col("partner").is_in(permitted)))
    opened = unseal(sealed, key)
    audit.append("reidentify", records_opened=len(opened), **details)
    return [
        {"partner": p, "extract": e, "record_ref": r, **identity}
        for p, e, r, identity in zip(
            sealed["partner"], sealed["extract"], sealed["record_ref"], opened, strict=True
        )
    ]
