"""Tamper-evident audit log, append-only even against its operator (after RFC 6962/9162, Rekor
and transparency-dev witnesses).

`audit.jsonl` holds one JSON entry a line. Entry 0 creates the log: a random log id, the format,
the audit key id. Every entry then carries

    seq, time, event, ...details, prev, signer, sig, hash

- `prev` is the hash of the entry before it, `hash` the SHA-256 of the tagged canonical JSON of
  the entry without `hash` (a leaf hash): changing, removing, reordering or inserting a line
  breaks the chain there;
- `sig` is its writer's Ed25519 signature (purpose "audit-entry", the log id, the entry's body):
  pipeline events by the audit key; a re-identification or query by the user's own key under an
  IG-signed grant, embedded in the entry; a grant by the approver who issued it. Nobody can write
  or rewrite an entry in someone else's name. A refused attempt by someone with no key or no grant
  is still recorded, unsigned, and counted as unauthenticated (it proves nothing else);
- checkpoint entries sign (purpose "audit-checkpoint") the sequence number and hash they cover;
  `head.json` signs (purpose "audit-head") the log id, its size and last hash: the end of the log.

The purpose and the log id are in every signed message, so no signature stands in for another,
and verification needs public keys only. Cutting the log back to an older head someone saved is a
rollback: heads IG officers keep (`mcn audit head --out FILE`) catch it, because the log must
extend every witnessed head. Entries carry counts, names, hashes and key ids, never a row value.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance import grants as grant_rules
from governance import signatures as sig
from governance.errors import AuditError, KeyMissingError
from governance.keyfiles import write_private

ENV_AUDIT_KEY_FILE = "MCN_AUDIT_KEY_FILE"
ENV_AUDIT_PUBLIC_KEY_FILE = "MCN_AUDIT_PUBLIC_KEY_FILE"  # one or more, os.pathsep-separated
# Where the operator keeps, outside the data directory, the last head it sealed of each log.
ENV_STATE_DIR = "MCN_STATE_DIR"
FORMAT = "mcn-audit-v2"
GENESIS = "0" * 64
LEAF_TAG = b"mcn-audit-leaf-v2\n"
# Who may write which event. Everything not listed is the pipeline's, signed by the audit key.
USER_EVENTS = frozenset(
    {
        "reidentify",
        "reidentify_refused",
        "query",
        "query_finished",
        "query_refused",
        "evidence_output",  # `mcn costs`, `mcn impact`, `mcn business-case`
        "evidence_refused",
    }
)
APPROVER_EVENTS = frozenset({"grant_issued", "grant_revoked"})
# may be unauthenticated
ATTEMPT_EVENTS = frozenset({"reidentify_refused", "query_refused", "evidence_refused"})
_thread_lock = threading.Lock()


def canonical(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry: dict) -> str:
    """The leaf hash: everything in the entry but the hash itself, tagged."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(LEAF_TAG + canonical(body)).hexdigest()


def body_digest(entry: dict) -> str:
    """What the writer signs: the entry without its signature and hash."""
    return hashlib.sha256(
        canonical({k: v for k, v in entry.items() if k not in ("sig", "hash")})
    ).hexdigest()


# --- keys ---------------------------------------------------------------------------------------


def load_audit_key(env: Mapping[str, str] | None = None) -> Ed25519PrivateKey:
    env = os.environ if env is None else env
    path = env.get(ENV_AUDIT_KEY_FILE)
    fix = (
        "create one with `mcn audit keygen --out FILE` and set "
        f"{ENV_AUDIT_KEY_FILE}, or run `mcn demo`"
    )
    if not path:
        raise KeyMissingError(f"no audit signing key: {ENV_AUDIT_KEY_FILE} is not set. Fix: {fix}")
    key = sig.read_private(Path(path))
    if key is None:
        raise KeyMissingError(
            f"audit key {path} ({ENV_AUDIT_KEY_FILE}) cannot be read as an "
            f"Ed25519 private key. Fix: {fix}"
        )
    return key


def load_audit_public_keys(
    paths: list[str] | None = None, env: Mapping[str, str] | None = None
) -> list:
    """The audit public keys a verifier trusts: each path given, else $MCN_AUDIT_PUBLIC_KEY_FILE."""
    env = os.environ if env is None else env
    given = list(paths or [])
    if not given and env.get(ENV_AUDIT_PUBLIC_KEY_FILE):
        given = [p for p in env[ENV_AUDIT_PUBLIC_KEY_FILE].split(os.pathsep) if p]
    fix = (
        "pass --public-key FILE (the .pub that `mcn audit keygen` wrote; repeat it for keys "
        f"rotated out) or set {ENV_AUDIT_PUBLIC_KEY_FILE}"
    )
    if not given:
        raise KeyMissingError(f"no audit public key to verify with. Fix: {fix}")
    keys = []
    for path in given:
        key = sig.read_public(Path(path))
        if key is None:
            raise KeyMissingError(f"{path} is not an Ed25519 public key (PEM). Fix: {fix}")
        keys.append(key)
    return keys


def create_audit_key(path: Path) -> bool:
    """Write a new audit signing key (PEM, 0600) and its public key beside it (`.pub`) if none
    exists; True when one was made."""
    private = Ed25519PrivateKey.generate()
    made = write_private(path, sig.private_pem(private))
    if made:
        Path(path).with_suffix(".pub").write_bytes(sig.public_pem(private.public_key()))
    return made


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return sig.public_pem(key.public_key())


def audit_key_id(public: Ed25519PublicKey) -> str:
    return sig.key_id(public, "s")


@dataclass(frozen=True)
class Signer:
    """Who writes an entry: the audit (service) key, a user under a grant, or an approver."""

    key_id: str
    private: Ed25519PrivateKey = field(repr=False)
    grant: dict | None = None

    @classmethod
    def service(cls, key: Ed25519PrivateKey) -> Signer:
        return cls(audit_key_id(key.public_key()), key)

    @classmethod
    def approver(cls, key: Ed25519PrivateKey) -> Signer:
        return cls(sig.key_id(key.public_key(), "a"), key)

    @property
    def is_service(self) -> bool:
        return self.key_id.startswith("s-")


@dataclass(frozen=True)
class Trust:
    """Public keys a verifier trusts: the audit keys and the IG approvers (who vouch for users)."""

    audit: dict[str, Ed25519PublicKey]
    approvers: dict[str, tuple[str, Ed25519PublicKey]]

    @classmethod
    def of(cls, audit_keys: list, approvers_dir: Path | None = None) -> Trust:
        from governance.signing import trusted_keys

        return cls({audit_key_id(k): k for k in audit_keys}, trusted_keys(approvers_dir))


def operator_head_path(folder: Path) -> Path:
    """The last head this operator sealed of the log in `folder`, kept outside the data
    directory ($MCN_STATE_DIR, else ~/.local/state/mcn): the next seal must extend it."""
    base = Path(os.environ.get(ENV_STATE_DIR) or Path.home() / ".local" / "state" / "mcn")
    name = hashlib.sha256(os.path.realpath(folder).encode()).hexdigest()[:16]
    return base / "audit-heads" / f"{name}.json"


def service_log(folder: Path) -> AuditLog:
    """The pipeline's audit log writer: entries signed with the audit key from the environment."""
    return AuditLog(folder, Signer.service(load_audit_key()))


# --- writing ------------------------------------------------------------------------------------


class AuditLog:
    """Append-only writer; safe across threads (a lock) and processes (flock).

    `signer` signs every entry this object appends; None only records refused attempts
    (unauthenticated). The log is created, with its identity, by the first service-signed entry.
    """

    def __init__(self, folder: Path, signer: Signer | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "audit.jsonl"
        self.head_path = self.folder / "head.json"
        self.signer = signer

    @contextmanager
    def _locked(self) -> Iterator:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        if self.folder.is_symlink():
            raise AuditError(f"{self.folder} is a symbolic link: refusing to write through it")
        try:  # never through a link planted in place of the log
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
        except OSError:
            raise AuditError(
                f"{self.path} cannot be opened for appending (a symbolic link, or no access). "
                "Fix: treat as a security incident if it is a link"
            ) from None
        with _thread_lock, os.fdopen(fd, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def log_id(self) -> str | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        with self.path.open("rb") as handle:
            first = json.loads(handle.readline())
        return first.get("log_id")

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

    def _genesis(self, handle, signer: Signer | None) -> str:
        """Create the log (entry 0, with its identity); only the service key may, and never
        where this operator has sealed a log before (a deleted log is not silently restarted)."""
        if signer is None or not signer.is_service:
            raise AuditError(
                f"no audit log at {self.path} yet: it is created by the pipeline's first "
                "run. Fix: run `mcn run` first, or pass --data-dir"
            )
        kept = operator_head_path(self.folder)
        if kept.exists():
            raise AuditError(
                f"the audit log at {self.path} is gone, but this operator sealed one there before "
                f"(its last head is in {kept}); a new log is not started over a deleted one. Fix: "
                "treat as a security incident and restore the log from backup; only for a "
                f"deliberate fresh start, move {kept} aside"
            )
        log_id = secrets.token_hex(16)
        genesis = {
            "seq": 0,
            "time": _now(),
            "event": "log_created",
            "format": FORMAT,
            "log_id": log_id,
            "audit_key_id": signer.key_id,
            "prev": GENESIS,
        }
        self._emit(handle, genesis, log_id, signer)
        return log_id

    def _write(self, handle, event: str, details: dict, signer: Signer | None) -> dict:
        log_id = self.log_id() or self._genesis(handle, signer)
        seq, prev = self._last()
        if event in USER_EVENTS and signer is not None and signer.grant is None:
            raise ValueError(f"{event} entries are signed by a user under a grant")
        entry = {"seq": seq + 1, "time": _now(), "event": event, **details, "prev": prev}
        if signer is None and event not in ATTEMPT_EVENTS:
            raise ValueError(f"{event} entries must be signed")
        return self._emit(handle, entry, log_id, signer)

    def _emit(self, handle, entry: dict, log_id: str, signer: Signer | None) -> dict:
        if signer is not None:
            entry["signer"] = signer.key_id
            if signer.grant is not None:
                entry["grant"] = signer.grant
            entry["sig"] = sig.sign(signer.private, "audit-entry", log_id, body_digest(entry))
        entry["hash"] = entry_hash(entry)
        handle.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
        return entry

    def append(self, event: str, **details) -> dict:
        """Append one entry signed by this log's signer and return it."""
        with self._locked() as handle:
            return self._write(handle, event, details, self.signer)

    def seal(self, trust: Trust, confirm=None) -> dict | None:
        """Check every entry after the last signed head, then append a signed checkpoint over
        them and write the new head. `confirm(tail_summary)` may decline (returns False).

        Refuses (AuditError) when any entry of the tail does not verify: a forged entry is never
        sealed. Needs the audit private key (this log's signer must be the service)."""
        if self.signer is None or not self.signer.is_service:
            raise AuditError("only the audit (service) key seals the log")
        with self._locked() as handle:
            verdict = verify(self.folder, trust, require_head=False)
            if not verdict.ok:
                raise AuditError(
                    f"audit log {self.path} was not sealed: {verdict.problem}. Fix: treat this "
                    "as a security incident: compare with a backup and the heads IG officers "
                    "keep (`mcn audit verify --witness FILE`)"
                )
            self._require_extends_operator_head(verdict, trust)
            if confirm is not None and not confirm(verdict.tail):
                return None
            log_id = self.log_id() or self._genesis(handle, self.signer)
            seq, covered = self._last()
            key = self.signer.private
            entry = self._write(
                handle,
                "checkpoint",
                {
                    "covers_seq": seq,
                    "covers_hash": covered,
                    "key_id": self.signer.key_id,
                    "signature": sig.sign(key, "audit-checkpoint", log_id, seq, covered),
                },
                self.signer,
            )
            self._write_head(log_id, entry, key)
            return entry

    def _require_extends_operator_head(self, verdict: Verdict, trust: Trust) -> None:
        kept = operator_head_path(self.folder)
        try:
            head = json.loads(kept.read_text())
        except (OSError, ValueError):
            return
        problem = check_head(head, verdict.log_id, verdict.hashes, trust)
        if problem:
            raise AuditError(
                f"audit log {self.path} was not sealed: the head this operator sealed last "
                f"({kept}) {problem}. Fix: treat as a security incident; restore the log from "
                "backup"
            )

    def _write_head(self, log_id: str, entry: dict, key: Ed25519PrivateKey) -> None:
        size, time = entry["seq"] + 1, _now()
        head = {
            "format": FORMAT,
            "log_id": log_id,
            "size": size,
            "hash": entry["hash"],
            "time": time,
            "key_id": audit_key_id(key.public_key()),
            "signature": sig.sign(key, "audit-head", log_id, size, entry["hash"], time),
        }
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".head.json.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(head, indent=2) + "\n")
        os.chmod(tmp, 0o640)
        os.replace(tmp, self.head_path)
        kept = operator_head_path(self.folder)  # the operator's own witness, off the data dir
        kept.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=kept.parent, prefix=".head.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(head, indent=2) + "\n")
        os.replace(tmp, kept)

    def seal_run(self) -> dict | None:
        """Seal at the end of a pipeline command, trusting this key and any rotated-out audit
        public keys in $MCN_AUDIT_PUBLIC_KEY_FILE."""
        if self.signer is None:
            raise AuditError("only the audit (service) key seals the log")
        extra = load_audit_public_keys() if os.environ.get(ENV_AUDIT_PUBLIC_KEY_FILE) else []
        return self.seal(Trust.of([self.signer.private.public_key(), *extra]))

    def read_head(self) -> dict | None:
        try:
            return json.loads(self.head_path.read_text())
        except (OSError, ValueError):
            return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --- verifying ----------------------------------------------------------------------------------


@dataclass
class Tail:
    """What follows the last signed head: what sealing it would cover (no values)."""

    first_seq: int = 0
    entries: int = 0
    events: dict[str, int] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    signers: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.entries:
            return "nothing after the last signed head"
        events = ", ".join(f"{k} {v}" for k, v in sorted(self.events.items()))
        runs = ", ".join(self.run_ids) or "none"
        who = ", ".join(f"{k} {v}" for k, v in sorted(self.signers.items()))
        return (
            f"{self.entries} entries from seq {self.first_seq}: events {events}; "
            f"run ids {runs}; signed by {who}"
        )


@dataclass
class Verdict:
    ok: bool
    entries: int
    checkpoints: int
    problem: str = ""
    line: int | None = None
    log_id: str | None = None
    unauthenticated: int = 0
    tail: Tail = field(default_factory=Tail)
    hashes: list[str] = field(default_factory=list, repr=False)


class _Walk:
    """One pass over the log's lines, checking each against the chain and its writer."""

    def __init__(self, trust: Trust) -> None:
        self.trust = trust
        self.hashes: list[str] = []
        self.log_id: str | None = None
        self.checkpoints = 0
        self.unauthenticated = 0
        self._grants: dict[str, str] = {}

    def check(self, line: str, index: int) -> str:
        where = f"entry {index} (line {index + 1})"
        try:
            entry = json.loads(line)
            seq, claimed, event = entry["seq"], entry["hash"], entry["event"]
        except (ValueError, KeyError, TypeError):
            return f"{where} is not a valid audit entry"
        if seq != index:
            return f"{where} has sequence number {seq}: entries were removed, reordered or inserted"
        prev = self.hashes[-1] if self.hashes else GENESIS
        if entry.get("prev") != prev:
            return f"{where} does not follow the entry before it (chain broken here)"
        if entry_hash(entry) != claimed:
            return f"{where} was altered after it was written (its hash does not match)"
        if index == 0:
            if event != "log_created" or entry.get("format") != FORMAT:
                return f"{where} does not create an {FORMAT} log"
            self.log_id = str(entry.get("log_id"))
        elif event == "log_created":
            return f"{where} claims to create the log again (a spliced log)"
        problem = self._writer(entry, event, where)
        if problem:
            return problem
        if event == "checkpoint":
            problem = self._checkpoint(entry, where)
            if problem:
                return problem
        self.hashes.append(claimed)
        return ""

    def _writer(self, entry: dict, event: str, where: str) -> str:
        signer = entry.get("signer")
        if signer is None:
            claims = [k for k in ("grant", "sig", "user", "requester") if k in entry]
            if event in ATTEMPT_EVENTS and not claims:
                self.unauthenticated += 1
                return ""
            return f"{where} ({event}) is not signed: not written by mcn"
        public = self._public_for(entry, event, str(signer))
        if isinstance(public, str):
            return f"{where} ({event}) {public}"
        if not sig.verifies(
            public, entry.get("sig"), "audit-entry", self.log_id, body_digest(entry)
        ):
            return f"{where} ({event}) has a signature that does not verify: forged or altered"
        return ""

    def _public_for(self, entry: dict, event: str, signer: str) -> Ed25519PublicKey | str:
        if event in USER_EVENTS:
            grant = entry.get("grant")
            problem = self._grant(grant)
            if problem:
                return f"carries a grant that {problem}"
            if not isinstance(grant, dict):
                return "carries no grant"
            if grant["user_key_id"] != signer:
                return "is signed by a key its grant does not name"
            misuse = _grant_misuse(entry, event, grant)
            if misuse:
                return misuse
            return sig.public_from_b64(grant["user_public_key"]) or "has a bad user key"
        if event in APPROVER_EVENTS:
            approver = self.trust.approvers.get(signer)
            return approver[1] if approver else f"is signed by {signer}, not a trusted approver"
        public = self.trust.audit.get(signer)
        if public is None:
            return f"is signed by {signer}, not a trusted audit key"
        return public

    def _grant(self, grant: object) -> str:
        token = json.dumps(grant, sort_keys=True, default=str)
        if token not in self._grants:
            self._grants[token] = grant_rules.authentic(grant, self.trust.approvers)
        return self._grants[token]

    def _checkpoint(self, entry: dict, where: str) -> str:
        covered = entry.get("covers_seq", -2)
        if not (
            isinstance(covered, int)
            and 0 <= covered < len(self.hashes)
            and self.hashes[covered] == entry.get("covers_hash")
        ):
            return f"{where} is a checkpoint over a history that is not this one"
        public = self.trust.audit.get(str(entry.get("key_id")))
        if public is None or not sig.verifies(
            public,
            entry.get("signature"),
            "audit-checkpoint",
            self.log_id,
            covered,
            entry["covers_hash"],
        ):
            return f"{where} is a checkpoint whose signature does not verify with the audit key"
        self.checkpoints += 1
        return ""


def _grant_misuse(entry: dict, event: str, grant: dict) -> str:
    """A genuine grant used for what it does not allow (the commands never write such an
    entry: a user writing one by hand shows here)."""
    if event in ATTEMPT_EVENTS:
        return ""
    analyst = grant["role"] in grant_rules.ANALYST_ROLES
    if event == "reidentify" and analyst:
        return f"uses an {grant['role']} grant to re-identify"
    if event.startswith("query") and not analyst:
        return f"uses a {grant['role']} grant to query"
    day = str(entry.get("time", ""))[:10]
    if not grant["valid_from"] <= day <= grant["valid_until"]:
        return "was written outside its grant's dates"
    return ""


def check_head(head: object, log_id: str | None, hashes: list[str], trust: Trust) -> str:
    """'' when `head` is a validly signed head of this log that the log extends."""
    if not isinstance(head, dict):
        return "is not a signed head"
    try:
        size, claimed, time = int(head["size"]), str(head["hash"]), str(head["time"])
        public = trust.audit.get(str(head["key_id"]))
    except (KeyError, TypeError, ValueError):
        return "is not a signed head"
    if head.get("format") != FORMAT or head.get("log_id") != log_id:
        return "belongs to another audit log"
    if public is None or not sig.verifies(
        public, head.get("signature"), "audit-head", log_id, size, claimed, time
    ):
        return "has a signature that does not verify as a head with the audit key"
    if size > len(hashes):
        return (
            f"covers {size} entries (signed {time}) but the log now holds {len(hashes)}: "
            f"entries {len(hashes)} to {size - 1} were removed or the log was rolled back"
        )
    if hashes[size - 1] != claimed:
        return f"(signed {time}) does not match entry {size - 1}: the log was rewritten"
    return ""


def verify(
    folder: Path,
    trust: Trust | Ed25519PublicKey | list[Ed25519PublicKey],
    witnesses: list[dict] | None = None,
    require_head: bool = True,
) -> Verdict:
    """Walk the log; the first entry that does not hold names where it was altered. Then the
    signed head must match, and the log must extend every witnessed head."""
    if not isinstance(trust, Trust):
        trust = Trust.of(trust if isinstance(trust, list) else [trust])
    log = AuditLog(folder)
    if not log.path.exists():
        return Verdict(False, 0, 0, f"no audit log at {log.path}")
    walk = _Walk(trust)
    lines = log.path.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        bad = walk.check(line, index)
        if bad:
            return Verdict(False, index, walk.checkpoints, bad, index + 1, walk.log_id)
    verdict = Verdict(True, len(lines), walk.checkpoints, log_id=walk.log_id, hashes=walk.hashes)
    verdict.unauthenticated = walk.unauthenticated
    head = log.read_head()
    size = 0
    if head is None:
        if require_head or walk.checkpoints:
            return _fail(
                verdict,
                f"{log.head_path} is missing or unreadable: the end of the log cannot be checked",
            )
    else:
        problem = check_head(head, walk.log_id, walk.hashes, trust)
        if problem:
            return _fail(verdict, f"the signed head {log.head_path} {problem}")
        size = int(head["size"])
    for number, witness in enumerate(witnesses or [], start=1):
        problem = check_witness(witness, walk.log_id, walk.hashes, trust)
        if problem:
            return _fail(verdict, f"witnessed head {number} {problem}")
    verdict.tail = _tail(lines[size:], size)
    return verdict


def check_witness(witness: object, log_id: str | None, hashes: list[str], trust: Trust) -> str:
    head = witness.get("head") if isinstance(witness, dict) and "head" in witness else witness
    return check_head(head, log_id, hashes, trust)


def _fail(verdict: Verdict, problem: str) -> Verdict:
    verdict.ok, verdict.problem = False, problem
    return verdict


def _tail(lines: list[str], first: int) -> Tail:
    entries = [json.loads(line) for line in lines]
    runs = sorted({str(e["run_id"]) for e in entries if e.get("run_id")})
    signers = Counter(
        ("user " + str(e["grant"].get("user")))
        if e.get("signer") and isinstance(e.get("grant"), dict)
        else (e.get("signer") or "nobody (unauthenticated)")
        for e in entries
    )
    return Tail(
        first, len(entries), dict(Counter(e["event"] for e in entries)), runs, dict(signers)
    )


def read_entries(folder: Path) -> list[dict]:
    path = AuditLog(folder).path
    if not path.exists():
        raise AuditError(f"no audit log at {path}. Fix: run the pipeline first, or pass --data-dir")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def revoked_grants(folder: Path, approvers: dict[str, tuple[str, Ed25519PublicKey]]) -> set[str]:
    """Ids of grants a trusted approver revoked, from signed `grant_revoked` entries of the log
    (the log, not a file beside the grants, is the record: deleting an entry breaks the chain)."""
    path = AuditLog(folder).path
    if not path.exists():
        return set()
    revoked, log_id = set(), None
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if number == 0:
                log_id = entry.get("log_id")
            if entry.get("event") != "grant_revoked":
                continue
            approver = approvers.get(str(entry.get("signer")))
            if approver and sig.verifies(
                approver[1], entry.get("sig"), "audit-entry", log_id, body_digest(entry)
            ):
                revoked.add(str(entry.get("grant_id")))
    return revoked
