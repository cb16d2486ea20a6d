"""The agreement register: every data-sharing agreement, its parties, dates, status and signatures.

Pure: built from loaded policies and what their signature files say (governance.signing). A
scheduler runs `mcn ig register` and alerts on a non-zero exit; the nightly flow puts the same
warnings in its summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from governance.agreement import Policy

# Statuses, most urgent first. BLOCKING ones stop the partner's ingest tonight.
EXPIRED, UNSIGNED, STALE = "expired", "unsigned", "signature stale"
NOT_YET, EXPIRING, REVIEW_OVERDUE, REVIEW_DUE = (
    "not yet in force",
    "expiring",
    "review overdue",
    "review due",
)
IN_FORCE = "in force"
BLOCKING = frozenset({EXPIRED, UNSIGNED, STALE, NOT_YET})
DEFAULT_WINDOW_DAYS = 60


@dataclass(frozen=True)
class Signatures:
    """What a policy's signature file says about its current text."""

    signers: tuple[dict, ...] = ()  # valid signatures on the current text
    problem_code: str | None = None  # POL03x when not in force by signature
    problem: str = ""


@dataclass
class Entry:
    partner: str
    policy: Policy
    signatures: Signatures
    statuses: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.statuses[0] if self.statuses else IN_FORCE

    @property
    def blocking(self) -> bool:
        return any(s in BLOCKING for s in self.statuses)


def date_statuses(policy: Policy, on: dt.date, window: int) -> list[str]:
    a, soon = policy.agreement, on + dt.timedelta(days=window)
    out = []
    if on > a.valid_to:
        out.append(EXPIRED)
    elif on < a.valid_from:
        out.append(NOT_YET)
    elif a.valid_to <= soon:
        out.append(f"{EXPIRING} {a.valid_to} (within {window} days)")
    if on <= a.valid_to and a.review_date < on:
        out.append(f"{REVIEW_OVERDUE} since {a.review_date}")
    elif on <= a.valid_to and a.review_date <= soon:
        out.append(f"{REVIEW_DUE} {a.review_date} (within {window} days)")
    return out


def signature_statuses(sigs: Signatures) -> list[str]:
    if sigs.problem_code is None:
        return []
    return [STALE if sigs.problem_code == "POL031" else UNSIGNED]


def entry(partner: str, policy: Policy, sigs: Signatures, on: dt.date, window: int) -> Entry:
    found = date_statuses(policy, on, window) + signature_statuses(sigs)
    order = [EXPIRED, UNSIGNED, STALE, NOT_YET, EXPIRING, REVIEW_OVERDUE, REVIEW_DUE]
    found.sort(key=lambda s: next(i for i, o in enumerate(order) if s.startswith(o)))
    return Entry(partner, policy, sigs, found)


def warnings(entries: list[Entry]) -> list[str]:
    """One line per agreement that needs attention (no personal data: names, dates, codes)."""
    return [
        f"{e.partner} {e.policy.agreement.id}: {'; '.join(e.statuses)}"
        + (f" ({e.signatures.problem_code})" if e.signatures.problem_code else "")
        for e in entries
        if e.statuses
    ]


HEADER = [
    "partner",
    "agreement",
    "status",
    "parties",
    "lawful basis and conditions",
    "valid from",
    "valid to",
    "review date",
    "signatures",
]


def signed_text(sigs: Signatures) -> str:
    done = "; ".join(
        f"{s['approver']} ({s['key_id']}) for {', '.join(s.get('parties', []))} at {s['signed_at']}"
        for s in sigs.signers
    )
    if sigs.problem_code:
        return (done + "; " if done else "") + f"{sigs.problem_code}: {sigs.problem}"
    return done


def row(e: Entry) -> list[str]:
    a = e.policy.agreement
    conditions = [a.lawful_basis, a.special_category_condition, a.criminal_offence_condition]
    return [
        e.partner,
        f"{a.id}: {a.title}",
        "; ".join(e.statuses) or IN_FORCE,
        "; ".join(f"{p.name} ({p.role})" for p in a.parties),
        "; ".join(c for c in conditions if c),
        str(a.valid_from),
        str(a.valid_to),
        str(a.review_date),
        signed_text(e.signatures),
    ]
