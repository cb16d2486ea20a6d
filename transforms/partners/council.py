"""Council records' qualifying events: homelessness decisions and adult social care contacts."""

import polars as pl

from schemas.partners.council import DUTY_TYPES
from transforms.needs import ANY, Event
from transforms.service_use import UseRule

EVENTS = (
    Event(
        "homelessness_case",
        "homelessness_cases",
        ANY,
        "any homelessness prevention, relief or main duty decision",
    ),
    Event(
        "homeless_due_to_domestic_abuse",
        "homelessness_cases",
        pl.col("reason") == "domestic_abuse",
        "homeless because of domestic abuse",
    ),
    Event(
        "social_care_substance_misuse",
        "social_care_contacts",
        pl.col("contact_reason") == "substance_misuse_support",
        "adult social care contact for substance misuse",
    ),
    Event(
        "social_care_mental_health",
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
