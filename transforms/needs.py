"""Need definitions: which partner events flag which need domain, within a lookback window.

Definitions are versioned (NEEDS_VERSION is written with every cohort) so a change in how a
need is defined shows in the audit trail and in the figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from schemas.registry import partner

NEEDS_VERSION = "needs-v1"
DEFAULT_LOOKBACK_DAYS = 365
OUT_OF_WORK_REGIMES = (
    "intensive_work_search",
    "no_work_requirements",
    "work_preparation",
    "work_focused_interview",
)


@dataclass(frozen=True)
class NeedRule:
    need: str
    partner: str
    extract: str
    condition: pl.Expr
    description: str


Y = pl.lit(True)
NEED_RULES: tuple[NeedRule, ...] = (
    NeedRule(
        "homelessness",
        "council",
        "homelessness_cases",
        Y,
        "any homelessness prevention, relief or main duty decision",
    ),
    NeedRule(
        "offending",
        "police",
        "crimes",
        pl.col("role").is_in(["suspect", "offender"]),
        "recorded as suspect or offender in a crime",
    ),
    NeedRule(
        "domestic_abuse",
        "police",
        "crimes",
        pl.col("domestic_abuse") & (pl.col("role") == "victim"),
        "victim in a domestic abuse flagged crime or incident",
    ),
    NeedRule(
        "domestic_abuse",
        "council",
        "homelessness_cases",
        pl.col("reason") == "domestic_abuse",
        "homeless because of domestic abuse",
    ),
    NeedRule(
        "substance_misuse", "nhs", "treatment_episodes", Y, "any drug or alcohol treatment episode"
    ),
    NeedRule(
        "substance_misuse",
        "nhs",
        "ae_attendances",
        pl.col("alcohol_related") | pl.col("drug_related"),
        "A&E attendance related to alcohol or drugs",
    ),
    NeedRule(
        "substance_misuse",
        "council",
        "social_care_contacts",
        pl.col("contact_reason") == "substance_misuse_support",
        "adult social care contact for substance misuse",
    ),
    NeedRule(
        "mental_health",
        "nhs",
        "mh_referrals",
        Y,
        "any referral to secondary mental-health services",
    ),
    NeedRule(
        "mental_health",
        "nhs",
        "ae_attendances",
        pl.col("self_harm"),
        "A&E attendance for self-harm",
    ),
    NeedRule(
        "mental_health",
        "council",
        "social_care_contacts",
        pl.col("contact_reason") == "mental_health_support",
        "adult social care contact for mental-health support",
    ),
    NeedRule(
        "worklessness",
        "dwp",
        "uc_claims",
        pl.col("regime").is_in(OUT_OF_WORK_REGIMES),
        "Universal Credit claim in an out-of-work conditionality regime",
    ),
)


def need_events(
    staged: dict[tuple[str, str], pl.LazyFrame],
    run_date: dt.date,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> pl.LazyFrame:
    """(record_key, need, event_date) for every qualifying event inside the lookback."""
    start = run_date - dt.timedelta(days=lookback_days)
    parts = []
    for rule in NEED_RULES:
        lf = staged.get((rule.partner, rule.extract))
        if lf is None:
            continue
        date_col = partner(rule.partner).extract(rule.extract).event_date
        parts.append(
            lf.filter(
                rule.condition.fill_null(False), pl.col(date_col).is_between(start, run_date)
            ).select(
                "record_key", pl.lit(rule.need).alias("need"), pl.col(date_col).alias("event_date")
            )
        )
    if not parts:
        return pl.LazyFrame(
            schema={"record_key": pl.String, "need": pl.String, "event_date": pl.Date}
        )
    return pl.concat(parts)
