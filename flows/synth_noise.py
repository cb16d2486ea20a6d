"""Realistic recording noise for synthetic identities, vectorised with polars.

Two levels, as in real systems: a partner's own version of a person (nickname, married name,
swapped names, day/month swapped, a house move) and row-level slips (typos, case and spacing,
missing values, postcode and NHS number formats, duplicates).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from flows.synth_people import FORMAL_TO_NICK, postcodes


def _chance(rng: np.random.Generator, n: int, p: float, name: str = "hit") -> pl.Series:
    return pl.Series(name, rng.random(n) < p)


def _hits(rng: np.random.Generator, n: int, rates: dict[str, float]) -> dict[str, pl.Expr]:
    """One random boolean column per kind of noise, true with that kind's rate."""
    return {k: pl.lit(_chance(rng, n, p)) for k, p in rates.items()}


def typo(col: str, rng: np.random.Generator, n: int) -> pl.Expr:
    """Substitute, delete or transpose one letter at a random position."""
    length = pl.col(col).str.len_chars()
    pos = (pl.lit(pl.Series(rng.random(n))) * (length - 1).clip(lower_bound=1)).cast(pl.Int64)
    letter = pl.lit(pl.Series(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), n)))
    kind = pl.lit(pl.Series(rng.integers(0, 3, n)))
    s = pl.col(col)
    head, after = s.str.slice(0, pos), s.str.slice(pos + 1)
    swapped = head + s.str.slice(pos + 1, 1) + s.str.slice(pos, 1) + s.str.slice(pos + 2)
    return (
        pl.when(kind == 0)
        .then(head + letter + after)
        .when(kind == 1)
        .then(head + after)
        .otherwise(swapped)
    )


def partner_version(people: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """How one partner has recorded each person: changes that persist across their records."""
    n = people.height
    hit = _hits(
        rng,
        n,
        {
            "nick": 0.10,
            "married": 0.04,
            "half": 0.5,
            "swap": 0.015,
            "dm": 0.02,
            "dob_typo": 0.01,
            "moved": 0.12,
            "no_sex": 0.01,
        },
    )
    upper = pl.col("forename").str.to_uppercase()
    nick = upper.replace_strict(FORMAL_TO_NICK, default=None).str.to_titlecase()
    hyphen = pl.col("surname").str.split("-")
    new_surname = pl.lit(pl.Series(rng.permutation(people["surname"].to_numpy())))
    day, month = pl.col("dob").dt.day(), pl.col("dob").dt.month()
    swapped_dob = pl.date(pl.col("dob").dt.year(), day, month)
    typo_dob = pl.col("dob") + pl.duration(days=pl.lit(pl.Series(rng.choice([-1, 1, 10], n))))
    return people.with_columns(
        forename=pl.when(hit["nick"] & nick.is_not_null()).then(nick).otherwise("forename"),
        surname=pl.when(hit["married"] & (pl.col("sex") == "F"))
        .then(new_surname)
        .when(hyphen.list.len() > 1)
        .then(pl.when(hit["half"]).then(hyphen.list.first()).otherwise("surname"))
        .otherwise("surname"),
        dob=pl.when(hit["dm"] & (day <= 12) & (day != month))
        .then(swapped_dob)
        .when(hit["dob_typo"])
        .then(typo_dob)
        .otherwise("dob"),
        postcode=pl.when(hit["moved"])
        .then(pl.lit(pl.Series(postcodes(rng, n))))
        .otherwise("postcode"),
        sex=pl.when(hit["no_sex"]).then(pl.lit(None, dtype=pl.String)).otherwise("sex"),
    ).with_columns(
        forename=pl.when(hit["swap"]).then("surname").otherwise("forename"),
        surname=pl.when(hit["swap"]).then("forename").otherwise("surname"),
    )


def row_slips(rows: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Slips made when each record was typed."""
    n = rows.height
    hit = _hits(
        rng,
        n,
        {
            "fn_typo": 0.03,
            "sn_typo": 0.03,
            "lower": 0.2,
            "upper": 0.3,
            "pad": 0.05,
            "pc_nospace": 0.3,
            "pc_lower": 0.1,
            "pc_missing": 0.02,
            "dob_missing": 0.01,
            "nhs_spaced": 0.2,
        },
    )
    number = pl.col("nhs_number")
    spaced = number.str.slice(0, 3) + " " + number.str.slice(3, 3) + " " + number.str.slice(6)
    rows = rows.with_columns(
        forename=pl.when(hit["fn_typo"]).then(typo("forename", rng, n)).otherwise("forename"),
        surname=pl.when(hit["sn_typo"]).then(typo("surname", rng, n)).otherwise("surname"),
    )
    return rows.with_columns(
        *[
            pl.when(hit["lower"])
            .then(pl.col(c).str.to_lowercase())
            .when(hit["upper"])
            .then(pl.col(c).str.to_uppercase())
            .when(hit["pad"])
            .then(" " + pl.col(c) + " ")
            .otherwise(c)
            .alias(c)
            for c in ("forename", "surname")
        ],
        postcode=pl.when(hit["pc_missing"])
        .then(None)
        .when(hit["pc_nospace"])
        .then(pl.col("postcode").str.replace(" ", ""))
        .when(hit["pc_lower"])
        .then(pl.col("postcode").str.to_lowercase())
        .otherwise("postcode"),
        dob=pl.when(hit["dob_missing"]).then(None).otherwise("dob"),
        nhs_number=pl.when(hit["nhs_spaced"]).then(spaced).otherwise(number),
    )


def broken_rows(
    rows: pl.DataFrame, rng: np.random.Generator, date_col: str, p: float = 0.003
) -> pl.DataFrame:
    """A few rows a partner's system should never have sent: for the quarantine."""
    n = rows.height
    bad_date = pl.lit(_chance(rng, n, p))
    bad_nhs = pl.lit(_chance(rng, n, p))
    flipped = pl.col("nhs_number").str.head(-1) + (
        (pl.col("nhs_number").str.tail(1).cast(pl.Int32, strict=False) + 1) % 10
    ).cast(pl.String)
    return rows.with_columns(
        pl.when(bad_date).then(pl.lit("unknown")).otherwise(date_col).alias(date_col),
        nhs_number=pl.when(bad_nhs & pl.col("nhs_number").is_not_null())
        .then(flipped)
        .otherwise("nhs_number"),
    )


def duplicates(rows: pl.DataFrame, rng: np.random.Generator, p: float = 0.01) -> pl.DataFrame:
    """Some records entered twice (a second registration with its own reference)."""
    again = rows.filter(_chance(rng, rows.height, p))
    return pl.concat([rows, again.with_columns(pl.col("record_ref") + "D")])
