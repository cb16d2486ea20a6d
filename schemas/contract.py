"""The shape of a data contract: declarations only, no I/O and no logic beyond lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DType = Literal["str", "date", "int", "bool"]
# The identity role a column plays in linkage. The pseudonymiser builds tokens from these roles,
# so partners may call their columns anything.
Identity = Literal[
    "forename", "surname", "dob", "sex", "postcode", "address", "nhs_number", "nino", "other_id"
]
Format = Literal["nhs_number", "nino", "postcode"]
# UK GDPR Article 9 special category data (here: health) and Article 10 criminal offence data.
# A policy that lets such a column through must record the condition it relies on.
Category = Literal["special", "criminal_offence"]
# Text encodings a CSV extract may be in (declared in the contract or the drop's manifest). All
# keep ASCII bytes as ASCII, so lines can be found before decoding: UTF-16 and UTF-32 cannot.
ENCODINGS = ("utf-8", "cp1252", "iso8859-1", "iso8859-15")
# The longest value any field may hold, in characters; a longer one is quarantined.
MAX_FIELD_CHARS = 1_000
# Partners' dates are dates in the UK: a date-time sent with a zone is read as its date here.
UK_TIME_ZONE = "Europe/London"
# No date in any extract is earlier than this; an earlier one is quarantined (OUT_OF_RANGE).
EARLIEST_DATE = "1900-01-01"
# Text that exports write for an empty field: pandas' read_csv default list (files have mostly
# been through pandas, R, Excel or a database export), with the other cases of NULL and None
# and C's "(null)". Compared exactly, after trimming spaces.
# `mcn linkage evaluate` reads them as blank by default; a partner's extract reads as blank only
# the ones its contract or manifest declares (`blank_values`), and a notice counts the others.
COMMON_BLANK_MARKERS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "(null)",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NONE",
    "NULL",
    "NaN",
    "None",
    "Null",
    "\\N",  # PostgreSQL COPY and MySQL SELECT ... INTO OUTFILE
    "n/a",
    "nan",
    "null",
)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: DType
    description: str
    required: bool = False
    identity: Identity | None = None
    format: Format | None = None
    allowed: tuple[str, ...] | None = None
    date_format: str | None = None
    category: Category | None = None


@dataclass(frozen=True)
class Extract:
    """One file kind a partner drops each night."""

    partner: str
    name: str
    file: str  # file name inside landing/<partner>/
    description: str
    columns: tuple[Column, ...]
    event_date: str  # the column that dates the event, for need lookbacks
    delimiter: str = ","
    encoding: str = "utf-8"  # one of ENCODINGS; a drop's manifest may declare another
    # Text the partner's export writes for an empty field (e.g. "NULL"): read as blank. A drop's
    # manifest may declare its own list instead (`files.<name>.blank_values`).
    blank_values: tuple[str, ...] = ()
    # Health and adult social care records: the national data opt-out applies to them.
    national_data_opt_out: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def identity_columns(self) -> dict[str, str]:
        """identity role -> column name."""
        return {c.identity: c.name for c in self.columns if c.identity}


@dataclass(frozen=True)
class Partner:
    name: str
    description: str
    extracts: tuple[Extract, ...] = field(default_factory=tuple)

    @property
    def national_data_opt_out(self) -> bool:
        """Does the national data opt-out apply to any extract this partner sends?"""
        return any(ex.national_data_opt_out for ex in self.extracts)

    def extract(self, name: str) -> Extract:
        for ex in self.extracts:
            if ex.name == name:
                return ex
        raise KeyError(name)
