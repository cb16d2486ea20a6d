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

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import polars as pl

from flows.config import Zones
from flows.io import sha256_file, write_json_atomic, write_parquet_atomic
from governance import sidecars
from governance.agreement import Policy
from governance.audit import AuditLog
from governance.errors import StagingError
from governance.keys import SecretKey
from governance.pseudonymise import staged_columns, vault_columns
from governance.vault import VaultKey
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


def write_staged(path: Path, frame: pl.DataFrame, meta: dict, key: SecretKey) -> str:
    """The staged file, then its sidecar with a MAC under the linkage key; the file's hash."""
    write_parquet_atomic(frame, path)
    digest = sha256_file(path)
    write_json_atomic(
        sidecars.with_mac(meta, digest, key.material(), "staged"), path.with_suffix(".json")
    )
    return digest


def read_staged_meta(path: Path, key: SecretKey) -> dict | None:
    """A staged file's sidecar, if both exist and the sidecar's MAC holds for this file."""
    return _authentic_meta(path, key.material(), "staged")


def write_vault(path: Path, frame: pl.DataFrame, meta: dict, key: VaultKey) -> str:
    write_parquet_atomic(frame, path)
    digest = sha256_file(path)
    write_json_atomic(
        sidecars.with_mac(meta, digest, key.mac_material(), "vault"), path.with_suffix(".json")
    )
    return digest


def read_vault_meta(path: Path, key: VaultKey) -> dict | None:
    return _authentic_meta(path, key.mac_material(), "vault")


P = ParamSpec("P")
R = TypeVar("R")
_digests: ContextVar[dict | None] = ContextVar("staged_digests", default=None)


@contextmanager
def digest_memo() -> Iterator[None]:
    """Within it, a staged file is hashed once while it is unchanged (the same inode, size,
    modification and change times), not by every check that lists the files: a build's
    checks hashed each file five times (2.8 s at a million people). What a build then reads
    is verified again, on the very bytes it parses (flows.cohort_build.load_staged)."""
    token = _digests.set({})
    try:
        yield
    finally:
        _digests.reset(token)


def hashing_staged_files_once(fn: Callable[P, R]) -> Callable[P, R]:
    """Run fn inside digest_memo (the cohort build: its checks list the same files)."""

    @functools.wraps(fn)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with digest_memo():
            return fn(*args, **kwargs)

    return wrapped


def _digest(path: Path) -> str:
    memo = _digests.get()
    if memo is None:
        return sha256_file(path)
    st = path.stat()
    seen = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if seen not in memo:
        memo[seen] = sha256_file(path)
    return memo[seen]


def _authentic_meta(path: Path, material: bytes, purpose: str) -> dict | None:
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        digest = _digest(path)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not sidecars.authentic(meta, digest, material, purpose):
        return None
    return meta


def staged_path(zones: Zones, ex: Extract, content: str, binding: Binding) -> Path:
    return zones.staged / ex.partner / ex.name / f"{content[:16]}.{binding.name}.parquet"


def vault_path(zones: Zones, ex: Extract, content: str, binding: Binding) -> Path:
    return zones.vault / ex.partner / ex.name / f"{content[:16]}.{binding.name}.parquet"


def vault_for(zones: Zones, staged: Path) -> Path:
    rel = staged.relative_to(zones.staged)
    return zones.vault / rel


def staged_files(zones: Zones, ex: Extract, key: SecretKey) -> list[StagedFile]:
    """Staged files of an extract whose sidecar is authentic (written by the pipeline under
    this linkage key, for exactly this file), oldest first: by the manifest's extract_date, then
    the day staged, so a late file for an old extract date never wins over a newer extract. A
    file whose sidecar is missing (a write interrupted between the two) or fails its MAC
    (altered, renamed, or made under another key) is not among them: see unverified_files."""
    out = []
    for path in (zones.staged / ex.partner / ex.name).glob("*.parquet"):
        meta = read_staged_meta(path, key)
        if meta is not None:
            out.append(StagedFile(path, meta))
    return sorted(
        out,
        key=lambda f: (
            str(f.meta.get("extract_date") or ""),
            str(f.meta.get("staged_on", "")),
            f.path.name,
        ),
    )


def unverified_files(zones: Zones, ex: Extract, key: SecretKey) -> list[Path]:
    """Staged files whose sidecar does not verify under this key: never used."""
    good = {f.path for f in staged_files(zones, ex, key)}
    return sorted(
        p for p in (zones.staged / ex.partner / ex.name).glob("*.parquet") if p not in good
    )


def current_files(zones: Zones, ex: Extract, binding: Binding, key: SecretKey) -> list[StagedFile]:
    return [f for f in staged_files(zones, ex, key) if f.bound_to(binding)]


def stale_files(zones: Zones, ex: Extract, binding: Binding, key: SecretKey) -> list[StagedFile]:
    """Files made under another policy (same key), for which no current file of the same content
    exists."""
    files = staged_files(zones, ex, key)
    fresh = {f.content for f in files if f.bound_to(binding)}
    return [f for f in files if not f.bound_to(binding) and f.content not in fresh]


def superseded_files(
    zones: Zones, ex: Extract, binding: Binding, key: SecretKey
) -> list[StagedFile]:
    """Files made under another policy whose content is staged under the current one."""
    files = staged_files(zones, ex, key)
    fresh = {f.content for f in files if f.bound_to(binding)}
    return [f for f in files if not f.bound_to(binding) and f.content in fresh]


@dataclass(frozen=True)
class Keys:
    """What rebinding needs: the linkage key (staged sidecars) and, where there is a vault,
    the vault key (vault sidecars)."""

    linkage: SecretKey
    vault: VaultKey | None = None


def remove(zones: Zones, path: Path) -> dict[str, str]:
    """Delete a staged file, its sidecar and its vault file; their content hashes, by path."""
    gone = {}
    vault = vault_for(zones, path)
    for item in (path, path.with_suffix(".json"), vault, vault.with_suffix(".json")):
        if item.exists() and not item.is_symlink():
            gone[str(item.relative_to(zones.root))] = sha256_file(item)
            item.unlink()
    return gone


def narrowing(
    staged: StagedFile, zones: Zones, ex: Extract, policy: Policy, binding: Binding, keys: Keys
) -> bool:
    """Can the current policy's staged form be cut from this file, without landing?"""
    if staged.meta.get("key_id") != binding.key_id:
        return False
    have = set(pl.read_parquet_schema(staged.path))
    if not set(staged_columns(ex, policy)) <= have:
        return False
    vault = vault_for(zones, staged.path)
    wanted = vault_columns(ex, policy)
    if not wanted:
        return True
    if not vault.exists() or keys.vault is None:
        return False
    sealed = read_vault_meta(vault, keys.vault)
    return sealed is not None and sealed.get("columns") == wanted


def restage(
    zones: Zones, ex: Extract, policy: Policy, binding: Binding, staged: StagedFile, keys: Keys
) -> dict[str, str]:
    """Write the current policy's staged form of a file cut from it; outputs by path."""
    target = staged_path(zones, ex, staged.content, binding)
    frame = pl.read_parquet(staged.path).select(staged_columns(ex, policy))
    meta = {
        **{k: v for k, v in staged.meta.items() if k not in ("mac", "data_sha256")},
        **_bound(binding),
        "restaged_from_policy": staged.meta.get("policy_sha256"),
    }
    outputs = {str(target.relative_to(zones.root)): write_staged(target, frame, meta, keys.linkage)}
    vault = vault_for(zones, staged.path)
    if vault_columns(ex, policy) and keys.vault is not None:
        vault_meta = read_vault_meta(vault, keys.vault) or {}
        new_vault = vault_for(zones, target)
        vault_meta = {k: v for k, v in vault_meta.items() if k not in ("mac", "data_sha256")}
        outputs[str(new_vault.relative_to(zones.root))] = write_vault(
            new_vault, pl.read_parquet(vault), {**vault_meta, **_bound(binding)}, keys.vault
        )
    return outputs


def _bound(binding: Binding) -> dict:
    return {"policy_sha256": binding.policy_sha256, "key_id": binding.key_id}


def _unverified_superseded(zones: Zones, ex: Extract, key: SecretKey) -> list[Path]:
    """Files whose sidecar no longer verifies (made under a linkage key since rotated, or
    altered) while a verified file of the same content exists: their content is staged anew."""
    fresh = {f.content[:16] for f in staged_files(zones, ex, key)}
    return [p for p in unverified_files(zones, ex, key) if p.name.split(".")[0] in fresh]


def rebind(
    zones: Zones,
    ex: Extract,
    policy: Policy,
    binding: Binding,
    keys: Keys,
    audit: AuditLog,
    run_id: str,
) -> list[str]:
    """Bring every staged file of an extract under the current binding; returns the names of
    files that cannot be (nothing of them is used)."""
    for path in [f.path for f in superseded_files(zones, ex, binding, keys.linkage)] + (
        _unverified_superseded(zones, ex, keys.linkage)
    ):
        audit.append(
            "staged_superseded",
            run_id=run_id,
            partner=ex.partner,
            extract=ex.name,
            deleted=remove(zones, path),
        )
    unrecoverable = [
        str(p.relative_to(zones.root)) for p in unverified_files(zones, ex, keys.linkage)
    ]
    for old in stale_files(zones, ex, binding, keys.linkage):
        if not narrowing(old, zones, ex, policy, binding, keys):
            unrecoverable.append(str(old.path.relative_to(zones.root)))
            continue
        outputs = restage(zones, ex, policy, binding, old, keys)
        audit.append(
            "restaged",
            run_id=run_id,
            partner=ex.partner,
            extract=ex.name,
            from_policy_sha256=old.meta.get("policy_sha256"),
            policy_sha256=binding.policy_sha256,
            key_id=binding.key_id,
            outputs=outputs,
            deleted=remove(zones, old.path),
        )
    return unrecoverable


def unusable(zones: Zones, ex: Extract, binding: Binding, key: SecretKey) -> list[Path]:
    """Staged files a build must not use and cannot remake: made under another policy (and not
    narrowable), or whose sidecar does not verify (another key, or altered)."""
    return sorted(
        [f.path for f in stale_files(zones, ex, binding, key)] + unverified_files(zones, ex, key)
    )


def require_current(zones: Zones, ex: Extract, binding: Binding, key: SecretKey) -> None:
    """Refuse to build while a staged file made under another policy or key, or altered, sits
    beside the current ones."""
    bad = unusable(zones, ex, binding, key)
    if bad:
        names = ", ".join(str(p.relative_to(zones.root)) for p in bad)
        raise StagingError(
            f"{ex.partner}/{ex.name}: {len(bad)} staged file(s) were made under another policy "
            f"or linkage key, or altered since, and cannot be remade from what is staged "
            f"({names}). Fix: ask {ex.partner} to resend the extract into landing/{ex.partner}/ "
            f"and run `mcn run --partner {ex.partner}`, or delete them with `mcn staged "
            f"drop-stale --partner {ex.partner}` (receipts in the audit log)"
        )
