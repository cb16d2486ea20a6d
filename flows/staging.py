"""Staged extracts, each bound to what it was made under: (content hash, policy sha256, key id).

    staged/<partner>/<extract>/<content16>.<policy12>.<key id>.parquet   (+ .json sidecar)
    vault/<partner>/<extract>/<content16>.<policy12>.<key id>.parquet    (+ .json sidecar)

A build uses only files bound to the partner's current signed policy and linkage key. A file
made under an older policy is remade: from landing when the drop is still there (the nightly
ingest does it), else from the staged file itself when the new policy only narrows what is
staged under the same key (columns dropped, never added; the vault unchanged). Otherwise it
cannot be remade and the build refuses, naming the extract and the fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flows.config import Zones
from flows.io import sha256_file, write_json_atomic, write_parquet_atomic
from governance.agreement import Policy
from governance.audit import AuditLog
from governance.errors import StagingError
from governance.pseudonymise import staged_columns, vault_columns
from schemas.contract import Extract


@dataclass(frozen=True)
class Binding:
    """What staged data must have been made under: the signed policy text and the linkage key."""

    policy_sha256: str
    key_id: str

    @property
    def name(self) -> str:
        return f"{self.policy_sha256[:12]}.{self.key_id}"


@dataclass(frozen=True)
class StagedFile:
    path: Path
    meta: dict  # the sidecar: counts, content hash, policy sha256, key id, staged_on

    @property
    def content(self) -> str:
        return str(self.meta.get("content_sha256", ""))

    def bound_to(self, binding: Binding) -> bool:
        return (
            self.meta.get("policy_sha256") == binding.policy_sha256
            and self.meta.get("key_id") == binding.key_id
        )


def staged_path(zones: Zones, ex: Extract, content: str, binding: Binding) -> Path:
    return zones.staged / ex.partner / ex.name / f"{content[:16]}.{binding.name}.parquet"


def vault_path(zones: Zones, ex: Extract, content: str, binding: Binding) -> Path:
    return zones.vault / ex.partner / ex.name / f"{content[:16]}.{binding.name}.parquet"


def vault_for(zones: Zones, staged: Path) -> Path:
    rel = staged.relative_to(zones.staged)
    return zones.vault / rel


def staged_files(zones: Zones, ex: Extract) -> list[StagedFile]:
    """Staged files of an extract that are complete (parquet and sidecar), oldest first: by the
    manifest's extract_date, then the day staged, so a late file for an old extract date never
    wins over a newer extract (sidecars without an extract_date sort first)."""
    out = []
    for path in (zones.staged / ex.partner / ex.name).glob("*.parquet"):
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError):
            continue  # a write interrupted between the two files: ignored, remade by ingest
        out.append(StagedFile(path, meta))
    return sorted(
        out,
        key=lambda f: (
            str(f.meta.get("extract_date") or ""),
            str(f.meta.get("staged_on", "")),
            f.path.name,
        ),
    )


def current_files(zones: Zones, ex: Extract, binding: Binding) -> list[StagedFile]:
    return [f for f in staged_files(zones, ex) if f.bound_to(binding)]


def stale_files(zones: Zones, ex: Extract, binding: Binding) -> list[StagedFile]:
    """Files made under another policy or key, for which no current file of the same content
    exists."""
    files = staged_files(zones, ex)
    fresh = {f.content for f in files if f.bound_to(binding)}
    return [f for f in files if not f.bound_to(binding) and f.content not in fresh]


def superseded_files(zones: Zones, ex: Extract, binding: Binding) -> list[StagedFile]:
    """Files made under another policy or key whose content is staged under the current one."""
    files = staged_files(zones, ex)
    fresh = {f.content for f in files if f.bound_to(binding)}
    return [f for f in files if not f.bound_to(binding) and f.content in fresh]


def remove(zones: Zones, staged: StagedFile) -> dict[str, str]:
    """Delete a staged file, its sidecar and its vault file; their content hashes, by path."""
    gone = {}
    vault = vault_for(zones, staged.path)
    for path in (staged.path, staged.path.with_suffix(".json"), vault, vault.with_suffix(".json")):
        if path.exists():
            gone[str(path.relative_to(zones.root))] = sha256_file(path)
            path.unlink()
    return gone


def narrowing(
    staged: StagedFile, zones: Zones, ex: Extract, policy: Policy, binding: Binding
) -> bool:
    """Can the current policy's staged form be cut from this file, without landing?"""
    if staged.meta.get("key_id") != binding.key_id:
        return False
    have = set(pl.read_parquet_schema(staged.path))
    if not set(staged_columns(ex, policy)) <= have:
        return False
    vault = vault_for(zones, staged.path)
    wanted = vault_columns(ex, policy)
    if not vault.exists():
        return not wanted
    try:
        sealed_cols = json.loads(vault.with_suffix(".json").read_text()).get("columns")
    except (OSError, ValueError):
        return False
    return not wanted or sealed_cols == wanted


def restage(
    zones: Zones, ex: Extract, policy: Policy, binding: Binding, staged: StagedFile
) -> dict[str, str]:
    """Write the current policy's staged form of a file cut from it; outputs by path."""
    target = staged_path(zones, ex, staged.content, binding)
    frame = pl.read_parquet(staged.path).select(staged_columns(ex, policy))
    write_parquet_atomic(frame, target)
    meta = {
        **staged.meta,
        **_bound(binding),
        "restaged_from_policy": staged.meta.get("policy_sha256"),
    }
    outputs = {str(target.relative_to(zones.root)): sha256_file(target)}
    vault = vault_for(zones, staged.path)
    if vault_columns(ex, policy) and vault.exists():
        new_vault = vault_for(zones, target)
        write_parquet_atomic(pl.read_parquet(vault), new_vault)
        vault_meta = json.loads(vault.with_suffix(".json").read_text())
        write_json_atomic({**vault_meta, **_bound(binding)}, new_vault.with_suffix(".json"))
        outputs[str(new_vault.relative_to(zones.root))] = sha256_file(new_vault)
    write_json_atomic(meta, target.with_suffix(".json"))
    return outputs


def _bound(binding: Binding) -> dict:
    return {"policy_sha256": binding.policy_sha256, "key_id": binding.key_id}


def rebind(
    zones: Zones, ex: Extract, policy: Policy, binding: Binding, audit: AuditLog, run_id: str
) -> list[str]:
    """Bring every staged file of an extract under the current binding; returns the names of
    files that cannot be (nothing of them is used)."""
    for old in superseded_files(zones, ex, binding):
        gone = remove(zones, old)
        audit.append(
            "staged_superseded",
            run_id=run_id,
            partner=ex.partner,
            extract=ex.name,
            policy_sha256=old.meta.get("policy_sha256"),
            key_id=old.meta.get("key_id"),
            deleted=gone,
        )
    unrecoverable = []
    for old in stale_files(zones, ex, binding):
        if not narrowing(old, zones, ex, policy, binding):
            unrecoverable.append(str(old.path.relative_to(zones.root)))
            continue
        outputs = restage(zones, ex, policy, binding, old)
        gone = remove(zones, old)
        audit.append(
            "restaged",
            run_id=run_id,
            partner=ex.partner,
            extract=ex.name,
            from_policy_sha256=old.meta.get("policy_sha256"),
            policy_sha256=binding.policy_sha256,
            key_id=binding.key_id,
            outputs=outputs,
            deleted=gone,
        )
    return unrecoverable


def require_current(zones: Zones, ex: Extract, binding: Binding) -> None:
    """Refuse to build on a staged file made under another policy or key."""
    stale = stale_files(zones, ex, binding)
    if stale:
        names = ", ".join(str(f.path.relative_to(zones.root)) for f in stale)
        raise StagingError(
            f"{ex.partner}/{ex.name}: {len(stale)} staged file(s) were made under another policy "
            f"or linkage key and cannot be remade from what is staged ({names}). Fix: ask "
            f"{ex.partner} to resend the extract into landing/{ex.partner}/ and run "
            f"`mcn run --partner {ex.partner}`, or delete them with `mcn staged drop-stale "
            f"--partner {ex.partner}` (receipts in the audit log)"
        )
