"""Council: homelessness cases and adult social care contacts."""

from schemas import identity as ident
from schemas.contract import Column, Extract, Partner

DUTY_TYPES = ("prevention", "relief", "main")
HOMELESS_REASONS = (
    "family_or_friends_evicted",
    "end_of_private_tenancy",
    "domestic_abuse",
    "prison_release",
    "hospital_discharge",
    "relationship_breakdown",
    "rough_sleeping",
    "other",
)
CONTACT_REASONS = (
    "mental_health_support",
    "substance_misuse_support",
    "physical_support",
    "safeguarding",
    "carer_support",
    "other",
)
UK_DATE = "%d/%m/%Y"


HOMELESSNESS = Extract(
    partner="council",
    name="homelessness_cases",
    file="homelessness_cases.csv",
    description="Homelessness assessments and duties (H-CLIC-like, CSV with BOM).",
    event_date="decision_date",
    columns=(
        ident.record_ref("homelessness case"),
        Column(
            "decision_date",
            "date",
            "Date the duty was decided.",
            required=True,
            date_format=UK_DATE,
        ),
        Column(
            "duty_type",
            "str",
            "Duty owed: prevention, relief or main duty.",
            required=True,
            allowed=DUTY_TYPES,
        ),
        Column(
            "reason",
            "str",
            "Main reason for loss or threat of loss of home.",
            required=True,
            allowed=HOMELESS_REASONS,
        ),
        ident.yes_no(
            "support_need_mental_health", "Household member has a mental-health need.", "special"
        ),
        ident.yes_no(
            "support_need_substance", "Household member has a drug or alcohol need.", "special"
        ),
        *ident.person(False, UK_DATE, ("M", "F", "U")),
    ),
)

SOCIAL_CARE = Extract(
    partner="council",
    name="social_care_contacts",
    file="social_care_contacts.csv",
    description="Adult social care contacts (CSV with BOM).",
    event_date="contact_date",
    national_data_opt_out=True,
    columns=(
        ident.record_ref("contact"),
        Column("contact_date", "date", "Date of the contact.", required=True, date_format=UK_DATE),
        Column(
            "contact_reason",
            "str",
            "Reason for the contact.",
            required=True,
            allowed=CONTACT_REASONS,
            category="special",
        ),
        *ident.person(False, UK_DATE, ("M", "F", "U")),
    ),
)

PARTNER = Partner(
    "council", "Local authority housing and adult social care.", (HOMELESSNESS, SOCIAL_CARE)
)
