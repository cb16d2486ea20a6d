"""`mcn synth --noise realistic`: a second, independent noise model, shaped on the people an MCN
cohort exists to find rather than on a tidy register.

Independent of flows.synth_noise (its own rates, its own typo model, its own kinds of error):
- no fixed abode: a fifth of people have no postcode with a partner (and any record may lack it);
- dates of birth missing on more than a fifth of records, two digits transposed, one digit
  wrong, day and month swapped;
- aliases (another forename altogether) and nicknames from the `nicknames` table, in either
  direction; titles ("Mr", "Mrs", "Dr", "Rev"...) typed into the forename;
- typos anywhere in either name (first letter included), sometimes two;
- postcode typos (a character changed or two transposed);
- twins (same surname, DOB and address, other forename) and namesakes (same names and address,
  another DOB: a parent and child) among the people, so that names and address alone mislead;
- unknowns as partners write them: a missing postcode is the pseudo-postcode ZZ99 3VZ (no
  fixed abode) where the partner's system writes one (PartnerSynth.no_fixed_abode_postcode).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from flows.synth_noise import _hits
from flows.synth_people import postcodes
from governance.canonical import nickname_table

if TYPE_CHECKING:
    from flows.synth_draw import PartnerSynth
    from schemas.contract import Extract

TITLES = np.array(["Mr", "Mrs", "Ms", "Miss", "Dr", "Rev", "Mr.", "MRS", "Sir"])
LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def lookalikes(pop: pl.DataFrame, rng: np.random.Generator, rate: float = 0.02) -> pl.DataFrame:
    """Make some people twins or namesakes of another: they keep their own identifiers and
    needs but take the other's surname and postcode, and the DOB (twin) or forename
    (namesake) too."""
    n = pop.height
    chosen = np.flatnonzero(rng.random(n) < rate)
    template = rng.integers(0, n, len(chosen))
    twin = rng.random(len(chosen)) < 0.5
    src = pop[template]
    rows = pl.DataFrame({"__i": chosen.astype(np.int64), "__twin": twin}).hstack(
        src.select(
            pl.col("forename").alias("__fn"),
            pl.col("surname").alias("__sn"),
            pl.col("dob").alias("__dob"),
            pl.col("postcode").alias("__pc"),
        )
    )
    joined = pop.with_row_index("__i").with_columns(pl.col("__i").cast(pl.Int64))
    joined = joined.join(rows, on="__i", how="left")
    hit = pl.col("__sn").is_not_null()
    return joined.with_columns(
        surname=pl.when(hit).then("__sn").otherwise("surname"),
        postcode=pl.when(hit).then("__pc").otherwise("postcode"),
        dob=pl.when(hit & pl.col("__twin")).then("__dob").otherwise("dob"),
        forename=pl.when(hit & ~pl.col("__twin")).then("__fn").otherwise("forename"),
    ).drop("__i", "__twin", "__fn", "__sn", "__dob", "__pc")


def _nick_or_formal(forename: pl.Expr) -> pl.Expr:
    """A nickname of the formal name, or the formal name of a nickname (null when none)."""
    table = nickname_table()
    to_nick: dict[str, str] = {}
    for nick, formal in sorted(table.items()):
        to_nick.setdefault(formal, nick)
    upper = forename.str.to_uppercase()
    other = upper.replace_strict({**to_nick, **table}, default=None, return_dtype=pl.String)
    return other.str.to_titlecase()


def any_typo(col: str, rng: np.random.Generator, n: int) -> pl.Expr:
    """Change, drop, insert or transpose one character anywhere (the first one included)."""
    s = pl.col(col)
    length = s.str.len_chars()
    pos = (pl.lit(pl.Series(rng.random(n))) * length).cast(pl.Int64)
    letter = pl.lit(pl.Series(rng.choice(LETTERS, n)))
    kind = pl.lit(pl.Series(rng.integers(0, 4, n)))
    head, after = s.str.slice(0, pos), s.str.slice(pos + 1)
    swapped = head + s.str.slice(pos + 1, 1) + s.str.slice(pos, 1) + s.str.slice(pos + 2)
    return (
        pl.when(kind == 0)
        .then(head + letter + after)
        .when(kind == 1)
        .then(head + after)
        .when(kind == 2)
        .then(head + letter + s.str.slice(pos))
        .otherwise(swapped)
    )


def _transposed_dob(rng: np.random.Generator, n: int) -> pl.Expr:
    """Two adjacent digits of the DOB swapped (year, month or day), when still a date."""
    iso = pl.col("dob").cast(pl.String)
    digits = iso.str.replace_all("-", "")
    pos = pl.lit(pl.Series(rng.choice([2, 4, 6], n)))
    swapped = (
        digits.str.slice(0, pos)
        + digits.str.slice(pos + 1, 1)
        + digits.str.slice(pos, 1)
        + digits.str.slice(pos + 2)
    )
    as_date = swapped.str.to_date("%Y%m%d", strict=False)
    return pl.when(as_date.is_not_null()).then(as_date).otherwise(pl.col("dob"))


def _one_digit_dob(rng: np.random.Generator, n: int) -> pl.Expr:
    """One digit of the day or the year's last digit wrong, when still a date."""
    days = pl.lit(pl.Series(rng.choice([-10, -1, 1, 10, -365 * 10, 365 * 10], n)))
    return pl.col("dob") + pl.duration(days=days)


def partner_version(people: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """How one partner has recorded each person (realistic model): persists across records."""
    n = people.height
    hit = _hits(
        rng,
        n,
        {
            "nick": 0.15,
            "alias": 0.03,
            "married": 0.05,
            "swap": 0.03,
            "nfa": 0.20,
            "moved": 0.20,
            "dm": 0.03,
            "transposed": 0.03,
            "digit": 0.03,
            "no_dob": 0.12,
            "no_sex": 0.03,
        },
    )
    alias = pl.lit(pl.Series(rng.permutation(people["forename"].to_numpy())))
    new_surname = pl.lit(pl.Series(rng.permutation(people["surname"].to_numpy())))
    other = _nick_or_formal(pl.col("forename"))
    day, month = pl.col("dob").dt.day(), pl.col("dob").dt.month()
    return people.with_columns(
        forename=pl.when(hit["nick"] & other.is_not_null())
        .then(other)
        .when(hit["alias"])
        .then(alias)
        .otherwise("forename"),
        surname=pl.when(hit["married"] & (pl.col("sex") == "F"))
        .then(new_surname)
        .otherwise("surname"),
        dob=pl.when(hit["no_dob"])
        .then(None)
        .when(hit["dm"] & (day <= 12) & (day != month))
        .then(pl.date(pl.col("dob").dt.year(), day, month))
        .when(hit["transposed"])
        .then(_transposed_dob(rng, n))
        .when(hit["digit"])
        .then(_one_digit_dob(rng, n))
        .otherwise("dob"),
        postcode=pl.when(hit["nfa"])
        .then(None)
        .when(hit["moved"])
        .then(pl.lit(pl.Series(postcodes(rng, n))))
        .otherwise("postcode"),
        sex=pl.when(hit["no_sex"]).then(pl.lit(None, dtype=pl.String)).otherwise("sex"),
    ).with_columns(
        forename=pl.when(hit["swap"]).then("surname").otherwise("forename"),
        surname=pl.when(hit["swap"]).then("forename").otherwise("surname"),
    )


def _postcode_typo(rng: np.random.Generator, n: int) -> pl.Expr:
    """One character of the postcode changed to a near one, or two adjacent transposed."""
    compact = pl.col("postcode").str.replace(" ", "")
    pos = (pl.lit(pl.Series(rng.random(n))) * (compact.str.len_chars() - 1)).cast(pl.Int64)
    swapped = (
        compact.str.slice(0, pos)
        + compact.str.slice(pos + 1, 1)
        + compact.str.slice(pos, 1)
        + compact.str.slice(pos + 2)
    )
    return swapped.str.head(-3) + " " + swapped.str.tail(3)


def row_slips(rows: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Slips made when each record was typed (realistic model)."""
    n = rows.height
    hit = _hits(
        rng,
        n,
        {
            "fn_typo": 0.08,
            "sn_typo": 0.08,
            "second_typo": 0.02,
            "title": 0.12,
            "lower": 0.3,
            "upper": 0.3,
            "pc_typo": 0.04,
            "pc_missing": 0.05,
            "dob_missing": 0.12,
        },
    )
    title = pl.lit(pl.Series(rng.choice(TITLES, n)))
    rows = rows.with_columns(
        forename=pl.when(hit["fn_typo"]).then(any_typo("forename", rng, n)).otherwise("forename"),
        surname=pl.when(hit["sn_typo"]).then(any_typo("surname", rng, n)).otherwise("surname"),
    ).with_columns(
        surname=pl.when(hit["second_typo"]).then(any_typo("surname", rng, n)).otherwise("surname")
    )
    return rows.with_columns(
        *[
            pl.when(hit["lower"])
            .then(pl.col(c).str.to_lowercase())
            .when(hit["upper"])
            .then(pl.col(c).str.to_uppercase())
            .otherwise(c)
            .alias(c)
            for c in ("forename", "surname")
        ],
    ).with_columns(
        forename=pl.when(hit["title"]).then(title + " " + pl.col("forename")).otherwise("forename"),
        postcode=pl.when(hit["pc_missing"])
        .then(None)
        .when(hit["pc_typo"])
        .then(_postcode_typo(rng, n))
        .otherwise("postcode"),
        dob=pl.when(hit["dob_missing"]).then(None).otherwise("dob"),
    )


def as_written(rows: pl.DataFrame, ex: Extract, synth: PartnerSynth) -> pl.DataFrame:
    """An extract's formatted rows with unknowns as the partner's system writes them: a missing
    postcode as its no-fixed-abode pseudo-postcode, where it has one. Draws nothing, so every
    other value is the same as without it."""
    column = ex.identity_columns.get("postcode")
    if column is None or synth.no_fixed_abode_postcode is None:
        return rows
    return rows.with_columns(pl.col(column).fill_null(synth.no_fixed_abode_postcode))
