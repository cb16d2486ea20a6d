"""`mcn retention apply`: delete what each agreement's retention per zone no longer allows.

Ages: landing drops from their manifest's extract_date; quarantine from the run id's date;
staged and vault files from the date they were staged. Every deletion appends a receipt (zone,
partner, path, content hash, age, limit) to the audit log; --dry-run lists and deletes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from flows.config import Zones
from flows.io import sha256_file
from governance.agreement import Policy
from governance.audit import AuditLog


@dataclass(frozen=True)
class Expired:
    zone: str
    partner: str
    path: Path
    age_days: int
    limit_days: int


def _landing(zones: Zones, partner: str) -> list[tuple[str, Path, dt.date]]:
    manifest = zones.landing / partner / "manifest.json"
    if not manifest.exists():
        return []
    data = json.loads(manifest.read_text())
    when = dt.date.fromisoformat(data["extract_date"])
    return [("landing", zones.landing / partner / n, when) for n in data["files"]] + [
        ("landing", manifest, when)
    ]


def _quarantine(zones: Zones, partner: str) -> list[tuple[str, Path, dt.date]]:
    out = []
    for run in sorted((zones.quarantine / partner).glob("*")):
        when = dt.datetime.strptime(run.name[:8], "%Y%m%d").date()
        out += [("quarantine", f, when) for f in sorted(run.glob("*.parquet"))]
    return out


def _staged_and_vault(zones: Zones, partner: str) -> list[tuple[str, Path, dt.date]]:
    out = []
    for sidecar in sorted((zones.staged / partner).glob("*/*.json")):
        when = dt.date.fromisoformat(json.loads(sidecar.read_text())["staged_on"])
        staged = sidecar.with_suffix(".parquet")
        out += [("staged", staged, when), ("staged", sidecar, when)]
        vault = zones.vault / partner / staged.parent.name / staged.name
        out.append(("vault", vault, when))
    return [item for item in out if item[1].exists()]


def expired(zones: Zones, policies: dict[str, Policy], today: dt.date) -> list[Expired]:
    found = []
    for partner, policy in policies.items():
        limits = policy.agreement.retention
        for zone, path, when in (
            _landing(zones, partner)
            + _quarantine(zones, partner)
            + _staged_and_vault(zones, partner)
        ):
            age, limit = (today - when).days, getattr(limits, zone)
            if path.exists() and age > limit:
                found.append(Expired(zone, partner, path, age, limit))
    return found


def apply(
    zones: Zones, policies: dict[str, Policy], today: dt.date, dry_run: bool, audit: AuditLog | None
) -> list[Expired]:
    items = expired(zones, policies, today)
    if dry_run:
        return items
    for item in items:
        digest = sha256_file(item.path)
        item.path.unlink()
        if audit is not None:
            audit.append(
                "retention_delete",
                zone=item.zone,
                partner=item.partner,
                path=str(item.path.relative_to(zones.root)),
                sha256=digest,
                age_days=item.age_days,
                retention_days=item.limit_days,
                agreement_id=policies[item.partner].agreement.id,
            )
    for folder in sorted(zones.quarantine.glob("*/*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return items
