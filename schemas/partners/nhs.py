"""NHS: A&E attendances, mental-health referrals, drug and alcohol treatment episodes."""

from schemas import identity as ident
from schemas.contract import Column, Extract, Partner

MH_REASONS = (
    "psychosis",
    "depression",
    "anxiety",
    "self_harm",
    "eating_disorder",
    "personality_disorder",
    "other",
)
SUBSTANCES = ("opiates", "non_opiates", "alcohol", "alcohol_and_non_opiates")
ISO = "%Y-%m-%d"
# ECDS person stated gender: 1 male, 2 female, 9 indeterminate, X not known.
SEX_CODES = ("1", "2", "9", "X")


AE = Extract(
    partner="nhs",
    name="ae_attendances",
    file="ae_attendances.parquet",
    description="Emergency department attendances (ECDS-like, Parquet).",
    event_date="arrival_date",
    national_data_opt_out=True,
    columns=(
        ident.record_ref("attendance"),
        Column("arrival_date", "date", "Date of arrival at A&E.", required=True, date_format=ISO),
        ident.yes_no("alcohol_related", "Attendance related to alcohol.", "special"),
        ident.yes_no("drug_related", "Attendance related to drug use.", "special"),
        ident.yes_no("self_harm", "Attendance for self-harm.", "special"),
        *ident.person(True, ISO, SEX_CODES),
    ),
)

MH = Extract(
    partner="nhs",
    name="mh_referrals",
    file="mh_referrals.parquet",
    description="Referrals to secondary mental-health services (MHSDS-like, Parquet).",
    event_date="referral_date",
    national_data_opt_out=True,
    columns=(
        ident.record_ref("referral"),
        Column(
            "referral_date",
            "date",
            "Date the referral was received.",
            required=True,
            date_format=ISO,
        ),
        Column(
            "primary_reason",
            "str",
            "Primary reason for referral.",
            required=True,
            allowed=MH_REASONS,
            category="special",
        ),
        *ident.person(True, ISO, SEX_CODES),
    ),
)

TREATMENT = Extract(
    partner="nhs",
    name="treatment_episodes",
    file="treatment_episodes.parquet",
    description="Drug and alcohol treatment episodes (NDTMS-like, Parquet).",
    event_date="triage_date",
    national_data_opt_out=True,
    columns=(
        ident.record_ref("treatment episode"),
        Column(
            "triage_date", "date", "Date of triage into treatment.", required=True, date_format=ISO
        ),
        Column(
            "substance",
            "str",
            "Main problem substance group.",
            required=True,
            allowed=SUBSTANCES,
            category="special",
        ),
        Column(
            "discharge_date",
            "date",
            "Date of discharge; empty while in treatment.",
            date_format=ISO,
        ),
        *ident.person(True, ISO, SEX_CODES),
    ),
)

PARTNER = Partner("nhs", "NHS trusts and treatment providers.", (AE, MH, TREATMENT))
