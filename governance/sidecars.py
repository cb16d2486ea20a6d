"""Sidecars an insider cannot rewrite: each carries a MAC under a key derived from the linkage
key (staged files) or the vault key (vault files), over its fields and the SHA-256 of the data
file it describes. Renaming a file made under an old policy, editing its dates, or swapping the
data file all fail the check, so nothing relies on a name or a date written in the clear.
"""

from __future__ import annotations

import hashlib
import hmac
import json

PURPOSES = ("staged", "vault")


def _key(material: bytes, purpose: str) -> bytes:
    return hmac.new(material, f"mcn-sidecar-mac-v1|{purpose}".encode(), hashlib.sha256).digest()


def _mac(meta: dict, data_sha256: str, material: bytes, purpose: str) -> str:
    body = json.dumps(
        {k: v for k, v in meta.items() if k != "mac"},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    message = f"{body}\n{data_sha256}".encode()
    return hmac.new(_key(material, purpose), message, hashlib.sha256).hexdigest()


def with_mac(meta: dict, data_sha256: str, material: bytes, purpose: str) -> dict:
    """The sidecar to write: its fields, the data file's hash, and the MAC over both."""
    meta = {**{k: v for k, v in meta.items() if k != "mac"}, "data_sha256": data_sha256}
    return {**meta, "mac": _mac(meta, data_sha256, material, purpose)}


def authentic(meta: dict, data_sha256: str, material: bytes, purpose: str) -> bool:
    """Was this sidecar written by the pipeline, for exactly this data file?"""
    claimed = meta.get("mac")
    if not isinstance(claimed, str) or meta.get("data_sha256") != data_sha256:
        return False
    return hmac.compare_digest(claimed, _mac(meta, data_sha256, material, purpose))
