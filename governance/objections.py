"""Article 21 objections: a local list applied at every build exactly like the national opt-out.

`<data>/objections/objections.jsonl` holds one objection a line: an id, when it was recorded,
the linkage key id, the person's keyed tokens (governance.subject; never an identifier) and a
MAC under a key derived from the linkage key, so an insider without the key can neither add nor
alter a line. The count recorded in the audit log (`objection_recorded`) catches a removed line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from pathlib import Path

import polars as pl

from governance.errors import OptOutError
from governance.keys import SecretKey
from governance.pseudonymise import token_as

FILE = "objections.jsonl"


def _mac(entry: dict, key: SecretKey) -> str:
    secret = hmac.new(key.material(), b"mcn-objection-mac-v1", hashlib.sha256).digest()
    body = json.dumps({k: v for k, v in entry.items() if k != "mac"}, sort_keys=True)
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()


def new_entry(tokens: dict[str, str], key: SecretKey, when: dt.datetime) -> dict:
    entry = {
        "objection_id": "obj-" + secrets.token_hex(6),
        "recorded_at": when.isoformat(timespec="seconds"),
        "key_id": key.key_id,
        "tokens": dict(sorted(tokens.items())),
    }
    return {**entry, "mac": _mac(entry, key)}


def append(folder: Path, entry: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    path = folder / FILE
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
    return path


def load(folder: Path, key: SecretKey, expected: int = 0) -> list[dict]:
    """Every objection, each checked; OptOutError when one was altered, forged or removed."""
    path = folder / FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    fix = "Fix: restore objections.jsonl from backup; treat as a security incident"
    entries = []
    for n, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            ok = hmac.compare_digest(str(entry.get("mac")), _mac(entry, key))
        except ValueError:
            ok = False
        if not ok:
            raise OptOutError(f"objection list {path} line {n} was altered or forged. {fix}")
        entries.append(entry)
    if len(entries) < expected:
        raise OptOutError(
            f"objection list {path} holds {len(entries)} objections but the audit log recorded "
            f"{expected}: some were removed. {fix}"
        )
    return entries


def listed_records(records: pl.DataFrame, entries: list[dict]) -> pl.Series:
    """Record keys matching any objection's tokens (any one subject key is enough)."""
    hits = []
    for entry in entries:
        tests = [
            pl.col(c) == token_as(pl.lit(v), records[c].dtype)
            for c, v in entry["tokens"].items()
            if c in records.columns
        ]
        if tests:
            hits.append(pl.any_horizontal(tests))
    if not hits:
        return pl.Series("record_key", [], dtype=pl.String)
    return records.filter(pl.any_horizontal(hits).fill_null(False))["record_key"]


def recorded_count(audit_entries: list[dict]) -> int:
    return sum(1 for e in audit_entries if e.get("event") == "objection_recorded")
