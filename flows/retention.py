"""`mcn retention apply`: delete what each agreement's retention no longer allows, in every zone.

| zone | aged from | limit |
|---|---|---|
| landing | the manifest's extract_date | the partner's `retention.landing` |
| quarantine | the run id's date | the partner's `retention.quarantine` |
| staged | the day the file was staged (sidecar) | the partner's `retention.staged` |
| vault | the day it was sealed (own sidecar) | the partner's `retention.vault` (not staged's) |
| published | the run that wrote it | the shortest `retention.staged` of all partners |
| optout | the list's as_of | the longest `opt_out.max_list_age_days`: a stale list is unusable |
| runs | the run id's date | the longest `retention.staged` (run records hold counts only) |

Every deletion appends a receipt (zone, partner, path, content hash, age, limit) to the audit
log; folders left empty are removed; --dry-run lists and deletes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flows.config import Zones
from flows.io import sha256_file
from governance.agreement import Policy
from governance.audit import AuditLog

ZONES = ("landing", "quarantine", "staged", "vault", "published", "optout", "runs")


@dataclass(frozen=True)
class Expired:
    zone: str
    partner: str  # "all" for zones that hold every partner's data
    path: Path
    age_days: int
    limit_days: int
    agreement_id: str = ""


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10])
    except (TypeError, ValueError):
        return None


def _run_date(run_id: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(run_id[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _sidecar(path: Path) -> dict:
    try:
        return json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def _landing(zones: Zones, partner: str) -> Iterator[tuple[Path, dt.date | None]]:
    manifest = zones.landing / partner / "manifest.json"
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return
    when = _date(data.get("extract_date", ""))
    for name in data.get("files", {}):
        yield zones.landing / partner / name, when
    yield manifest, when


def _quarantine(zones: Zones, partner: str) -> Iterator[tuple[Path, dt.date | None]]:
    for run in sorted((zones.quarantine / partner).glob("*")):
        for path in sorted(run.glob("*")):
            yield path, _run_date(run.name)


def _staged(zones: Zones, partner: str) -> Iterator[tuple[Path, dt.date | None]]:
    for path in sorted((zones.staged / partner).glob("*/*.parquet")):
        when = _date(_sidecar(path).get("staged_on", ""))
        yield path, when
        yield path.with_suffix(".json"), when


def _vault(zones: Zones, partner: str) -> Iterator[tuple[Path, dt.date | None]]:
    for path in sorted((zones.vault / partner).glob("*/*.parquet")):
        when = _date(_sidecar(path).get("sealed_on", ""))
        yield path, when
        yield path.with_suffix(".json"), when


PER_PARTNER = {"landing": _landing, "quarantine": _quarantine, "staged": _staged, "vault": _vault}


def _published(zones: Zones) -> Iterator[tuple[Path, dt.date | None]]:
    for path in sorted(p for p in zones.published.rglob("*") if p.is_file()):
        yield path, dt.date.fromtimestamp(path.stat().st_mtime)


def _optout(zones: Zones) -> Iterator[tuple[Path, dt.date | None]]:
    manifest = zones.optout / "manifest.json"
    try:
        when = _date(json.loads(manifest.read_text()).get("as_of", ""))
    except (OSError, ValueError):
        when = None
    for path in sorted(p for p in zones.optout.glob("*") if p.is_file()):
        yield path, when


def _runs(zones: Zones) -> Iterator[tuple[Path, dt.date | None]]:
    for run in sorted(p for p in zones.runs.glob("*") if p.is_dir()):
        for path in sorted(p for p in run.rglob("*") if p.is_file()):
            yield path, _run_date(run.name)


def _shared_limits(policies: dict[str, Policy]) -> dict[str, int]:
    staged = [p.agreement.retention.staged for p in policies.values()]
    lists = [
        p.agreement.opt_out.max_list_age_days for p in policies.values() if p.agreement.opt_out
    ]
    return {
        "published": min(staged, default=0),
        "optout": max(lists, default=0),
        "runs": max(staged, default=0),
    }


def expired(zones: Zones, policies: dict[str, Policy], today: dt.date) -> list[Expired]:
    found = []
    for partner, policy in policies.items():
        limits, agreement = policy.agreement.retention, policy.agreement.id
        for zone, files in PER_PARTNER.items():
            limit = getattr(limits, zone)
            for path, when in files(zones, partner):
                age = (today - when).days if when else None
                if path.exists() and (age is None or age > limit):
                    found.append(
                        Expired(zone, partner, path, -1 if age is None else age, limit, agreement)
                    )
    shared = _shared_limits(policies)
    for zone, files in (("published", _published), ("optout", _optout), ("runs", _runs)):
        if not shared[zone]:
            continue
        for path, when in files(zones):
            age = (today - when).days if when else None
            if age is None or age > shared[zone]:
                found.append(Expired(zone, "all", path, -1 if age is None else age, shared[zone]))
    return found


def apply(
    zones: Zones, policies: dict[str, Policy], today: dt.date, dry_run: bool, audit: AuditLog | None
) -> list[Expired]:
    """Delete every expired file (an undatable one counts as expired), a receipt each."""
    items = expired(zones, policies, today)
    if dry_run:
        return items
    for item in items:
        if not item.path.exists():
            continue
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
                agreement_id=item.agreement_id or None,
            )
    remove_empty_folders(zones)
    return items


def remove_empty_folders(zones: Zones) -> None:
    """Folders under every zone left with nothing in them go too (the zones themselves stay)."""
    for name in ZONES:
        top = getattr(zones, name)
        if not top.is_dir():
            continue
        for folder in sorted((p for p in top.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                shutil.rmtree(folder)
