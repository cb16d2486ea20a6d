"""The record of processing activities (UK GDPR Article 30(1)), built from what is declared.

One row per processing activity: an agreement and one extract it covers. Controllers and
contacts, purposes, lawful basis and conditions come from the agreement; categories of personal
data from the contract's column roles, with Article 9 special category and Article 10 criminal
offence data flagged by the contract's `category` (never typed again here); retention from the
agreement; security measures from the security documentation (passed in). Column order follows
the ICO's documentation template (controller sheet).
"""

from __future__ import annotations

from governance.agreement import Policy
from schemas.contract import Column, Extract, Partner

IDENTITY_WORDS = {
    "forename": "forename",
    "surname": "surname",
    "dob": "date of birth",
    "sex": "sex",
    "postcode": "postcode",
    "address": "address",
    "nhs_number": "NHS number",
    "nino": "National Insurance number",
    "other_id": "other reference number",
}
CATEGORY_WORDS = {
    "special": "Special category data (Article 9: health)",
    "criminal_offence": "Criminal offence data (Article 10)",
}
HEADER = [
    "Business function",
    "Processing activity",
    "Purpose of processing",
    "Name and contact details of controller and joint controllers",
    "Categories of individuals",
    "Categories of personal data",
    "Special category data (Article 9)",
    "Criminal offence data (Article 10)",
    "Categories of recipients",
    "Transfers to third countries or international organisations",
    "Retention schedule",
    "General description of technical and organisational security measures",
    "Article 6 lawful basis",
    "Article 9 condition",
    "Article 10 condition",
    "Legal gateway",
    "Source of personal data",
]


def _describe(col: Column, policy: Policy, ex: Extract) -> str:
    what = IDENTITY_WORDS.get(col.identity or "", col.description.rstrip("."))
    fate = ", ".join(
        t if isinstance(t, str) else f"generalised to {t.generalise}"
        for t in policy.treatments(ex.name, col.name)
    )
    return f"{what} ({col.name}: {fate or 'dropped'})"


def personal_data(ex: Extract, policy: Policy) -> tuple[str, str, str]:
    """(identifiers and other data, special category, criminal offence) of an extract."""
    ident = [c for c in ex.columns if c.identity]
    other = [c for c in ex.columns if not c.identity and not c.category]
    by_cat = {k: [c for c in ex.columns if c.category == k] for k in CATEGORY_WORDS}
    general = []
    if ident:
        general.append("Identifiers: " + "; ".join(_describe(c, policy, ex) for c in ident))
    if other:
        general.append("Event details: " + "; ".join(_describe(c, policy, ex) for c in other))
    flagged = [
        f"{CATEGORY_WORDS[k]}: " + "; ".join(_describe(c, policy, ex) for c in cols)
        if cols
        else "none"
        for k, cols in by_cat.items()
    ]
    return " | ".join(general), flagged[0], flagged[1]


def controllers(policy: Policy) -> str:
    return "; ".join(
        f"{p.name} ({'joint controller, ' if p.role != 'processor' else ''}{p.role}): "
        f"{p.contact.name}, {p.contact.email}"
        for p in policy.agreement.parties
    )


def recipients(policy: Policy) -> str:
    named = [f"{p.name} ({p.role})" for p in policy.agreement.parties if p.role != "provider"]
    return "; ".join(named) + (
        "; partnership analysts under signed grants see pseudonymised, disclosure-controlled "
        "outputs only"
    )


def retention(policy: Policy) -> str:
    r = policy.agreement.retention
    return (
        f"raw identifiable drops (landing) {r.landing} days; quarantined raw rows "
        f"{r.quarantine} days; pseudonymised staged rows {r.staged} days; re-identification "
        f"vault {r.vault} days"
    )


def activity(partner: Partner, ex: Extract, policy: Policy, measures: str) -> list[str]:
    a = policy.agreement
    general, special, criminal = personal_data(ex, policy)
    return [
        partner.description,
        f"{a.id} / {partner.name}.{ex.name}: {ex.description}",
        a.purpose,
        controllers(policy),
        f"People recorded by {partner.name} in {ex.name} ({ex.description.split(' (')[0]})",
        general,
        special,
        criminal,
        recipients(policy),
        a.international_transfers,
        retention(policy),
        measures,
        a.lawful_basis,
        a.special_category_condition or "not applicable",
        a.criminal_offence_condition or "not applicable",
        a.legal_gateway,
        f"{', '.join(p.name for p in a.parties if p.role == 'provider')} ({ex.file})",
    ]


def record(policies: dict[str, Policy], partners: list[Partner], measures: str) -> list[list]:
    """Every Article 30(1) row: one per agreement and extract."""
    return [
        activity(p, ex, policies[p.name], measures)
        for p in partners
        if p.name in policies
        for ex in p.extracts
    ]
