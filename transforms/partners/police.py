"""Police records' need rules: offending and domestic abuse."""

import polars as pl

from transforms.needs import NeedRule

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
