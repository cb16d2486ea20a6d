"""The data-flow map: for every source column of every partner, its treatment and every output
column it reaches (staged, vault, published links and cohort)."""

from __future__ import annotations

from dataclasses import dataclass

from governance.agreement import Generalise, Policy
from governance.match_keys import applicable, token_column
from schemas.contract import Extract
from schemas.registry import partner
from transforms.framework import load, shipped
from transforms.service_use import use_rules

LINKED = (
    "links.person_id",
    "links.link_rank",
    "cohort.person_id",
    "cohort.link_rank",
    "service_use.person_id",
)


@dataclass(frozen=True)
class Flow:
    partner: str
    extract: str
    column: str
    treatment: str
    staged: tuple[str, ...]
    published: tuple[str, ...]


def _treatment_text(t) -> str:
    return f"generalise:{t.generalise}" if isinstance(t, Generalise) else t


def _needs_using(ex: Extract, column: str) -> list[str]:
    out = []
    rules = [r for name in shipped() for r in load(name).rules()]
    for rule in rules:
        if (rule.partner, rule.extract) != (ex.partner, ex.name):
            continue
        if column in rule.event.columns or column == ex.event_date:
            out.append(f"cohort.need_{rule.need}")
    return sorted(set(out))


def _uses_using(ex: Extract, column: str) -> list[str]:
    """The service-use columns a staged column feeds (event types by their conditions, months
    by the event date)."""
    out = []
    for rule in use_rules():
        if (rule.partner, rule.extract) != (ex.partner, ex.name):
            continue
        if column in rule.columns:
            out.append("service_use.event_type")
        if column == ex.event_date:
            out.append("service_use.month")
    return sorted(set(out))


def column_flow(policy: Policy, ex: Extract, column: str) -> Flow:
    treatments = policy.treatments(ex.name, column)
    role = ex.column(column).identity
    staged, published = [], []
    roles = {r for c in policy.kept(ex.name, "pseudonymise") if (r := ex.column(c).identity)}
    for t in treatments:
        if t == "keep":
            staged.append(f"staged.{column}")
            published += _needs_using(ex, column) + _uses_using(ex, column)
            if column == ex.event_date:
                published += [
                    "cohort.first_need_date",
                    "cohort.last_need_date",
                    "cohort.postcode_district (latest record)",
                ]
            if role == "sex":
                published.append("cohort.sex")
            if column == "record_ref":
                staged.append("staged.record_key")
                published += ["links.record_ref", "links.record_key"]
        elif t == "pseudonymise" and role:
            staged += [f"staged.{token_column(k)}" for k in applicable(roles) if role in k.roles]
            published += LINKED
            if policy.agreement.reidentification:
                staged.append("vault.sealed (AES-SIV)")
        elif isinstance(t, Generalise):
            name = "age_band" if t.generalise == "age_band" else t.generalise
            staged.append(f"staged.{name}")
            if name in ("age_band", "postcode_district"):
                published.append(f"cohort.{name}")
    text = ", ".join(_treatment_text(t) for t in treatments) or "not named (dropped)"
    return Flow(
        ex.partner,
        ex.name,
        column,
        text,
        tuple(dict.fromkeys(staged)),
        tuple(dict.fromkeys(published)),
    )


def data_flow_map(policies: dict[str, Policy]) -> list[Flow]:
    return [
        column_flow(policy, ex, col)
        for name, policy in policies.items()
        for ex in partner(name).extracts
        for col in ex.column_names
    ]
