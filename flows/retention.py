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
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flows.config import Zones
from flows.io import sha256_file
from flows.staging import Keys, read_staged_meta, read_vault_meta
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


def regular_files(top: Path) -> list[Path]:
    """Regular files under `top`, sorted, never reached through a symbolic link."""
    if top.is_symlink() or not top.is_dir():
        return []
    found = []
    for folder, _dirs, files in os.walk(top, followlinks=False):
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink() and path.is_file():
                found.append(path)
    return sorted(found)


def _plain_name(name: object) -> bool:
    """A file name a manifest may list: no folder, no parent, nothing hidden."""
    return isinstance(name, str) and name == Path(name).name and not name.startswith(".")


def _landing(zones: Zones, partner: str, keys: Keys) -> Iterator[tuple[Path, dt.date | None]]:
    folder = zones.landing / partner
    manifest = folder / "manifest.json"
    if folder.is_symlink() or manifest.is_symlink():
        return
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return
    when = _date(data.get("extract_date", ""))
    for name in data.get("files", {}) if isinstance(data.get("files"), dict) else {}:
        if _plain_name(name):  # a name like ../../audit/audit.jsonl is never followed
            yield folder / name, when
    yield manifest, when


def _quarantine(zones: Zones, partner: str, keys: Keys) -> Iterator[tuple[Path, dt.date | None]]:
    for path in regular_files(zones.quarantine / partner):
        yield path, _run_date(path.relative_to(zones.quarantine / partner).parts[0])


def _staged(zones: Zones, partner: str, keys: Keys) -> Iterator[tuple[Path, dt.date | None]]:
    """Dated by the sidecar only when its MAC holds: an edited date counts as no date."""
    for path in regular_files(zones.staged / partner):
        if path.suffix == ".parquet":
            meta = read_staged_meta(path, keys.linkage) or {}
            when = _date(meta.get("staged_on", ""))
            yield path, when
            yield path.with_suffix(".json"), when


def _vault(zones: Zones, partner: str, keys: Keys) -> Iterator[tuple[Path, dt.date | None]]:
    for path in regular_files(zones.vault / partner):
        if path.suffix == ".parquet":
            meta = read_vault_meta(path, keys.vault) if keys.vault else None
            when = _date((meta or {}).get("sealed_on", ""))
            yield path, when
            yield path.with_suffix(".json"), when


PER_PARTNER = {"landing": _landing, "quarantine": _quarantine, "staged": _staged, "vault": _vault}


def _published(zones: Zones) -> Iterator[tuple[Path, dt.date | None]]:
    for path in regular_files(zones.published):
        yield path, dt.date.fromtimestamp(path.stat().st_mtime)


def _optout(zones: Zones) -> Iterator[tuple[Path, dt.date | None]]:
    manifest = zones.optout / "manifest.json"
    try:
        when = _date(json.loads(manifest.read_text()).get("as_of", ""))
    except (OSError, ValueError):
        when = None
    for path in regular_files(zones.optout):
        yield path, when


def _runs(zones: Zones) -> Iterator[tuple[Path, dt.date | None]]:
    for path in regular_files(zones.runs):
        yield path, _run_date(path.relative_to(zones.runs).parts[0])


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


def expired(zones: Zones, policies: dict[str, Policy], today: dt.date, keys: Keys) -> list[Expired]:
    found = []
    for partner, policy in policies.items():
        limits, agreement = policy.agreement.retention, policy.agreement.id
        for zone, files in PER_PARTNER.items():
            limit = getattr(limits, zone)
            for path, when in files(zones, partner, keys):
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
    zones: Zones,
    policies: dict[str, Policy],
    today: dt.date,
    dry_run: bool,
    audit: AuditLog | None,
    keys: Keys,
) -> list[Expired]:
    """Delete every expired file (an undatable one, or one whose sidecar's MAC fails, counts as
    expired: data nobody can vouch for is not kept), a receipt each."""
    items = [i for i in expired(zones, policies, today, keys) if inside(zones.root, i.path)]
    if dry_run:
        return items
    for item in items:
        if not item.path.exists() or item.path.is_symlink():
            continue
        digest = sha256_file(item.path)
        if audit is not None:  # the receipt first: a deletion is never unrecorded
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
        item.path.unlink()
    remove_empty_folders(zones)
    return items


def has_vault(zones: Zones) -> bool:
    """Are there vault files, whose dates only the vault key can vouch for?"""
    return any(p.suffix == ".parquet" for p in regular_files(zones.vault))


def inside(root: Path, path: Path) -> bool:
    """Is this a regular file whose real folder lies within the data directory?"""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path.parent)
    return not path.is_symlink() and (real == real_root or real.startswith(real_root + os.sep))


def remove_empty_folders(zones: Zones) -> None:
    """Folders under every zone left with nothing in them go too (the zones themselves stay);
    never through a symbolic link."""
    for name in ZONES:
        top = getattr(zones, name)
        if top.is_symlink() or not top.is_dir():
            continue
        for folder, _dirs, _files in os.walk(top, topdown=False, followlinks=False):
            path = Path(folder)
            if path != top and not path.is_symlink() and not any(path.iterdir()):
                path.rmdir()
