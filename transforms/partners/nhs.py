"""NHS records' need rules: substance misuse and mental health."""

import polars as pl

from transforms.needs import ANY, NeedRule
from transforms.service_use import UseRule

NEED_RULES = (
    NeedRule(
        "substance_misuse", "treatment_episodes", ANY, "any drug or alcohol treatment episode"
    ),
    NeedRule(
        "substance_misuse",
        "ae_attendances",
        pl.col("alcohol_related") | pl.col("drug_related"),
        "A&E attendance related to alcohol or drugs",
    ),
    NeedRule(
        "mental_health", "mh_referrals", ANY, "any referral to secondary mental-health services"
    ),
    NeedRule(
        "mental_health", "ae_attendances", pl.col("self_harm"), "A&E attendance for self-harm"
    ),
)

SERVICE_USE = (
    UseRule("ae_attendance", "ae_attendances", ANY, "an A&E attendance"),
    UseRule("mh_referral", "mh_referrals", ANY, "a referral to secondary mental-health services"),
    UseRule("treatment_episode", "treatment_episodes", ANY, "a drug or alcohol treatment episode"),
)
