"""Pseudonymisation keys: loaded inside the step that uses them, never passed around as text.

A key comes from MCN_LINKAGE_KEY (64 hex characters) or from the file named by
MCN_LINKAGE_KEY_FILE (the same hex text). Only its key id, a fingerprint, is ever written.
The HMAC key is the lower-case hex text itself (64 ASCII bytes carrying 256 random bits):
polars-hash takes its key as text, and hex keeps every key valid text.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from governance.errors import KeyMissingError
from governance.keyfiles import write_private

ENV_KEY = "MCN_LINKAGE_KEY"
ENV_KEY_FILE = "MCN_LINKAGE_KEY_FILE"
HOW_TO = (
    f"set {ENV_KEY_FILE} to a file holding 64 hex characters (32 random bytes), e.g. "
    '`python3 -c "import secrets; print(secrets.token_hex(32))" > linkage.key`, '
    "or run `mcn demo` for a local development key"
)


@dataclass(frozen=True)
class SecretKey:
    """A key that never shows itself: repr and str give the key id only."""

    key_id: str
    _material: bytes = field(repr=False)

    @classmethod
    def from_hex(cls, text: str, where: str) -> SecretKey:
        text = text.strip().lower()
        if len(text) < 64 or any(c not in "0123456789abcdef" for c in text):
            raise KeyMissingError(
                f"linkage key in {where} must be at least 64 hex characters "
                f"(32 random bytes). Fix: {HOW_TO}"
            )
        material = text.encode("ascii")
        key_id = "k-" + hashlib.sha256(b"mcn-key-id:" + material).hexdigest()[:12]
        return cls(key_id, material)

    def material(self) -> bytes:
        return self._material

    def __str__(self) -> str:
        return self.key_id


def load_linkage_key(env: Mapping[str, str] | None = None) -> SecretKey:
    """The linkage key from the environment; a clear error when none is configured."""
    env = os.environ if env is None else env
    if env.get(ENV_KEY):
        return SecretKey.from_hex(env[ENV_KEY], ENV_KEY)
    path = env.get(ENV_KEY_FILE)
    if not path:
        raise KeyMissingError(
            f"no linkage key: neither {ENV_KEY} nor {ENV_KEY_FILE} is set. Fix: {HOW_TO}"
        )
    if not Path(path).is_file():
        raise KeyMissingError(
            f"linkage key file {path} ({ENV_KEY_FILE}) does not exist. Fix: {HOW_TO}"
        )
    return SecretKey.from_hex(Path(path).read_text(encoding="utf-8"), path)


def create_dev_key(path: Path) -> bool:
    """Write a random development key if none exists; True when a new one was made."""
    return write_private(path, (secrets.token_hex(32) + "\n").encode())
