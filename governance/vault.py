"""The re-identification vault: contact identity sealed with AES-SIV under its own key.

Each staged record's identity as the partner sent it (names, DOB, postcode, NHS number or NINO)
is sealed with AES-256-SIV (RFC 5297, deterministic, misuse-resistant) bound to its record_key,
and kept apart from the staged data. Only a holder of the vault key can open it, only for a role
and purpose the agreement allows, and every opening is audited. Without the key nothing reverses.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from governance.errors import KeyMissingError, ReidentificationError
from governance.keyfiles import write_private

ENV_VAULT_KEY_FILE = "MCN_VAULT_KEY_FILE"
CONTEXT = b"mcn-vault-v1"
HOW_TO = (
    f"set {ENV_VAULT_KEY_FILE} to a file holding 128 hex characters (64 random bytes, "
    "AES-256-SIV), kept apart from the linkage key"
)


@dataclass(frozen=True)
class VaultKey:
    key_id: str
    _material: bytes = field(repr=False)

    def cipher(self) -> AESSIV:
        return AESSIV(self._material)


def load_vault_key(env: dict | None = None) -> VaultKey:
    env = os.environ if env is None else env
    path = env.get(ENV_VAULT_KEY_FILE)
    if not path:
        raise KeyMissingError(f"no vault key: {ENV_VAULT_KEY_FILE} is not set. Fix: {HOW_TO}")
    try:
        material = bytes.fromhex(Path(path).read_text().strip())
    except (OSError, ValueError):
        raise KeyMissingError(f"vault key {path} cannot be read as hex. Fix: {HOW_TO}") from None
    if len(material) != 64:
        raise KeyMissingError(f"vault key {path} must be 64 bytes. Fix: {HOW_TO}")
    return VaultKey(
        "v-" + hashlib.sha256(b"mcn-vault-key-id:" + material).hexdigest()[:12], material
    )


def create_vault_key(path: Path) -> bool:
    return write_private(path, (secrets.token_hex(64) + "\n").encode())


def seal(
    raw: pl.DataFrame, columns: list[str], record_keys: pl.Series, key: VaultKey
) -> pl.DataFrame:
    """record_key -> sealed contact identity (the given columns) for each row of `raw`."""
    cipher = key.cipher()
    sealed = [
        cipher.encrypt(json.dumps(row, separators=(",", ":")).encode(), [rk.encode(), CONTEXT])
        for rk, row in zip(record_keys, raw.select(columns).iter_rows(named=True), strict=True)
    ]
    return pl.DataFrame(
        {"record_key": record_keys, "sealed": pl.Series(sealed, dtype=pl.Binary)}
    ).with_columns(vault_key_id=pl.lit(key.key_id))


@dataclass(frozen=True)
class Access:
    """Proof that opening these records was authorised and audited: the signed `reidentify`
    entry already in the audit log, naming a digest of exactly the record keys to open."""

    audit_log: Path  # the audit.jsonl the entry was appended to
    entry: dict


def records_digest(record_keys: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(record_keys)).encode()).hexdigest()


def _audited(access: Access, record_keys: list[str]) -> bool:
    entry = access.entry
    if not isinstance(entry, dict) or entry.get("event") != "reidentify" or "sig" not in entry:
        return False
    if entry.get("records_digest") != records_digest(record_keys):
        return False
    try:
        with Path(access.audit_log).open(encoding="utf-8") as handle:
            return any(json.loads(line).get("hash") == entry.get("hash") for line in handle)
    except (OSError, ValueError):
        return False


def unseal(vault: pl.DataFrame, key: VaultKey, access: Access) -> list[dict]:
    """Open sealed rows, only under an audited re-identification (`access`); a wrong key or an
    altered row is refused, naming only the key ids."""
    if not _audited(access, vault["record_key"].to_list()):
        raise ReidentificationError(
            "the vault opens only under a signed re-identification entry in the audit log "
            "that names exactly these records. Fix: use `mcn reidentify`"
        )
    written_with = set(vault["vault_key_id"].unique().to_list())
    if key.key_id not in written_with:
        raise ReidentificationError(
            f"the vault was sealed with key {sorted(written_with)}, not "
            f"{key.key_id}; nothing can be opened without that key"
        )
    cipher = key.cipher()
    out = []
    for rk, sealed in zip(vault["record_key"], vault["sealed"], strict=True):
        try:
            out.append(json.loads(cipher.decrypt(sealed, [rk.encode(), CONTEXT])))
        except InvalidTag:
            raise ReidentificationError(
                "a vault entry failed authentication (altered, or sealed "
                "for another record); nothing was opened"
            ) from None
    return out
