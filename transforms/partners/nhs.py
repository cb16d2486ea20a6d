"""NHS records' qualifying events: treatment, A&E attendances and mental-health referrals."""

import polars as pl

from transforms.needs import ANY, Event

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
