"""The cohort table contract: one row per linked person, pseudonymous, coarse only."""

from schemas.contract import Column

# The usual need lookback (the synthetic data's need window; mcn-default's, a spec test says).
# A run's lookback and threshold are its needs framework's (transforms/frameworks/*.yaml).
DEFAULT_LOOKBACK_DAYS = 365

# The need domains: one `need_<name>` column each. A framework's needs are these domains
# under its own labels (checked before any partner is read); domains it does not use are false.
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
        "need_count is at least the needs framework's threshold.",
        required=True,
    ),
    Column("first_need_date", "date", "Earliest need event inside the lookback."),
    Column("last_need_date", "date", "Latest need event inside the lookback."),
    Column("n_records", "int", "Records linked to the person.", required=True),
    Column("n_partners", "int", "Partners holding a record of the person.", required=True),
    Column("partners", "str", "Those partners, comma-separated.", required=True),
    Column("age_band", "str", "Age band at the run date (most common across records)."),
    Column("sex", "str", "F or M, the most common across records; empty when none says."),
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
