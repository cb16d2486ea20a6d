"""Probation: supervision episodes of people on licence or community orders, with OASys-style
assessed criminogenic needs."""

from schemas import identity as ident
from schemas.contract import Category, Column, Extract, Partner

ORDER_TYPES = (
    "licence",
    "post_sentence_supervision",
    "community_order",
    "suspended_sentence_order",
)
# Case allocation tier: risk of serious harm A (highest) to D, and change factors 0 to 3.
TIERS = tuple(f"{r}{c}" for r in "ABCD" for c in "0123")
# The OASys criminogenic need areas, each assessed as linked to offending (Y) or not (N).
CRIMINOGENIC_NEEDS: tuple[tuple[str, str, Category], ...] = (
    ("need_accommodation", "Accommodation", "criminal_offence"),
    ("need_ete", "Education, training and employability", "criminal_offence"),
    ("need_finance", "Financial management and income", "criminal_offence"),
    ("need_relationships", "Relationships", "criminal_offence"),
    ("need_lifestyle", "Lifestyle and associates", "criminal_offence"),
    ("need_drugs", "Drug misuse", "special"),
    ("need_alcohol", "Alcohol misuse", "special"),
    ("need_thinking_behaviour", "Thinking and behaviour", "criminal_offence"),
    ("need_attitudes", "Attitudes", "criminal_offence"),
)
ISO = "%Y-%m-%d"

SUPERVISION = Extract(
    partner="probation",
    name="supervision_episodes",
    file="supervision_episodes.csv",
    description=(
        "Supervision episodes on licence or a community or suspended sentence order, with the "
        "latest OASys-style assessment (CSV, comma, UTF-8, ISO dates)."
    ),
    event_date="start_date",
    columns=(
        ident.record_ref("supervision episode"),
        Column(
            "crn",
            "str",
            "Case reference number (CRN): the probation service's own id for the person, a "
            "letter and six digits.",
            required=True,
            identity="other_id",
        ),
        Column("start_date", "date", "Date supervision started.", required=True, date_format=ISO),
        Column("end_date", "date", "Date supervision ended; empty while open.", date_format=ISO),
        Column(
            "order_type",
            "str",
            "What the person is supervised under.",
            required=True,
            allowed=ORDER_TYPES,
            category="criminal_offence",
        ),
        Column(
            "tier",
            "str",
            "Case allocation tier (A0-D3).",
            allowed=TIERS,
            category="criminal_offence",
        ),
        *(
            ident.yes_no(name, f"OASys need area linked to offending: {what}.", category)
            for name, what, category in CRIMINOGENIC_NEEDS
        ),
        Column(
            "pnc_id",
            "str",
            "PNC-style id (the national criminal records system's person id, e.g. "
            "2019/0123456A), when recorded.",
            category="criminal_offence",
        ),
        ident.nhs_number(required=False),
        ident.forename(),
        ident.surname(),
        ident.date_of_birth(ISO),
        ident.sex("M", "F", "U"),
        ident.postcode(),
    ),
)

PARTNER = Partner(
    "probation",
    "Probation Service: supervision on licence and community orders, assessed needs.",
    (SUPERVISION,),
)
