"""Signed approval of policies: an IG officer's Ed25519 signature over the exact policy text.

    <policy>.yaml.sig   {"policy", "sha256", "approver", "key_id", "signed_at", "signature"}
    approvers/<name>.json   {"name", "key_id", "public_key"}   (trusted approver public keys)

A flow refuses a policy unless its text hashes to what a trusted approver signed. The private key
stays with the approver (`mcn policy keygen` writes it once, mode 0600); it is never in the repo.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance import signatures as sig
from governance.errors import PolicySignatureError
from governance.keyfiles import write_private
from schemas.errors import OutputExistsError

APPROVERS_DIR = Path(__file__).parent / "approvers"
ENV_APPROVERS_DIR = "MCN_APPROVERS_DIR"
DOMAIN = b"mcn-policy-signature-v1\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def public_key_id(public: Ed25519PublicKey, kind: sig.KeyKind = "a") -> str:
    return sig.key_id(public, kind)


def approvers_dirs(given: Path | None = None) -> list[Path]:
    """The folders of trusted approver keys: the one given, else every folder in
    $MCN_APPROVERS_DIR (os.pathsep-separated), else the shipped governance/approvers/."""
    if given:
        return [Path(given)]
    listed = [p for p in os.environ.get(ENV_APPROVERS_DIR, "").split(os.pathsep) if p]
    return [Path(p) for p in listed] or [APPROVERS_DIR]


def approvers_dir(given: Path | None = None) -> Path:
    """The first approvers folder (where a new trusted key would go)."""
    return approvers_dirs(given)[0]


def keygen(name: str, out: Path, kind: sig.KeyKind = "a") -> tuple[Path, Path]:
    """A new key pair: <slug>.key (private, 0600) and <slug>.json (public). Kind "a" is an IG
    approver's (trusted by putting the .json in an approvers folder), "u" a named user's."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "approver"
    private = Ed25519PrivateKey.generate()
    out.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = out / f"{slug}.key", out / f"{slug}.json"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if not write_private(key_path, pem):
        raise OutputExistsError(
            f"{key_path} exists; nothing overwritten. Fix: choose another --out or --name"
        )
    public = private.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pub_path.write_text(
        json.dumps(
            {"name": name, "key_id": public_key_id(public, kind), "public_key": _b64(raw)},
            indent=2,
        )
        + "\n"
    )
    return key_path, pub_path


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        raise PolicySignatureError(
            f"{path} is not a readable Ed25519 private key (PEM). Fix: "
            "pass the .key file `mcn policy keygen` wrote"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PolicySignatureError(f"{path} is not an Ed25519 key")
    return key


def _message(policy_name: str, digest: str, signed_at: str) -> bytes:
    return DOMAIN + f"{policy_name}\n{digest}\n{signed_at}".encode()


def sig_path(policy_path: Path) -> Path:
    return policy_path.with_name(policy_path.name + ".sig")


def sign_policy(
    policy_path: Path, private: Ed25519PrivateKey, approver: str, when: dt.datetime | None = None
) -> Path:
    digest = hashlib.sha256(policy_path.read_bytes()).hexdigest()
    signed_at = (when or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    signature = private.sign(_message(policy_path.name, digest, signed_at))
    record = {
        "policy": policy_path.name,
        "sha256": digest,
        "approver": approver,
        "key_id": public_key_id(private.public_key()),
        "signed_at": signed_at,
        "signature": _b64(signature),
    }
    out = sig_path(policy_path)
    out.write_text(json.dumps(record, indent=2) + "\n")
    return out


@dataclass(frozen=True)
class Approval:
    approver: str
    key_id: str
    signed_at: str
    sha256: str


def trusted_keys(directory: Path | None = None) -> dict[str, tuple[str, Ed25519PublicKey]]:
    """key_id -> (approver name, public key) for every approver file."""
    keys = {}
    for folder in approvers_dirs(directory):
        for path in sorted(folder.glob("*.json")):
            entry = json.loads(path.read_text())
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"]))
            keys[public_key_id(public)] = (entry["name"], public)
    return keys


def verify_policy(policy_path: Path, directory: Path | None = None) -> Approval:
    """The approval of the policy's exact text, or PolicySignatureError saying why not."""
    where = f"policy {policy_path}"
    sig = sig_path(policy_path)
    if not sig.exists():
        raise PolicySignatureError(
            f"{where} is not signed ({sig.name} missing). Fix: an IG "
            "officer reviews it and runs `mcn policy sign`",
            "POL030",
        )
    try:
        record = json.loads(sig.read_text())
        digest, signed_at = record["sha256"], record["signed_at"]
        signature = base64.b64decode(record["signature"])
    except (ValueError, KeyError, TypeError):
        raise PolicySignatureError(
            f"{sig} is not a valid signature file. Fix: sign the policy "
            "again with `mcn policy sign`",
            "POL033",
        ) from None
    actual = hashlib.sha256(policy_path.read_bytes()).hexdigest()
    if actual != digest:
        raise PolicySignatureError(
            f"{where} has changed since {record.get('approver')} signed "
            "it. Fix: have the change reviewed and signed again "
            "(`mcn policy sign`)",
            "POL031",
        )
    trusted = trusted_keys(directory)
    if record.get("key_id") not in trusted:
        raise PolicySignatureError(
            f"{where} is signed with key {record.get('key_id')}, which is "
            f"not a trusted approver in {', '.join(map(str, approvers_dirs(directory)))}. Fix: "
            "sign with a trusted approver's key",
            "POL032",
        )
    name, public = trusted[record["key_id"]]
    try:
        public.verify(signature, _message(policy_path.name, digest, signed_at))
    except InvalidSignature:
        raise PolicySignatureError(
            f"{where}: the signature does not verify. Fix: sign the "
            "policy again with `mcn policy sign`",
            "POL033",
        ) from None
    return Approval(name, record["key_id"], signed_at, digest)
