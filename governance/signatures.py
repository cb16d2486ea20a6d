"""Ed25519 signatures with their purpose written in (domain separation, after RFC 6962/9162).

Every signed message starts with a tag naming what the signature is for, so a signature made for
one purpose (an audit entry, a checkpoint, the log's head, a grant, a policy approval) never
verifies as another. Key ids are short fingerprints of the public key, with a prefix per kind of
holder: `s-` the audit (service) key, `a-` an IG approver, `u-` a named user.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

Purpose = Literal[
    "audit-entry", "audit-checkpoint", "audit-head", "grant", "optout-list", "output-check"
]
# The policy signature (governance.signing) keeps its own tag, "mcn-policy-signature-v1".
TAGS: dict[str, bytes] = {
    "audit-entry": b"mcn-audit-entry-v2\n",
    "audit-checkpoint": b"mcn-audit-checkpoint-v2\n",
    "audit-head": b"mcn-audit-head-v2\n",
    "grant": b"mcn-grant-v1\n",
    "optout-list": b"mcn-optout-list-v1\n",
    "output-check": b"mcn-output-check-v1\n",
}
KeyKind = Literal["s", "a", "u"]


def message(purpose: Purpose, *fields: object) -> bytes:
    """The bytes signed for a purpose: its tag, then each field on its own line."""
    return TAGS[purpose] + "\n".join(str(f) for f in fields).encode()


def sign(private: Ed25519PrivateKey, purpose: Purpose, *fields: object) -> str:
    return base64.b64encode(private.sign(message(purpose, *fields))).decode("ascii")


def verifies(
    public: Ed25519PublicKey, signature: object, purpose: Purpose, *fields: object
) -> bool:
    if not isinstance(signature, str):
        return False
    try:
        public.verify(base64.b64decode(signature, validate=True), message(purpose, *fields))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey, kind: KeyKind) -> str:
    return f"{kind}-" + hashlib.sha256(raw_public(public)).hexdigest()[:12]


def public_b64(public: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(public)).decode("ascii")


def public_from_b64(text: object) -> Ed25519PublicKey | None:
    """A public key from its base64 raw bytes; None when the text is not one."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(str(text), validate=True))
    except (ValueError, binascii.Error):
        return None


def private_pem(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def read_private(path: Path) -> Ed25519PrivateKey | None:
    """An Ed25519 private key from a PEM file; None when the file is not one."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return key if isinstance(key, Ed25519PrivateKey) else None


def read_public(path: Path) -> Ed25519PublicKey | None:
    """An Ed25519 public key from a PEM file, or from the .json `mcn ... keygen` writes."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if data.lstrip().startswith(b"{"):
        import json

        try:
            return public_from_b64(json.loads(data)["public_key"])
        except (ValueError, KeyError, TypeError):
            return None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None
