"""Comparison levels on keyed tokens: equality of HMAC tokens and Dice similarity of keyed
Bloom filters. The linker never sees a value, only whether two tokens are equal and how many
filter bits two records share.

A field's gamma is null when either side lacks the field (no evidence either way), 0 when no
level holds, else the number of the first level that holds (levels run strongest first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from governance.match_keys import (
    ADDRESS_BLOOM_BITS,
    DOB_EDITS,
    FIELD_TOKENS,
    NAME_BLOOM_BITS,
    PERSON_UNIQUE_TOKENS,
    POSTCODE_EDITS,
    token_column,
)

BLOOM_COLUMNS = {token_column(k): k.bloom_bits for k in FIELD_TOKENS if k.bloom_bits}
ID_COLUMNS = PERSON_UNIQUE_TOKENS  # never two different ones in one person
Level = tuple[str, Callable[[], pl.Expr]]


def lanes(col: str) -> list[str]:
    return [f"{col}__{i}" for i in range(BLOOM_COLUMNS[col] // 64)]


def ones(col: str) -> str:
    return f"{col}__n"


def bloom_lanes(frame: pl.DataFrame) -> pl.DataFrame:
    """Each Bloom-filter hex token -> 64-bit lanes and its bit count (null filter: null)."""
    out = []
    for col in BLOOM_COLUMNS:
        if col not in frame.columns:
            continue
        parts = [
            pl.col(col)
            .cast(pl.String)
            .str.slice(16 * i, 16)
            .str.to_integer(base=16, dtype=pl.UInt64)
            .alias(name)
            for i, name in enumerate(lanes(col))
        ]
        out += parts
    frame = frame.with_columns(out)
    return frame.with_columns(
        pl.sum_horizontal(pl.col(n).bitwise_count_ones() for n in lanes(c))
        .cast(pl.UInt16)
        .alias(ones(c))
        for c in BLOOM_COLUMNS
        if c in frame.columns
    )


def dice(a: str, b: str, sa: str = "_l", sb: str = "_r") -> pl.Expr:
    """Dice coefficient of Bloom filter a (left) and b (right): 2|A and B| / (|A| + |B|)."""
    shared = pl.sum_horizontal(
        (pl.col(f"{x}{sa}") & pl.col(f"{y}{sb}")).bitwise_count_ones()
        for x, y in zip(lanes(a), lanes(b), strict=True)
    )
    total = pl.col(f"{ones(a)}{sa}").cast(pl.Float32) + pl.col(f"{ones(b)}{sb}").cast(pl.Float32)
    return 2 * shared.cast(pl.Float32) / total


def eq(a: str, b: str | None = None) -> pl.Expr:
    """Token a on one side equals token b on the other (either way round)."""
    b = b or a
    there = pl.col(f"{a}_l") == pl.col(f"{b}_r")
    if a == b:
        return there
    return there | (pl.col(f"{b}_l") == pl.col(f"{a}_r"))


def any_eq(cols: list[str]) -> pl.Expr:
    return pl.any_horizontal(eq(c).fill_null(False) for c in cols)


def crossed(t: float) -> pl.Expr:
    """Forename and surname swapped, typos allowed: each crossed pair of filters similar."""
    fn, sn = "tok_f_fn_bf", "tok_f_sn_bf"
    return (dice(fn, sn) >= t) & (dice(sn, fn) >= t)


DOB_MASKED = [f"tok_f_dob_{k}{i}" for k in "et" for i in range(DOB_EDITS - (k == "t"))]
PC_MASKED = [f"tok_f_pc_{k}{i}" for k in "et" for i in range(POSTCODE_EDITS - (k == "t"))]
NAME_HIGH, NAME_LOW = 0.8, 0.6  # Dice levels for names (128-bit folded filters)
CROSSED = 0.7


@dataclass(frozen=True)
class Field:
    name: str
    base: str  # the token whose absence on either side makes the gamma null
    levels: tuple[Level, ...]
    # levels that hold evidence counted in another field: their gamma is null (no evidence)
    neutral: tuple[str, ...] = ()


FIELDS: tuple[Field, ...] = (
    Field(
        "forename",
        "tok_f_fn",
        (
            ("exact", lambda: eq("tok_f_fn")),
            ("crossed", lambda: crossed(CROSSED)),
            ("nickname", lambda: eq("tok_f_fn_nick")),
            ("dice_high", lambda: dice("tok_f_fn_bf", "tok_f_fn_bf") >= NAME_HIGH),
            ("phonetic", lambda: eq("tok_f_fn_ph") | eq("tok_f_fn_ny")),
            ("dice_low", lambda: dice("tok_f_fn_bf", "tok_f_fn_bf") >= NAME_LOW),
            ("prefix3", lambda: eq("tok_f_fn3")),
        ),
    ),
    Field(
        "surname",
        "tok_f_sn",
        (
            ("exact", lambda: eq("tok_f_sn")),
            ("crossed", lambda: crossed(CROSSED)),
            ("dice_high", lambda: dice("tok_f_sn_bf", "tok_f_sn_bf") >= NAME_HIGH),
            ("phonetic", lambda: eq("tok_f_sn_ph") | eq("tok_f_sn_ny")),
            ("dice_low", lambda: dice("tok_f_sn_bf", "tok_f_sn_bf") >= NAME_LOW),
            ("prefix3", lambda: eq("tok_f_sn3")),
        ),
        # a crossed pair of names is one event, weighed once (on the forename)
        neutral=("crossed",),
    ),
    Field(
        "dob",
        "tok_f_dob",
        (
            ("exact", lambda: eq("tok_f_dob")),
            ("swapped", lambda: eq("tok_f_dob_swap", "tok_f_dob")),
            ("one_edit", lambda: any_eq(DOB_MASKED)),
            ("year_month", lambda: eq("tok_f_dob_ym")),
            ("month_day", lambda: eq("tok_f_dob_md")),
            ("year", lambda: eq("tok_f_yob")),
        ),
    ),
    Field("sex", "tok_f_sex", (("exact", lambda: eq("tok_f_sex")),)),
    Field(
        "postcode",
        "tok_f_pc",
        (
            ("exact", lambda: eq("tok_f_pc")),
            ("one_edit", lambda: any_eq(PC_MASKED)),
            ("sector", lambda: eq("tok_f_sector")),
            ("district", lambda: eq("tok_f_district")),
        ),
    ),
    Field(
        "address",
        "tok_f_addr",
        (
            ("exact", lambda: eq("tok_f_addr")),
            ("dice_90", lambda: dice("tok_f_addr_bf", "tok_f_addr_bf") >= 0.9),
            ("dice_75", lambda: dice("tok_f_addr_bf", "tok_f_addr_bf") >= 0.75),
            ("dice_55", lambda: dice("tok_f_addr_bf", "tok_f_addr_bf") >= 0.55),
        ),
    ),
    Field("other_id", "tok_oid", (("exact", lambda: eq("tok_oid")),)),
)
COMPARISONS = {f.name: tuple(name for name, _ in f.levels) for f in FIELDS}
TF_FIELDS = {"forename": "tok_f_fn", "surname": "tok_f_sn"}
assert NAME_BLOOM_BITS % 64 == 0 and ADDRESS_BLOOM_BITS % 64 == 0


def gamma_name(f: str) -> str:
    return f"g_{f}"


def gamma(field: Field) -> pl.Expr:
    """The field's comparison level for a joined pair frame (columns suffixed _l and _r)."""
    missing = pl.col(f"{field.base}_l").is_null() | pl.col(f"{field.base}_r").is_null()
    expr: Any = pl.when(missing).then(None)
    for k, (name, level) in enumerate(field.levels, start=1):
        value = None if name in field.neutral else pl.lit(k)
        expr = expr.when(level().fill_null(False)).then(value)
    return expr.otherwise(0).cast(pl.Int8).alias(gamma_name(field.name))


def id_conflict() -> pl.Expr:
    out = pl.lit(False)
    for c in ID_COLUMNS:
        out = out | (pl.col(f"{c}_l") != pl.col(f"{c}_r")).fill_null(False)
    return out.alias("id_conflict")


# Surname, postcode and address are a household's as much as a person's: a parent and a child,
# or two siblings, at one address agree on all three. Forename and DOB are the person's own.
PERSON_FIELDS = ("forename", "dob")


def person_conflict() -> pl.Expr:
    """Forename and DOB both given on both sides and agreeing at no level (not a nickname, a
    phonetic code, the first three letters, one edit, the year...): two people, or one whose
    record has both wrong (link.household_joins_dropped decides which)."""
    return pl.all_horizontal(pl.col(gamma_name(f)) == 0 for f in PERSON_FIELDS).fill_null(False)
