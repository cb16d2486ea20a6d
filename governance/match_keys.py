"""ONS-style match keys: combinations of canonical identity fields, most specific first.

Each key is hashed with the linkage key, so records agree on a key token exactly when they agree
on every field of the key. Several keys, each tolerant of a different kind of error (a move, a
nickname, swapped names, swapped day and month, a typo, a changed surname), let deterministic
linkage find a person across partners without any raw value leaving the ingest step.
A key is built only when every field it needs is pseudonymised under the partner's agreement.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
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
    bloom_bits: int = 0  # 0: an HMAC token; else a keyed Bloom filter of this many bits (bloom.py)


# Working columns (made by governance.pseudonymise from canonical identity fields, each
# prefixed w_ there):
#   fn (nicknames mapped), fn_own (as spelt), sn, sn_first, sn_last, fn3, sn3, fi (initial),
#   name_lo/name_hi (sorted pair), fn_ph/sn_ph (Soundex), fn_ny/sn_ny (NYSIIS),
#   dob (ISO), yob, dob_ym, dob_md, dob_e0..dob_e6 (DOB digits, two adjacent masked),
#   dm_lo/dm_hi (day and month sorted), sex, pc, pc_e0..pc_e6 (postcode, two adjacent
#   characters masked), sector, district, addr (address lines), nhs, nino, oid
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
# field, or a tolerant form of it, by equality of keyed tokens, or (bloom_bits) by the Dice
# similarity of keyed Bloom filters. tok_f_dob_swap carries the f_dob tag, so it equals another
# record's tok_f_dob exactly when day and month were swapped; forename and surname share the
# f_name tag (and one Bloom key), so swapped names can be seen, typos and all. The masked
# neighbourhood tokens are equal when two values differ in one position (dob_e*, pc_e*: that
# position masked) or by two adjacent characters transposed (dob_t*, pc_t*: that pair sorted);
# docs/linkage.md says what they reveal.
DOB_EDITS = 8  # YYYYMMDD
POSTCODE_EDITS = 8  # up to 8 letters and digits
NAME_BLOOM_BITS = 128
ADDRESS_BLOOM_BITS = 256
FIELD_TOKENS: tuple[MatchKey, ...] = (
    MatchKey("f_fn", 0, ("forename",), ("fn_own",), "forename as spelt", tag="f_name"),
    MatchKey("f_fn_nick", 0, ("forename",), ("fn",), "forename, nicknames mapped to one name"),
    MatchKey("f_fn_ph", 0, ("forename",), ("fn_ph",), "forename Soundex"),
    MatchKey("f_fn_ny", 0, ("forename",), ("fn_ny",), "forename NYSIIS", tag="f_ny"),
    MatchKey("f_fn3", 0, ("forename",), ("fn3",), "first three letters of forename"),
    MatchKey(
        "f_fn_bf",
        0,
        ("forename",),
        ("fn_own",),
        "forename Bloom filter (bigrams)",
        tag="f_name_bf",
        bloom_bits=NAME_BLOOM_BITS,
    ),
    MatchKey("f_sn", 0, ("surname",), ("sn",), "surname", tag="f_name"),
    MatchKey("f_sn_ph", 0, ("surname",), ("sn_ph",), "surname Soundex"),
    MatchKey("f_sn_ny", 0, ("surname",), ("sn_ny",), "surname NYSIIS", tag="f_ny"),
    MatchKey("f_sn3", 0, ("surname",), ("sn3",), "first three letters of surname"),
    MatchKey(
        "f_sn_bf",
        0,
        ("surname",),
        ("sn",),
        "surname Bloom filter (bigrams)",
        tag="f_name_bf",
        bloom_bits=NAME_BLOOM_BITS,
    ),
    MatchKey("f_dob", 0, ("dob",), ("dob",), "date of birth"),
    MatchKey(
        "f_dob_swap", 0, ("dob",), ("dob_swap",), "DOB with day and month swapped", tag="f_dob"
    ),
    MatchKey("f_yob", 0, ("dob",), ("yob",), "year of birth"),
    MatchKey("f_dob_ym", 0, ("dob",), ("dob_ym",), "year and month of birth"),
    MatchKey("f_dob_md", 0, ("dob",), ("dob_md",), "month and day of birth"),
    *(
        MatchKey(
            f"f_dob_e{i}",
            0,
            ("dob",),
            (f"dob_e{i}",),
            f"DOB digits, digit {i + 1} masked",
            tag="f_dob_e",
        )
        for i in range(DOB_EDITS)
    ),
    *(
        MatchKey(
            f"f_dob_t{i}",
            0,
            ("dob",),
            (f"dob_t{i}",),
            f"DOB digits, digits {i + 1} and {i + 2} sorted (transposition)",
            tag="f_dob_t",
        )
        for i in range(DOB_EDITS - 1)
    ),
    MatchKey("f_sex", 0, ("sex",), ("sex",), "sex"),
    MatchKey("f_pc", 0, ("postcode",), ("pc",), "postcode"),
    *(
        MatchKey(
            f"f_pc_e{i}",
            0,
            ("postcode",),
            (f"pc_e{i}",),
            f"postcode, character {i + 1} masked",
            tag="f_pc_e",
        )
        for i in range(POSTCODE_EDITS)
    ),
    *(
        MatchKey(
            f"f_pc_t{i}",
            0,
            ("postcode",),
            (f"pc_t{i}",),
            f"postcode, characters {i + 1} and {i + 2} sorted (transposition)",
            tag="f_pc_t",
        )
        for i in range(POSTCODE_EDITS - 1)
    ),
    MatchKey("f_sector", 0, ("postcode",), ("sector",), "postcode sector (or code less 1)"),
    MatchKey("f_district", 0, ("postcode",), ("district",), "postcode district (or code less 2)"),
    MatchKey("f_addr", 0, ("address",), ("addr",), "address lines"),
    MatchKey(
        "f_addr_bf",
        0,
        ("address",),
        ("addr",),
        "address lines Bloom filter (bigrams)",
        bloom_bits=ADDRESS_BLOOM_BITS,
    ),
)


def token_column(key: MatchKey) -> str:
    return f"tok_{key.name}"


# Tokens of whole identifiers (rank 1), and of those no person holds two of: records with two
# different ones are two people (clustering and scoring never join them).
ID_TOKENS = tuple(token_column(k) for k in MATCH_KEYS if k.rank == 1)
PERSON_UNIQUE_TOKENS = tuple(
    token_column(k) for k in MATCH_KEYS if k.roles in (("nhs_number",), ("nino",))
)


def plaintext(key: MatchKey) -> pl.Expr:
    """The string that gets hashed: key name as domain separator, then the fields."""
    return pl.concat_str(
        [pl.lit(key.tag or key.name), *[pl.col(f"w_{f}") for f in key.fields]], separator="|"
    )


def applicable(pseudonymised_roles: AbstractSet[str]) -> list[MatchKey]:
    """Match keys and field tokens whose every identity role the agreement pseudonymises."""
    return [k for k in MATCH_KEYS + FIELD_TOKENS if set(k.roles) <= pseudonymised_roles]


def key_named(name: str) -> MatchKey:
    """A match key or field token by name (KeyError if there is none)."""
    for key in MATCH_KEYS + FIELD_TOKENS:
        if key.name == name:
            return key
    raise KeyError(name)
