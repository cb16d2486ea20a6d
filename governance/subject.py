"""One data subject's identifiers as the staged data carries them: keyed tokens, nothing else.

Used for subject access (Article 15) and objection (Article 21). The identifiers are read by the
CLI from a prompt or standard input (never the command line), canonicalised exactly as an
extract's would be, and tokenised under the linkage key; only the tokens leave this module, and
the frame holding the identifiers is dropped here.
"""

from __future__ import annotations

import polars as pl

from governance.keys import SecretKey
from governance.match_keys import MATCH_KEYS, RANK, key_named, plaintext, token_column
from governance.pseudonymise import hmac_tokens, with_working_fields
from schemas.contract import Column, Extract, Identity

# What an IG officer is asked for, in order, and the identity role each answers.
FIELDS: tuple[tuple[Identity, str], ...] = (
    ("nhs_number", "NHS number"),
    ("nino", "National Insurance number"),
    ("forename", "forename"),
    ("surname", "surname"),
    ("dob", "date of birth (YYYY-MM-DD)"),
    ("postcode", "postcode"),
)
# Keys that single one person out: a national number, or names with date of birth (and
# postcode). Field-level tokens (a surname alone, a year of birth) are never used to find anyone.
SUBJECT_KEYS = tuple(
    k.name
    for k in MATCH_KEYS
    if 1 <= k.rank <= RANK["mk3"] and set(k.roles) <= {role for role, _ in FIELDS}
)

_FORM = Extract(
    partner="subject",
    name="request",
    file="-",
    description="one data subject's identifiers",
    columns=tuple(
        Column(role, "str", label, identity=role, date_format="%Y-%m-%d" if role == "dob" else None)
        for role, label in FIELDS
    ),
    event_date="dob",
)


def subject_tokens(given: dict[str, str], key: SecretKey) -> dict[str, str]:
    """token column -> token for every subject key the given identifiers make."""
    roles = {r for r, v in given.items() if v and v.strip()}
    row = {r: [given.get(r) or None] for r, _ in FIELDS}
    frame = pl.DataFrame(row, schema={r: pl.String for r, _ in FIELDS})
    working = with_working_fields(frame, _FORM, roles)
    keys = [key_named(n) for n in SUBJECT_KEYS if set(key_named(n).roles) <= roles]
    if not keys:
        return {}
    plain = working.select(plaintext(k).alias(token_column(k)) for k in keys)
    tokens = hmac_tokens(plain, [token_column(k) for k in keys], key)
    return {c: v for c, v in tokens.row(0, named=True).items() if v is not None}


def raw_tokens(df: pl.DataFrame, ex: Extract, key: SecretKey) -> pl.DataFrame:
    """A raw frame's subject-key tokens, one row per input row (raw columns dropped): how a
    landing or quarantined row is matched without comparing identifiers in the clear."""
    roles = set(ex.identity_columns)
    keys = [key_named(n) for n in SUBJECT_KEYS if set(key_named(n).roles) <= roles]
    if not keys or df.height == 0:
        return pl.DataFrame(
            {token_column(k): [] for k in keys}, schema={token_column(k): pl.String for k in keys}
        )
    working = with_working_fields(df.with_row_index("__row"), ex, roles)
    plain = working.sort("__row").select(plaintext(k).alias(token_column(k)) for k in keys)
    return (
        hmac_tokens(plain.with_row_index("__row"), [token_column(k) for k in keys], key)
        .sort("__row")
        .drop("__row")
    )


def matches(frame: pl.DataFrame, tokens: dict[str, str]) -> pl.Series:
    """Which rows of a frame carrying token columns match any of one subject's tokens."""
    hits = [pl.col(c) == v for c, v in tokens.items() if c in frame.columns]
    if not hits:
        return pl.Series([False] * frame.height)
    return frame.select(pl.any_horizontal(hits).fill_null(False)).to_series()
