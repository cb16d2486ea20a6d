"""Police records' qualifying events: offending, domestic abuse, anti-social behaviour."""

import polars as pl

from schemas.partners.police import ROLES
from transforms.needs import Event
from transforms.service_use import UseRule

EVENTS = (
    Event(
        "crime_suspect_or_offender",
        "crimes",
        pl.col("role").is_in(["suspect", "offender"]),
        "recorded as suspect or offender in a crime",
    ),
    Event(
        "domestic_abuse_victim",
        "crimes",
        pl.col("domestic_abuse") & (pl.col("role") == "victim"),
        "victim in a domestic abuse flagged crime or incident",
    ),
    Event(
        "domestic_abuse_incident",
        "crimes",
        pl.col("domestic_abuse"),
        "involved in any role in a domestic abuse flagged crime or incident",
    ),
    Event(
        "anti_social_behaviour",
        "crimes",
        pl.col("anti_social_behaviour") & pl.col("role").is_in(["suspect", "offender"]),
        "suspect or offender in an incident flagged as anti-social behaviour",
    ),
)

# Crimes by the person's role: a suspect's or offender's crime costs more than a witness's.
SERVICE_USE = tuple(
    UseRule(f"crime_{role}", "crimes", pl.col("role") == role, f"a crime or incident, as {role}")
    for role in ROLES
)
