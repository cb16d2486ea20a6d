"""DWP: Universal Credit claims."""

from schemas import identity as ident
from schemas.contract import Column, Extract, Partner

REGIMES = (
    "intensive_work_search",
    "light_touch",
    "working_enough",
    "work_preparation",
    "work_focused_interview",
    "no_work_requirements",
)
ISO = "%Y-%m-%d"

UC_CLAIMS = Extract(
    partner="dwp",
    name="uc_claims",
    file="uc_claims.csv",
    description="Universal Credit claims with conditionality regime (CSV, pipe-delimited).",
    event_date="claim_start",
    delimiter="|",
    columns=(
        ident.record_ref("claim"),
        Column("claim_start", "date", "Date the claim started.", required=True, date_format=ISO),
        Column("claim_end", "date", "Date the claim ended; empty while open.", date_format=ISO),
        Column(
            "regime",
            "str",
            "Conditionality regime at the latest assessment.",
            required=True,
            allowed=REGIMES,
        ),
        ident.yes_no(
            "limited_capability_for_work",
            "Assessed as having limited capability for work (LCW or LCWRA).",
            "special",
        ),
        Column(
            "nino",
            "str",
            "National Insurance number.",
            required=True,
            identity="nino",
            format="nino",
        ),
        ident.forename(),
        ident.surname(),
        ident.date_of_birth(ISO),
        ident.postcode(),
    ),
)

PARTNER = Partner("dwp", "Department for Work and Pensions: Universal Credit.", (UC_CLAIMS,))
