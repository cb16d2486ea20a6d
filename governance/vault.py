"""The re-identification vault: contact identity sealed with AES-SIV under its own key.

Each staged record's identity as the partner sent it (names, DOB, postcode, NHS number or NINO)
is sealed with AES-256-SIV (RFC 5297, deterministic, misuse-resistant) bound to its record_key
and to the partner and extract it came from, and kept apart from the staged data. Only a holder
of the vault key can open it, only for a role
and purpose the agreement allows, and every opening is audited. Without the key nothing reverses.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from governance.errors import KeyMissingError, ReidentificationError
from governance.keyfiles import write_private

ENV_VAULT_KEY_FILE = "MCN_VAULT_KEY_FILE"
CONTEXT = b"mcn-vault-v2"
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

    def mac_material(self) -> bytes:
        """A key for the vault sidecars' MACs, derived: never the sealing key itself."""
        return hashlib.sha256(b"mcn-vault-sidecar|" + self._material).digest()


def load_vault_key(env: Mapping[str, str] | None = None) -> VaultKey:
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


def _bound_to(record_key: str, source: str) -> list[bytes]:
    """The associated data: an entry opens only as this record of this partner's extract."""
    return [record_key.encode(), source.encode(), CONTEXT]


def seal(
    raw: pl.DataFrame, columns: list[str], record_keys: pl.Series, key: VaultKey, source: str
) -> pl.DataFrame:
    """record_key -> sealed contact identity (the given columns) for each row of `raw`;
    `source` is "partner/extract".

    Each row's identity is made a JSON object by polars for all rows at once (compact, UTF-8);
    only the AES-SIV call is per record, as each is bound to its own record_key. (A Python
    json.dumps per row cost twice the encryption itself; unseal reads either form.)"""
    cipher = key.cipher()
    texts = raw.select(pl.struct(columns).struct.json_encode()).to_series()
    context = [source.encode(), CONTEXT]
    sealed = [
        cipher.encrypt(text.encode(), [rk.encode(), *context])
        for rk, text in zip(record_keys, texts, strict=True)
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
    """The entry names exactly these records, is signed by the user its grant names under a
    grant a trusted approver signed, and is in the log (whose identity its signature covers)."""
    from governance import grants, signatures
    from governance.audit import body_digest
    from governance.signing import trusted_keys

    entry = access.entry
    if not isinstance(entry, dict) or entry.get("event") != "reidentify":
        return False
    if entry.get("records_digest") != records_digest(record_keys):
        return False
    grant = entry.get("grant")
    if not isinstance(grant, dict):
        return False
    if grants.authentic(grant, trusted_keys()) or grant.get("user_key_id") != entry.get("signer"):
        return False
    try:
        with Path(access.audit_log).open(encoding="utf-8") as handle:
            lines = [json.loads(line) for line in handle]
    except (OSError, ValueError):
        return False
    if not lines or not any(e.get("hash") == entry.get("hash") for e in lines):
        return False
    public = signatures.public_from_b64(grant["user_public_key"])
    log_id = lines[0].get("log_id")
    return public is not None and signatures.verifies(
        public, entry.get("sig"), "audit-entry", log_id, body_digest(entry)
    )


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
    sources = [f"{p}/{e}" for p, e in zip(vault["partner"], vault["extract"], strict=True)]
    for rk, sealed, source in zip(vault["record_key"], vault["sealed"], sources, strict=True):
        try:
            out.append(json.loads(cipher.decrypt(sealed, _bound_to(rk, source))))
        except InvalidTag:
            raise ReidentificationError(
                "a vault entry failed authentication (altered, or sealed "
                "for another record); nothing was opened"
            ) from None
    return out
