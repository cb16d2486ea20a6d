"""Grants: an IG officer's signed permission for one named user to act in a role, for purposes,
until a date (after Unity Catalog: who may do what is granted apart from the data, and every use
is logged).

A grant names the user's own Ed25519 public key. The user proves who they are with the private
key (never shared); the IG officer's approver key signs the grant (purpose "grant"). Commands that
need a grant (`mcn reidentify`, `mcn query`) find the user's grants in the grants folder, check the
approver's signature, the dates, the role and the purpose, and embed the grant they used in the
audit entry they sign, so the log proves who acted under which permission with public keys only.
A typed role proves nothing: only a grant does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance import signatures as sig
from governance.errors import GrantError

ENV_USER_KEY_FILE = "MCN_USER_KEY_FILE"
ENV_GRANTS_DIR = "MCN_GRANTS_DIR"
# Roles that are not re-identification roles of an agreement: reading the registered tables.
# "analyst" gets counts under disclosure control; "accredited_analyst" may read row-level
# pseudonymised tables (audited as such).
ACCREDITED_ROLES = ("accredited_analyst",)
ANALYST_ROLES = ("analyst", *ACCREDITED_ROLES)
FIELDS = (
    "grant_id",
    "user",
    "user_key_id",
    "user_public_key",
    "role",
    "purposes",
    "valid_from",
    "valid_until",
    "issued_by",
    "approver_key_id",
    "issued_at",
)


def _body(grant: dict) -> str:
    return json.dumps({k: grant.get(k) for k in FIELDS}, sort_keys=True, separators=(",", ":"))


def issue(
    user: str,
    user_public: Ed25519PublicKey,
    role: str,
    purposes: list[str],
    until: dt.date,
    approver: str,
    approver_key: Ed25519PrivateKey,
    today: dt.date,
) -> dict:
    """A signed grant document (not yet written anywhere)."""
    if until < today:
        raise GrantError(f"--until {until} is in the past. Fix: give a date from {today} on")
    grant = {
        "grant_id": "g-" + secrets.token_hex(6),
        "user": user,
        "user_key_id": sig.key_id(user_public, "u"),
        "user_public_key": sig.public_b64(user_public),
        "role": role,
        "purposes": sorted(set(purposes)),
        "valid_from": today.isoformat(),
        "valid_until": until.isoformat(),
        "issued_by": approver,
        "approver_key_id": sig.key_id(approver_key.public_key(), "a"),
        "issued_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    grant["signature"] = sig.sign(approver_key, "grant", _body(grant))
    return grant


def authentic(grant: object, approvers: dict[str, tuple[str, Ed25519PublicKey]]) -> str:
    """'' when a trusted approver signed this grant; otherwise why not (no values)."""
    if not isinstance(grant, dict) or any(k not in grant for k in FIELDS):
        return "is not a grant document"
    trusted = approvers.get(str(grant["approver_key_id"]))
    if trusted is None:
        return f"is signed by {grant['approver_key_id']}, not a trusted approver"
    if not sig.verifies(trusted[1], grant.get("signature"), "grant", _body(grant)):
        return "has a signature that does not verify (altered or forged)"
    user_key = sig.public_from_b64(grant["user_public_key"])
    if user_key is None or sig.key_id(user_key, "u") != grant["user_key_id"]:
        return "names a user key that does not match its key id"
    return ""


def in_date(grant: dict, on: dt.date) -> bool:
    return grant["valid_from"] <= on.isoformat() <= grant["valid_until"]


def grants_dir(data_root: Path, given: Path | None = None) -> Path:
    return Path(given or os.environ.get(ENV_GRANTS_DIR) or Path(data_root) / "grants")


def write(grant: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", grant["user"].lower()).strip("-") or "user"
    path = folder / f"{slug}.{grant['grant_id']}.json"
    path.write_text(json.dumps(grant, indent=2, sort_keys=True) + "\n")
    return path


def for_key(folder: Path, user_key_id: str) -> list[dict]:
    """Every grant document in the folder that names this user key (authenticity not checked)."""
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            grant = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(grant, dict) and grant.get("user_key_id") == user_key_id:
            found.append(grant)
    return found


@dataclass(frozen=True)
class UserKey:
    """A named user's private key: proves who acts; never leaves their process."""

    key_id: str
    private: Ed25519PrivateKey = field(repr=False)

    @property
    def public_b64(self) -> str:
        return sig.public_b64(self.private.public_key())


def load_user_key(path: Path | str | None = None) -> UserKey:
    path = path or os.environ.get(ENV_USER_KEY_FILE)
    fix = (
        "pass --key FILE or set MCN_USER_KEY_FILE to your private key "
        "(made once with `mcn user keygen`; an IG officer grants it with `mcn grant`)"
    )
    if not path:
        raise GrantError(f"no user key: {ENV_USER_KEY_FILE} is not set. Fix: {fix}")
    private = sig.read_private(Path(path))
    if private is None:
        raise GrantError(f"user key {path} is not a readable Ed25519 private key. Fix: {fix}")
    return UserKey(sig.key_id(private.public_key(), "u"), private)


@dataclass(frozen=True)
class Decision:
    """Which grant covers a request, or the reason code and message why none does."""

    grant: dict | None
    code: str = ""
    reason: str = ""


def covering(
    grants: list[dict],
    approvers: dict[str, tuple[str, Ed25519PublicKey]],
    roles: tuple[str, ...] | list[str],
    purpose: str | None,
    on: dt.date,
    role: str | None = None,
    revoked: set[str] | frozenset[str] = frozenset(),
) -> Decision:
    """The first authentic, unrevoked, in-date grant with an acceptable role (and `role` if
    asked) and the purpose; otherwise the most specific reason none applies."""
    genuine = [g for g in grants if not authentic(g, approvers)]
    if genuine and all(g["grant_id"] in revoked for g in genuine):
        return Decision(None, "G06", "every grant for this key has been revoked")
    genuine = [g for g in genuine if g["grant_id"] not in revoked]
    if not genuine:
        if grants:
            return Decision(
                None, "G02", "the grant(s) for this key are not signed by a trusted IG approver"
            )
        return Decision(None, "G01", "no grant names this user key")
    current = [g for g in genuine if in_date(g, on)]
    if not current:
        return Decision(None, "G03", f"every grant for this key is outside its dates on {on}")
    fitting = [g for g in current if g["role"] in roles and (role is None or g["role"] == role)]
    if not fitting:
        held = ", ".join(sorted({g["role"] for g in current}))
        return Decision(None, "G04", f"no grant for this key gives the role needed (held: {held})")
    for grant in fitting:
        if purpose is None or purpose in grant["purposes"]:
            return Decision(grant)
    return Decision(None, "G05", f"no grant for this key covers the purpose '{purpose}'")
