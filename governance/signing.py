"""Signed approval of policies: an IG officer's Ed25519 signature over the exact policy text.

    <policy>.yaml.sig   {"policy", "signatures": [{"sha256", "approver", "key_id", "parties",
                         "signed_at", "signature"}, ...], "texts": {sha256: text signed}}
    approvers/<name>.json   {"name", "key_id", "public_key"}   (trusted approver public keys)

Two-party (k of n) approval: the agreement names, per party, the approvers' key ids and how many
must sign. A flow refuses a policy unless, for every provider and recipient, enough of its
named approvers signed exactly this text; each signature binds the text's SHA-256, the signer's
key id and the time. The texts signed are kept beside the signatures so `mcn policy diff` can show
what changed since the last version every party signed. The private key
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

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance import signatures as sig
from governance.errors import PolicySignatureError
from governance.keyfiles import write_private
from schemas.errors import OutputExistsError

APPROVERS_DIR = Path(__file__).parent / "approvers"
ENV_APPROVERS_DIR = "MCN_APPROVERS_DIR"
DOMAIN = b"mcn-policy-signature-v2\n"


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


def _message(policy_name: str, digest: str, key_id: str, signed_at: str) -> bytes:
    """What an approver signs: the policy's name, the SHA-256 of its exact text, their own key
    id and the time, under the policy-signature tag."""
    return DOMAIN + f"{policy_name}\n{digest}\n{key_id}\n{signed_at}".encode()


def sig_path(policy_path: Path) -> Path:
    return policy_path.with_name(policy_path.name + ".sig")


@dataclass(frozen=True)
class Signatory:
    """A party that must sign, and which approvers' keys may sign for it (k of n)."""

    party: str
    approvers: tuple[str, ...]
    required: int


def signatories(text: str) -> list[Signatory]:
    """The signing parties an agreement text names; [] when the text is not a readable policy
    (`mcn policy check` reports why)."""
    from governance.agreement import Policy

    try:
        policy = Policy.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValueError):
        return []
    return [
        Signatory(p.name, tuple(p.approvers), p.approvals_required)
        for p in policy.agreement.parties
        if p.signs
    ]


def read_record(policy_path: Path) -> dict:
    """The policy's signature file: {"policy", "signatures": [...], "texts": {sha256: text}}."""
    sig = sig_path(policy_path)
    if not sig.exists():
        raise PolicySignatureError(
            f"policy {policy_path} is not signed ({sig.name} missing). Fix: an approver of "
            "each party reviews it and runs `mcn policy sign`",
            "POL030",
        )
    try:
        record = json.loads(sig.read_text())
        for s in record["signatures"]:
            s["sha256"], s["key_id"], s["signed_at"], s["signature"]  # noqa: B018
        if not isinstance(record.get("texts", {}), dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise PolicySignatureError(
            f"{sig} is not a valid signature file. Fix: sign the policy again with "
            "`mcn policy sign`",
            "POL033",
        ) from None
    return record


def sign_policy(
    policy_path: Path, private: Ed25519PrivateKey, approver: str, when: dt.datetime | None = None
) -> Path:
    """Add this approver's signature of the exact policy text to <policy>.yaml.sig (replacing
    their earlier signature of the same text). Refused when the agreement does not name the key
    as an approver of any party."""
    text = policy_path.read_text(encoding="utf-8")
    digest = hashlib.sha256(policy_path.read_bytes()).hexdigest()
    key_id = public_key_id(private.public_key())
    parties = [p.party for p in signatories(text) if key_id in p.approvers]
    if not parties:
        raise PolicySignatureError(
            f"key {key_id} ({approver}) is not named as an approver of any party in "
            f"{policy_path}. Fix: add it to the party's agreement.parties[].approvers, or sign "
            "with the key of an approver the agreement names",
            "POL035",
        )
    signed_at = (when or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    try:
        record = read_record(policy_path)
    except PolicySignatureError:
        record = {"policy": policy_path.name, "signatures": [], "texts": {}}
    record["signatures"] = [
        s for s in record["signatures"] if (s["key_id"], s["sha256"]) != (key_id, digest)
    ] + [
        {
            "sha256": digest,
            "approver": approver,
            "key_id": key_id,
            "parties": parties,
            "signed_at": signed_at,
            "signature": _b64(private.sign(_message(policy_path.name, digest, key_id, signed_at))),
        }
    ]
    record.setdefault("texts", {})[digest] = text
    out = sig_path(policy_path)
    out.write_text(json.dumps(record, indent=2) + "\n")
    return out


@dataclass(frozen=True)
class Approval:
    """Who approved a policy's exact text: every valid signature on it, in order."""

    approver: str  # every signer's name, "; "-separated
    key_id: str  # every signer's key id, ", "-separated
    signed_at: str  # the last signature's time
    sha256: str
    signers: tuple[dict, ...] = ()


def trusted_keys(directory: Path | None = None) -> dict[str, tuple[str, Ed25519PublicKey]]:
    """key_id -> (approver name, public key) for every approver file."""
    keys = {}
    for folder in approvers_dirs(directory):
        for path in sorted(folder.glob("*.json")):
            entry = json.loads(path.read_text())
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"]))
            keys[public_key_id(public)] = (entry["name"], public)
    return keys


def _valid(record: dict, digest: str, trusted: dict) -> tuple[list[dict], list[dict]]:
    """(valid, untrusted) signatures of one text; a signature that does not verify is forged."""
    valid, untrusted = [], []
    for s in (s for s in record["signatures"] if s["sha256"] == digest):
        if s["key_id"] not in trusted:
            untrusted.append(s)
            continue
        name, public = trusted[s["key_id"]]
        try:
            message = _message(record["policy"], digest, s["key_id"], s["signed_at"])
            public.verify(base64.b64decode(s["signature"]), message)
        except (InvalidSignature, ValueError):
            raise PolicySignatureError(
                f"{record['policy']}: the signature by key {s['key_id']} does not verify. Fix: "
                "that approver signs the policy again with `mcn policy sign`",
                "POL033",
            ) from None
        valid.append({**s, "approver": name})
    return valid, untrusted


def missing_parties(text: str, valid: list[dict]) -> list[str]:
    """Parties without their k valid signatures, each with what it still needs."""
    signed = {s["key_id"] for s in valid}
    out = []
    for p in signatories(text):
        have = len(signed & set(p.approvers))
        if have < p.required:
            out.append(f"{p.party} ({have} of the {p.required} signature(s) it needs)")
    return out


def verify_policy(policy_path: Path, directory: Path | None = None) -> Approval:
    """The approval of the policy's exact text by every party, or PolicySignatureError saying
    why not (the message names each missing party)."""
    where = f"policy {policy_path}"
    record = read_record(policy_path)
    digest = hashlib.sha256(policy_path.read_bytes()).hexdigest()
    if not any(s["sha256"] == digest for s in record["signatures"]):
        last: dict = max(record["signatures"], key=lambda s: s["signed_at"], default={})
        raise PolicySignatureError(
            f"{where} has changed since {last.get('approver', 'anyone')} signed it. Fix: see "
            f"`mcn policy diff {policy_path.stem}`, then have every party review and sign it "
            "again (`mcn policy sign`)",
            "POL031",
        )
    valid, untrusted = _valid(record, digest, trusted_keys(directory))
    if not valid:
        raise PolicySignatureError(
            f"{where} is signed with key(s) {', '.join(s['key_id'] for s in untrusted)}, not "
            f"trusted approvers in {', '.join(map(str, approvers_dirs(directory)))}. Fix: sign "
            "with a trusted approver's key",
            "POL032",
        )
    text = policy_path.read_text(encoding="utf-8")
    if not signatories(text):
        raise PolicySignatureError(
            f"{where} names no party that signs (or does not load). Fix: run `mcn policy check`",
            "POL034",
        )
    missing = missing_parties(text, valid)
    if missing:
        raise PolicySignatureError(
            f"{where} is not signed by every party: missing {'; '.join(missing)}. Signed by "
            f"{'; '.join(s['approver'] for s in valid)}. Fix: an approver the agreement names "
            "for each missing party runs `mcn policy sign`",
            "POL034",
        )
    return Approval(
        "; ".join(s["approver"] for s in valid),
        ", ".join(s["key_id"] for s in valid),
        max(s["signed_at"] for s in valid),
        digest,
        tuple(valid),
    )


def last_approved(policy_path: Path, directory: Path | None = None) -> tuple[str, str] | None:
    """(sha256, text) of the most recent version every party signed, from the signature file;
    None when no version ever was."""
    try:
        record = read_record(policy_path)
    except PolicySignatureError:
        return None
    trusted = trusted_keys(directory)
    texts = record.get("texts", {})
    order = sorted(record["signatures"], key=lambda s: s["signed_at"], reverse=True)
    for digest in dict.fromkeys(s["sha256"] for s in order):
        text = texts.get(digest)
        if text is None or hashlib.sha256(text.encode()).hexdigest() != digest:
            continue
        try:
            valid, _ = _valid(record, digest, trusted)
        except PolicySignatureError:
            continue
        if valid and not missing_parties(text, valid):
            return digest, text
    return None
