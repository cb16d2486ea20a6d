"""NHS records' qualifying events: treatment, A&E attendances and mental-health referrals."""

import polars as pl

from transforms.needs import ANY, Event
from transforms.service_use import UseRule

EVENTS = (
    Event(
        "drug_alcohol_treatment", "treatment_episodes", ANY, "any drug or alcohol treatment episode"
    ),
    Event(
        "ae_alcohol_or_drugs",
        "ae_attendances",
        pl.col("alcohol_related") | pl.col("drug_related"),
        "A&E attendance related to alcohol or drugs",
    ),
    Event(
        "mental_health_referral",
        "mh_referrals",
        ANY,
        "any referral to secondary mental-health services",
    ),
    Event("ae_self_harm", "ae_attendances", pl.col("self_harm"), "A&E attendance for self-harm"),
)

SERVICE_USE = (
    UseRule("ae_attendance", "ae_attendances", ANY, "an A&E attendance"),
    UseRule("mh_referral", "mh_referrals", ANY, "a referral to secondary mental-health services"),
    UseRule("treatment_episode", "treatment_episodes", ANY, "a drug or alcohol treatment episode"),
)
