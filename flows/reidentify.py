"""`mcn reidentify`: a named user recovers contact identity for one cohort person, under an
IG-signed grant whose role and purpose their partners' agreements allow.

The user's own key signs every entry this writes, with the grant embedded; they hold no audit
key, so the right to re-identify gives no power over anyone else's entries. Every attempt,
granted or refused for any reason, is audited (never an identity). The vault opens only through
`governance.vault.unseal`, which demands the signed entry already in the log.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flows import publish
from flows.config import Zones
from flows.errors import NothingThere, PublishedIntegrityError
from flows.retention import regular_files
from flows.staging import read_vault_meta
from governance import grants as grant_rules
from governance.agreement import Policy
from governance.audit import AuditLog, Signer, revoked_grants
from governance.errors import GrantError, KeyMissingError, ReidentificationError
from governance.signing import trusted_keys
from governance.vault import (
    ENV_VAULT_KEY_FILE,
    Access,
    VaultKey,
    load_vault_key,
    records_digest,
    unseal,
)

# Why a request was refused; the code goes in the audit entry and the message.
REFUSALS = {
    "R01": "no usable user key",
    "R02": "the person_id is not in the current link table",
    "R03": "no agreement of this person's partners allows the grant's role and purpose",
    "R04": "no vault key is configured",
    "R05": "the vault key is not the one the records were sealed with",
    "R06": "the vault holds nothing for this person's records",
    "R07": "the person's vault entries are past their agreement's retention",
    "R08": "a vault entry failed authentication",
    "R09": "the person's vault files fail their integrity check (altered, or another key)",
    "R10": "an internal error stopped it",
    "R11": "the published link table is not what the pipeline published",
}


@dataclass(frozen=True)
class Request:
    person_id: str
    purpose: str
    role: str | None = None  # which of the user's grants to use, when they hold several


def allowed(policy: Policy, role: str, purpose: str) -> bool:
    rule = policy.agreement.reidentification
    return bool(rule and role in rule.roles and purpose in rule.purposes)


def reidentification_roles(policies: dict[str, Policy]) -> list[str]:
    return sorted(
        {
            r
            for p in policies.values()
            if p.agreement.reidentification
            for r in p.agreement.reidentification.roles
        }
    )


class _Attempt:
    """Audits the attempt as it goes: refusals and the opening, signed by the user if known."""

    def __init__(self, zones: Zones, request: Request) -> None:
        self.zones = zones
        self.log = AuditLog(zones.audit)  # unauthenticated until the user's grant is known
        self.details = {
            "person_id": request.person_id,
            "purpose": request.purpose,
            "role_asked": request.role,
        }

    def refuse(self, code: str, message: str = "", **more) -> ReidentificationError:
        self.log.append("reidentify_refused", reason=code, **self.details, **more)
        return ReidentificationError(
            f"[{code}] re-identification refused: {message or REFUSALS[code]}. "
            "This attempt is in the audit log"
        )

    def act_as(self, signer: Signer) -> None:
        self.log = AuditLog(self.zones.audit, signer)


def reidentify(
    zones: Zones,
    policies: dict[str, Policy],
    request: Request,
    user_key: Path | str | None = None,
    today: dt.date | None = None,
) -> list[dict]:
    """Contact identity of the person's records from partners whose agreement allows it."""
    today = today or dt.date.today()
    attempt = _Attempt(zones, request)
    try:
        user = grant_rules.load_user_key(user_key)
    except GrantError as exc:
        raise attempt.refuse("R01", str(exc)) from None
    grants = grant_rules.for_key(grant_rules.grants_dir(zones.root), user.key_id)
    decision = grant_rules.covering(
        grants,
        trusted_keys(),
        reidentification_roles(policies),
        request.purpose,
        today,
        request.role,
        revoked_grants(zones.audit, trusted_keys()),
    )
    if decision.grant is None:
        raise attempt.refuse(decision.code, decision.reason, user_key_id=user.key_id)
    grant = decision.grant
    attempt.act_as(Signer(user.key_id, user.private, grant))
    try:
        return _granted(zones, policies, request, attempt, grant, today)
    except ReidentificationError:
        raise
    except PublishedIntegrityError as exc:
        raise attempt.refuse("R11", str(exc)) from None
    except NothingThere:
        raise attempt.refuse("R02", "nothing is published yet. Fix: run `mcn run` first") from None
    except Exception as exc:  # noqa: BLE001 - whatever fails, the attempt is on record
        raise attempt.refuse("R10", f"{REFUSALS['R10']} ({type(exc).__name__})") from None


def _granted(
    zones: Zones,
    policies: dict[str, Policy],
    request: Request,
    attempt: _Attempt,
    grant: dict,
    today: dt.date,
) -> list[dict]:
    records = person_records(zones, request.person_id)
    if records is None:
        raise attempt.refuse("R02", f"{REFUSALS['R02']}. Fix: copy it from the cohort table")
    partners = sorted(records["partner"].unique())
    permitted = [
        p
        for p in partners
        if p in policies and allowed(policies[p], grant["role"], request.purpose)
    ]
    attempt.details.update(
        partners_permitted=permitted, partners_refused=[p for p in partners if p not in permitted]
    )
    if not permitted:
        raise attempt.refuse("R03")
    try:
        key = load_vault_key()
    except KeyMissingError:
        raise attempt.refuse(
            "R04", f"{REFUSALS['R04']}. Fix: set {ENV_VAULT_KEY_FILE} to the vault key file"
        ) from None
    mine = records.filter(pl.col("partner").is_in(permitted))
    claimed = {m.get("vault_key_id") for _, m in vault_files(zones, permitted)}
    if claimed and key.key_id not in claimed:
        raise attempt.refuse("R05", vault_key_id=key.key_id)
    sealed, expired, unverified = sealed_for(zones, mine, policies, today, key)
    if sealed.is_empty():
        raise attempt.refuse("R07" if expired else "R09" if unverified else "R06")
    entry = attempt.log.append(
        "reidentify",
        **attempt.details,
        records_digest=records_digest(sealed["record_key"].to_list()),
        records_opened=sealed.height,
        records_past_retention=expired,
        vault_files_unverified=unverified,
        vault_key_id=key.key_id,
    )
    return _open(attempt, sealed, key, entry)


def _open(attempt: _Attempt, sealed: pl.DataFrame, key: VaultKey, entry: dict) -> list[dict]:
    try:
        opened = unseal(sealed, key, Access(attempt.log.path, entry))
    except ReidentificationError:
        raise attempt.refuse("R08") from None
    return [
        {"partner": p, "extract": e, "record_ref": r, **identity}
        for p, e, r, identity in zip(
            sealed["partner"], sealed["extract"], sealed["record_ref"], opened, strict=True
        )
    ]


def person_records(zones: Zones, person_id: str) -> pl.DataFrame | None:
    """The person's records from the published link table, once it is checked to be exactly
    what the pipeline published (flows.publish.verified_table)."""
    links = publish.verified_table(zones, "links")
    records = pl.read_parquet(links).filter(pl.col("person_id") == person_id)
    return None if records.is_empty() else records


def vault_files(zones: Zones, partners: list[str]) -> list[tuple[Path, dict]]:
    """Every vault file of these partners with its sidecar as written (not yet verified)."""
    out = []
    for partner in partners:
        for path in regular_files(zones.vault / partner):
            if path.suffix != ".parquet":
                continue
            try:
                out.append((path, json.loads(path.with_suffix(".json").read_text())))
            except (OSError, ValueError):
                out.append((path, {}))
    return out


def sealed_for(
    zones: Zones, records: pl.DataFrame, policies: dict[str, Policy], today: dt.date, key: VaultKey
) -> tuple[pl.DataFrame, int, int]:
    """The sealed rows of these records from vault files whose sidecar the vault key vouches
    for and that are within their retention; how many records sit only in files past it; how
    many files fail their sidecar's check (never opened)."""
    keys = records.select("record_key", "partner", "extract", "record_ref")
    fresh, stale, unverified = [], [], 0
    for partner in sorted(keys["partner"].unique()):
        limit = policies[partner].agreement.retention.vault
        for path, _ in vault_files(zones, [partner]):
            meta = read_vault_meta(path, key)
            if meta is None:
                unverified += 1
                continue
            sealed_on = dt.date.fromisoformat(str(meta["sealed_on"]))
            frame = pl.read_parquet(path).join(keys, on="record_key", how="inner")
            (fresh if (today - sealed_on).days <= limit else stale).append(frame)
    usable = pl.concat(fresh).unique("record_key") if fresh else pl.DataFrame()
    if usable.is_empty():
        usable = pl.DataFrame(schema={"record_key": pl.String})
    past = pl.concat(stale)["record_key"].n_unique() if stale else 0
    return (
        (usable.sort("partner", "extract") if "partner" in usable.columns else usable),
        past,
        unverified,
    )
