"""Every version of a policy that was in force for a run, from the audit log's ingest entries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Version:
    sha256: str
    agreement_id: str
    first_used: str
    last_used: str
    runs: int
    signers: str


def _signers(e: dict) -> str:
    listed = e.get("policy_signers") or []
    if listed:
        return "; ".join(
            f"{s['approver']} ({s['key_id']}) at {s.get('signed_at', '?')}" for s in listed
        )
    return f"{e.get('approved_by', '?')} ({e.get('approver_key_id', '?')})"


def versions_in_force(entries: list[dict], partner: str) -> list[Version]:
    """In order of first use; one row per policy text (SHA-256)."""
    seen: dict[str, Version] = {}
    runs: dict[str, set] = {}
    for e in entries:
        if e.get("event") not in ("ingest", "ingest_already_staged"):
            continue
        if e.get("partner") != partner or not e.get("policy_sha256"):
            continue
        sha, day = e["policy_sha256"], e["time"][:10]
        v = seen.setdefault(sha, Version(sha, e.get("agreement_id", ""), day, day, 0, _signers(e)))
        v.last_used = day
        runs.setdefault(sha, set()).add(e.get("run_id"))
        v.runs = len(runs[sha])
    return list(seen.values())
