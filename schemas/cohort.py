"""The cohort table contract: one row per linked person, pseudonymous, coarse only."""

from schemas.contract import Column

# Defaults of a run (`mcn run --lookback-days`, `--threshold`), declared once.
DEFAULT_LOOKBACK_DAYS = 365
DEFAULT_MCN_THRESHOLD = 2

# The need domains: one `need_<name>` column each. Need rules name one of these (checked
# before any partner is read).
NEEDS = (
    "homelessness",
    "offending",
    "substance_misuse",
    "mental_health",
    "domestic_abuse",
    "worklessness",
)

COLUMNS = (
    Column(
        "person_id",
        "str",
        "Pseudonymous person id, stable while the person's linked records are unchanged.",
        required=True,
    ),
    *(
        Column(
            f"need_{n}",
            "bool",
            f"Has a {n.replace('_', ' ')} event within the lookback.",
            required=True,
        )
        for n in NEEDS
    ),
    Column("need_count", "int", "Number of need domains flagged.", required=True),
    Column(
        "mcn_flag",
        "bool",
        f"need_count is at least the MCN threshold (default {DEFAULT_MCN_THRESHOLD}).",
        required=True,
    ),
    Column("first_need_date", "date", "Earliest need event inside the lookback."),
    Column("last_need_date", "date", "Latest need event inside the lookback."),
    Column("n_records", "int", "Records linked to the person.", required=True),
    Column("n_partners", "int", "Partners holding a record of the person.", required=True),
    Column("partners", "str", "Those partners, comma-separated.", required=True),
    Column("age_band", "str", "Age band at the run date (most common across records)."),
    Column("postcode_district", "str", "Postcode district of the latest record."),
    Column(
        "link_rank",
        "int",
        "Strongest match-key rank that linked the person's records "
        "(1 = NHS number or NINO); empty for a single record.",
    ),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
# Columns a default analyst's count may be grouped by (governance.output_check): coarse ones
# only, never the person key or a date.
GROUPABLE = tuple(c.name for c in COLUMNS if c.dtype != "date" and c.name != "person_id")
