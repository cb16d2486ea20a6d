"""DWP records' qualifying event: an out-of-work Universal Credit claim."""

import polars as pl

from transforms.needs import ANY, Event
from transforms.service_use import UseRule

OUT_OF_WORK_REGIMES = (
    "intensive_work_search",
    "no_work_requirements",
    "work_preparation",
    "work_focused_interview",
)

EVENTS = (
    Event(
        "out_of_work_benefit_claim",
        "uc_claims",
        pl.col("regime").is_in(OUT_OF_WORK_REGIMES),
        "Universal Credit claim in an out-of-work conditionality regime",
    ),
)

SERVICE_USE = (UseRule("uc_claim", "uc_claims", ANY, "a Universal Credit claim started"),)
