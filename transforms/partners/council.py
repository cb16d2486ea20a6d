"""Council records' need rules: homelessness, domestic abuse, substance misuse, mental health."""

import polars as pl

from schemas.partners.council import DUTY_TYPES
from transforms.needs import ANY, NeedRule
from transforms.service_use import UseRule

NEED_RULES = (
    NeedRule(
        "homelessness",
        "homelessness_cases",
        ANY,
        "any homelessness prevention, relief or main duty decision",
    ),
    NeedRule(
        "domestic_abuse",
        "homelessness_cases",
        pl.col("reason") == "domestic_abuse",
        "homeless because of domestic abuse",
    ),
    NeedRule(
        "substance_misuse",
        "social_care_contacts",
        pl.col("contact_reason") == "substance_misuse_support",
        "adult social care contact for substance misuse",
    ),
    NeedRule(
        "mental_health",
        "social_care_contacts",
        pl.col("contact_reason") == "mental_health_support",
        "adult social care contact for mental-health support",
    ),
)

SERVICE_USE = (
    *(
        UseRule(
            f"homelessness_{duty}",
            "homelessness_cases",
            pl.col("duty_type") == duty,
            f"a homelessness {duty} duty decision",
        )
        for duty in DUTY_TYPES
    ),
    UseRule("social_care_contact", "social_care_contacts", ANY, "an adult social care contact"),
)
