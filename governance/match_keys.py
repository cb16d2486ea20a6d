"""ONS-style match keys: combinations of canonical identity fields, most specific first.

Each key is hashed with the linkage key, so records agree on a key token exactly when they agree
on every field of the key. Several keys, each tolerant of a different kind of error (a move, a
nickname, swapped names, swapped day and month, a typo, a changed surname), let deterministic
linkage find a person across partners without any raw value leaving the ingest step.
A key is built only when every field it needs is pseudonymised under the partner's agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class MatchKey:
    name: str
    rank: int  # 1 = strongest evidence
    roles: tuple[str, ...]  # identity roles it needs
    fields: tuple[str, ...]  # canonical working columns it concatenates
    description: str
    tag: str | None = None  # domain separator when it must equal another key's (default: name)


# Working columns (made by governance.pseudonymise from canonical identity fields, each
# prefixed w_ there):
#   fn, sn, sn_first, sn_last, fn3, sn3, fi (initial), name_lo/name_hi (sorted pair),
#   dob (ISO), yob, dm_lo/dm_hi (day and month sorted), sex, pc, nhs, nino
MATCH_KEYS: tuple[MatchKey, ...] = (
    MatchKey("nhs", 1, ("nhs_number",), ("nhs",), "NHS number"),
    MatchKey("nino", 1, ("nino",), ("nino",), "National Insurance number"),
    MatchKey("oid", 1, ("other_id",), ("oid",), "another unique identifier (evaluation only)"),
    MatchKey(
        "mk1",
        2,
        ("forename", "surname", "dob", "sex", "postcode"),
        ("fn", "sn", "dob", "sex", "pc"),
        "forename, surname, DOB, sex, postcode",
    ),
    MatchKey(
        "mk2",
        3,
        ("forename", "surname", "dob", "postcode"),
        ("fn", "sn", "dob", "pc"),
        "forename, surname, DOB, postcode",
    ),
    MatchKey(
        "mk3",
        4,
        ("forename", "surname", "dob"),
        ("name_lo", "name_hi", "dob"),
        "names in either order, DOB (moved house)",
    ),
    MatchKey(
        "mk4",
        5,
        ("forename", "surname", "dob"),
        ("fn", "sn", "yob", "dm_lo", "dm_hi"),
        "names, DOB with day and month swapped",
    ),
    MatchKey(
        "mk5",
        5,
        ("forename", "surname", "dob", "postcode"),
        ("fi", "sn", "dob", "pc"),
        "forename initial, surname, DOB, postcode",
    ),
    MatchKey(
        "mk6",
        6,
        ("forename", "dob", "postcode"),
        ("fn", "dob", "pc"),
        "forename, DOB, postcode (surname changed or misspelt)",
    ),
    MatchKey(
        "mk7",
        6,
        ("surname", "dob", "postcode"),
        ("sn", "dob", "pc"),
        "surname, DOB, postcode (forename misspelt)",
    ),
    MatchKey(
        "mk8",
        6,
        ("forename", "surname", "dob"),
        ("fn", "sn_first", "dob"),
        "forename, first part of surname, DOB",
    ),
    MatchKey(
        "mk9",
        6,
        ("forename", "surname", "dob"),
        ("fn", "sn_last", "dob"),
        "forename, last part of surname, DOB",
    ),
    MatchKey(
        "mk10",
        7,
        ("forename", "surname", "dob"),
        ("fn3", "sn3", "dob"),
        "first three letters of both names, DOB",
    ),
    MatchKey(
        "mk11",
        7,
        ("forename", "surname", "dob", "postcode"),
        ("fn", "sn", "yob", "pc"),
        "names, year of birth, postcode (DOB misrecorded)",
    ),
    MatchKey(
        "mk12",
        7,
        ("forename", "surname", "postcode"),
        ("fn", "sn", "pc"),
        "forename, surname, postcode (DOB missing)",
    ),
)

RANK = {k.name: k.rank for k in MATCH_KEYS}

# Field-level tokens for probabilistic linkage (transforms.probabilistic): each compares one
# field, or a tolerant form of it, by equality of keyed tokens. tok_f_dob_swap carries the
# f_dob tag, so it equals another record's tok_f_dob exactly when day and month were swapped;
# forename and surname share the f_name tag, so swapped names can be seen.
FIELD_TOKENS: tuple[MatchKey, ...] = (
    MatchKey("f_fn", 0, ("forename",), ("fn",), "forename", tag="f_name"),
    MatchKey("f_fn_ph", 0, ("forename",), ("fn_ph",), "forename Soundex"),
    MatchKey("f_fn3", 0, ("forename",), ("fn3",), "first three letters of forename"),
    MatchKey("f_sn", 0, ("surname",), ("sn",), "surname", tag="f_name"),
    MatchKey("f_sn_ph", 0, ("surname",), ("sn_ph",), "surname Soundex"),
    MatchKey("f_sn3", 0, ("surname",), ("sn3",), "first three letters of surname"),
    MatchKey("f_dob", 0, ("dob",), ("dob",), "date of birth"),
    MatchKey(
        "f_dob_swap", 0, ("dob",), ("dob_swap",), "DOB with day and month swapped", tag="f_dob"
    ),
    MatchKey("f_yob", 0, ("dob",), ("yob",), "year of birth"),
    MatchKey("f_sex", 0, ("sex",), ("sex",), "sex"),
    MatchKey("f_pc", 0, ("postcode",), ("pc",), "postcode"),
    MatchKey("f_sector", 0, ("postcode",), ("sector",), "postcode sector"),
    MatchKey("f_district", 0, ("postcode",), ("district",), "postcode district"),
)


def token_column(key: MatchKey) -> str:
    return f"tok_{key.name}"


def plaintext(key: MatchKey) -> pl.Expr:
    """The string that gets hashed: key name as domain separator, then the fields."""
    return pl.concat_str(
        [pl.lit(key.tag or key.name), *[pl.col(f"w_{f}") for f in key.fields]], separator="|"
    )


def applicable(pseudonymised_roles: set[str]) -> list[MatchKey]:
    """Match keys and field tokens whose every identity role the agreement pseudonymises."""
    return [k for k in MATCH_KEYS + FIELD_TOKENS if set(k.roles) <= pseudonymised_roles]


def key_named(name: str) -> MatchKey:
    """A match key or field token by name (KeyError if there is none)."""
    for key in MATCH_KEYS + FIELD_TOKENS:
        if key.name == name:
            return key
    raise KeyError(name)
