"""Police records' need rules: offending and domestic abuse."""

import polars as pl

from schemas.partners.police import ROLES
from transforms.needs import NeedRule
from transforms.service_use import UseRule

NEED_RULES = (
    NeedRule(
        "offending",
        "crimes",
        pl.col("role").is_in(["suspect", "offender"]),
        "recorded as suspect or offender in a crime",
    ),
    NeedRule(
        "domestic_abuse",
        "crimes",
        pl.col("domestic_abuse") & (pl.col("role") == "victim"),
        "victim in a domestic abuse flagged crime or incident",
    ),
)

# Crimes by the person's role: a suspect's or offender's crime costs more than a witness's.
SERVICE_USE = tuple(
    UseRule(f"crime_{role}", "crimes", pl.col("role") == role, f"a crime or incident, as {role}")
    for role in ROLES
)
