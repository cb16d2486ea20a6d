"""Police: recorded crimes and incidents, one row per person involved."""

from schemas import identity as ident
from schemas.contract import Column, Extract, Partner

OFFENCE_CATEGORIES = (
    "violence_against_the_person",
    "sexual_offences",
    "robbery",
    "theft",
    "burglary",
    "criminal_damage",
    "drug_offences",
    "public_order",
    "possession_of_weapons",
    "other",
)
ROLES = ("suspect", "offender", "victim", "witness")

CRIMES = Extract(
    partner="police",
    name="crimes",
    file="crimes.csv",
    description="Crimes and incidents with each person's role (CSV, comma, UTF-8, dd/mm/yyyy).",
    event_date="event_date",
    columns=(
        ident.record_ref("crime or incident and person"),
        Column(
            "event_date",
            "date",
            "Date the crime or incident happened.",
            required=True,
            date_format="%d/%m/%Y",
        ),
        Column(
            "offence_category",
            "str",
            "Home Office offence group.",
            required=True,
            allowed=OFFENCE_CATEGORIES,
            category="criminal_offence",
        ),
        Column(
            "role",
            "str",
            "The person's role in the crime or incident.",
            required=True,
            allowed=ROLES,
            category="criminal_offence",
        ),
        ident.yes_no("domestic_abuse", "Flagged as a domestic abuse incident.", "criminal_offence"),
        ident.yes_no(
            "anti_social_behaviour", "Flagged as anti-social behaviour.", "criminal_offence"
        ),
        ident.forename(),
        ident.surname(),
        ident.date_of_birth("%d/%m/%Y"),
        ident.sex("M", "F", "U"),
        ident.postcode(),
    ),
)

PARTNER = Partner("police", "Police force: crimes and incidents.", (CRIMES,))
