"""Tamper-evident audit log: hash-chained JSON lines with signed checkpoints (after RFC 6962).

Each line is one entry: {"seq", "time", "event", ...details, "prev", "hash"}, where `hash` is the
SHA-256 of the entry's canonical JSON without `hash` (so it covers `prev`, the hash before it).
Changing, removing, reordering or inserting a line breaks the chain at that line. A checkpoint
entry signs (Ed25519, the audit key) the sequence number and hash it follows, and the same signed
head is written to head.json, so even a rewrite of the whole chain, or the removal of the last
entries, is caught by anyone holding the audit public key.

Entries carry counts, names, hashes and key ids, never a value from a row.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance.errors import AuditError, KeyMissingError
from governance.keyfiles import write_private

ENV_AUDIT_KEY_FILE = "MCN_AUDIT_KEY_FILE"
GENESIS = "0" * 64
DOMAIN = b"mcn-audit-checkpoint-v1\n"
_lock = threading.Lock()


def canonical(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def load_audit_key(env: dict | None = None) -> Ed25519PrivateKey:
    env = os.environ if env is None else env
    path = env.get(ENV_AUDIT_KEY_FILE)
    fix = (
        "create one with `mcn audit keygen --out FILE` and set "
        f"{ENV_AUDIT_KEY_FILE}, or run `mcn demo`"
    )
    if not path:
        raise KeyMissingError(f"no audit signing key: {ENV_AUDIT_KEY_FILE} is not set. Fix: {fix}")
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        raise KeyMissingError(
            f"audit key {path} ({ENV_AUDIT_KEY_FILE}) cannot be read as an "
            f"Ed25519 private key. Fix: {fix}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyMissingError(f"audit key {path} is not an Ed25519 key. Fix: {fix}")
    return key


def create_audit_key(path: Path) -> bool:
    """Write a new audit signing key (PEM, 0600) if none exists; True when one was made."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return write_private(path, pem)


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def audit_key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "s-" + hashlib.sha256(raw).hexdigest()[:12]


class AuditLog:
    """Append-only writer. Safe across threads of one process and across processes (flock)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "audit.jsonl"
        self.head = self.folder / "head.json"

    def _last(self) -> tuple[int, str]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return -1, GENESIS
        with self.path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size, block = handle.tell(), b""
            while size and block.count(b"\n") < 2:
                step = min(size, 4096)
                size -= step
                handle.seek(size)
                block = handle.read(step) + block
        last = json.loads(block.strip().split(b"\n")[-1])
        return last["seq"], last["hash"]

    def append(self, event: str, **details) -> dict:
        """Append one entry and return it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with _lock, self.path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                seq, prev = self._last()
                entry = {
                    "seq": seq + 1,
                    "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "event": event,
                    **details,
                    "prev": prev,
                }
                entry["hash"] = entry_hash(entry)
                handle.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return entry

    def checkpoint(self, key: Ed25519PrivateKey) -> dict:
        """Append a signed checkpoint over the chain so far, then sign the checkpoint itself
        into head.json (so removing the checkpoint, or anything before it, is caught)."""
        seq, head = self._last()
        entry = self.append(
            "checkpoint",
            covers_seq=seq,
            covers_hash=head,
            key_id=audit_key_id(key.public_key()),
            signature=_sign(key, seq, head),
        )
        signed_head = {
            "seq": entry["seq"],
            "hash": entry["hash"],
            "key_id": audit_key_id(key.public_key()),
            "signature": _sign(key, entry["seq"], entry["hash"]),
        }
        tmp = self.head.with_suffix(".tmp")
        tmp.write_text(json.dumps(signed_head, indent=2) + "\n")
        os.replace(tmp, self.head)
        return entry


def _sign(key: Ed25519PrivateKey, seq: int, head: str) -> str:
    return base64.b64encode(key.sign(DOMAIN + f"{seq}\n{head}".encode())).decode()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    checkpoints: int
    problem: str = ""
    line: int | None = None


def _check_signature(keys: list[Ed25519PublicKey], seq: int, head: str, signature: str) -> bool:
    """True when any of the trusted audit keys (old ones kept after a rotation) signed it."""
    for public in keys:
        try:
            public.verify(base64.b64decode(signature), DOMAIN + f"{seq}\n{head}".encode())
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def verify(folder: Path, public: Ed25519PublicKey | list[Ed25519PublicKey]) -> Verdict:
    """Walk the chain; the first entry that does not hold names where the log was altered.

    `public` is the audit public key, or a list of them (the current and any rotated-out keys).
    """
    public = public if isinstance(public, list) else [public]
    log = AuditLog(folder)
    if not log.path.exists():
        return Verdict(False, 0, 0, f"no audit log at {log.path}")
    hashes, prev, checkpoints = [], GENESIS, 0
    lines = log.path.read_text(encoding="utf-8").splitlines()
    for line_no, line in enumerate(lines, start=1):
        bad = _check_line(line, line_no, prev, hashes, public)
        if bad:
            return Verdict(False, line_no - 1, checkpoints, bad, line_no)
        entry = json.loads(line)
        checkpoints += entry["event"] == "checkpoint"
        prev = entry["hash"]
        hashes.append(prev)
    return _check_head(log, hashes, public, checkpoints)


def _check_line(
    line: str, line_no: int, prev: str, hashes: list[str], public: Ed25519PublicKey
) -> str:
    where = f"entry {line_no - 1} (line {line_no})"
    try:
        entry = json.loads(line)
        seq, claimed = entry["seq"], entry["hash"]
    except (ValueError, KeyError, TypeError):
        return f"{where} is not a valid audit entry"
    if seq != line_no - 1:
        return (
            f"{where} has sequence number {seq}: entries were removed, reordered or inserted here"
        )
    if entry.get("prev") != prev:
        return f"{where} does not follow the entry before it (chain broken here)"
    if entry_hash(entry) != claimed:
        return f"{where} was altered after it was written (its hash does not match)"
    if entry["event"] == "checkpoint":
        covered = entry.get("covers_seq", -2)
        if not (0 <= covered < len(hashes) and hashes[covered] == entry.get("covers_hash")):
            return f"{where} is a checkpoint over a history that is not this one"
        if not _check_signature(public, covered, entry["covers_hash"], entry.get("signature", "")):
            return f"{where} is a checkpoint whose signature does not verify with the audit key"
    return ""


def _check_head(
    log: AuditLog, hashes: list[str], public: Ed25519PublicKey, checkpoints: int
) -> Verdict:
    n = len(hashes)
    if not log.head.exists():
        return Verdict(
            False, n, checkpoints, f"{log.head} is missing: the log's end cannot be checked"
        )
    head = json.loads(log.head.read_text())
    seq, claimed = head.get("seq", -1), head.get("hash", "")
    if not _check_signature(public, seq, claimed, head.get("signature", "")):
        return Verdict(False, n, checkpoints, f"{log.head} signature does not verify")
    if seq >= n:
        return Verdict(
            False,
            n,
            checkpoints,
            f"entries {n} to {seq} were removed from the end "
            f"(the signed head covers entry {seq}, the log ends at {n - 1})",
            n + 1,
        )
    if hashes[seq] != claimed:
        return Verdict(
            False,
            n,
            checkpoints,
            f"entry {seq} (line {seq + 1}) differs from the signed head",
            seq + 1,
        )
    if seq < n - 1:
        return Verdict(
            False,
            n,
            checkpoints,
            f"entry {seq + 1} (line {seq + 2}) and after are not "
            "covered by a signed checkpoint: inserted, or a run stopped before it "
            "could checkpoint (then `mcn audit checkpoint` seals them)",
            seq + 2,
        )
    return Verdict(True, n, checkpoints)


def read_entries(folder: Path) -> list[dict]:
    path = AuditLog(folder).path
    if not path.exists():
        raise AuditError(f"no audit log at {path}. Fix: run the pipeline first, or pass --data-dir")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
