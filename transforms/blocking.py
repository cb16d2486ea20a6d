"""Blocking: which pairs of profiles are compared at all, on tokens only.

A pair is a candidate when the two profiles share every token of at least one rule. Rules do
not need a DOB or a postcode: names alone (exactly, by nickname, phonetically, with a year of
birth or a postcode district or an address) bring together the records of people with no fixed
abode and no recorded DOB, who are the ones an MCN cohort exists to find. A crossed rule pairs
a forename with the other record's surname (names entered the wrong way round).

Memory is bounded by MAX_BLOCK: a block (profiles sharing one rule's tokens) larger than that is
not paired by that rule (it is counted and reported as skipped); other rules still reach its
profiles. A block of MAX_BLOCK profiles makes at most MAX_BLOCK^2 / 2 pairs; for a crossed rule
(my forename is your surname) the two sides of a block are different profiles, and each side is
held to the cap, so it makes at most MAX_BLOCK^2. Pairs are made rule by rule and made distinct
as they go.
"""

from __future__ import annotations

import polars as pl

# (left tokens, right tokens): equal right-hand side means both sides share the same tokens.
Rule = tuple[tuple[str, ...], tuple[str, ...]]


def same(*cols: str) -> Rule:
    return (cols, cols)


BLOCKING_RULES: dict[str, Rule] = {
    # DOB alone only where it is rare enough to tell people apart (RULE_CAPS): in a file of
    # thousands a DOB is nearly a person, and names full of typos still meet on it (FEBRL); in a
    # million people about 40 share each birthday (8.9M pairs, nearly all strangers), so there
    # DOB pairs only with sex or either name's Soundex code (benchmarks/blocking_rules.py)
    "dob": same("tok_f_dob"),
    "dob_sex": same("tok_f_dob", "tok_f_sex"),
    "dob_forename": same("tok_f_dob", "tok_f_fn_ph"),
    "dob_surname": same("tok_f_dob", "tok_f_sn_ph"),
    # DOB with the nickname-canonical forename (Dave and David have different Soundex codes), or
    # with a forename spelt as the other record's surname (names the wrong way round with a typo
    # in the other name, and sex missing: no other DOB rule meets them)
    "dob_nickname": same("tok_f_dob", "tok_f_fn_nick"),
    "dob_crossed": (("tok_f_dob", "tok_f_fn"), ("tok_f_dob", "tok_f_sn")),
    "postcode": same("tok_f_pc"),
    "names": same("tok_f_fn_nick", "tok_f_sn"),
    "names_crossed": (("tok_f_fn", "tok_f_sn"), ("tok_f_sn", "tok_f_fn")),
    "nysiis": same("tok_f_fn_ny", "tok_f_sn_ny"),
    "soundex_year": same("tok_f_fn_ph", "tok_f_sn_ph", "tok_f_yob"),
    "soundex_district": same("tok_f_fn_ph", "tok_f_sn_ph", "tok_f_district"),
    "prefixes_sector": same("tok_f_fn3", "tok_f_sn3", "tok_f_sector"),
    # first three letters of both names alone (where at most 10 share them: RULE_CAPS) and the
    # nickname-canonical forename with the address: pairs whose DOB and postcode both have a
    # typo or are missing, and a name too (a two-file set with heavy typos: 97 of 102 missed
    # pairs were never compared; these two reach most: F1 0.987 -> 0.991, FEBRL4 +0.0003)
    "prefixes": same("tok_f_fn3", "tok_f_sn3"),
    "forename_address": same("tok_f_fn_nick", "tok_f_addr"),
    "surname_address": same("tok_f_sn", "tok_f_addr"),
    "address_dob_year": same("tok_f_addr", "tok_f_yob"),
    "other_id": same("tok_oid"),
}
MAX_BLOCK = 500  # profiles sharing one blocking value beyond this are not paired (reported)
# Rules on names alone stop much earlier: when this many profiles share both names, the names are
# too common for their agreement alone to outweigh the prior (term frequencies), so such pairs
# can only link with other evidence, which the DOB, postcode and name-with-year/area rules bring.
# DOB alone: a birthday shared by more profiles than this says little by itself; the rules
# pairing it with sex or a name still reach those profiles.
RULE_CAPS = {"names": 50, "names_crossed": 50, "nysiis": 50, "dob": 10, "prefixes": 10}


def block(
    profiles: pl.DataFrame, rule: Rule | tuple[str, ...], max_block: int | None = None
) -> tuple[pl.DataFrame, int]:
    """(l, r) profile pairs, l < r, sharing the rule's tokens; and blocks too big to pair."""
    left, right = rule if isinstance(rule[0], tuple) else (rule, rule)
    cap = MAX_BLOCK if max_block is None else max_block
    if not set(left) | set(right) <= set(profiles.columns):
        return pl.DataFrame(schema={"l": pl.UInt32, "r": pl.UInt32}), 0
    keys = [f"k{i}" for i in range(len(left))]
    a = profiles.select("profile", *[pl.col(c).alias(k) for c, k in zip(left, keys, strict=True)])
    b = profiles.select("profile", *[pl.col(c).alias(k) for c, k in zip(right, keys, strict=True)])
    a, b = a.drop_nulls(), b.drop_nulls()
    # a block is too big when either side of it is: a crossed rule's two sides differ (one
    # "Smith John" against every John Smith), and a pair count is the product of the two
    sides = (a,) if left == right else (a, b)
    big = pl.concat([side.group_by(keys).len().filter(pl.col("len") > cap) for side in sides])
    big = big.select(keys).unique()
    a = a.join(big, on=keys, how="anti")
    b = b.join(big, on=keys, how="anti")
    joined = a.join(b, on=keys, suffix="_r")
    if left == right or set(zip(left, right, strict=True)) == set(zip(right, left, strict=True)):
        # a symmetric relation (names_crossed too): each pair appears both ways, keep l < r
        pairs = joined.filter(pl.col("profile") < pl.col("profile_r")).select(
            pl.col("profile").alias("l"), pl.col("profile_r").alias("r")
        )
    else:  # one way only (dob_crossed: my forename is your surname): either order, once
        ends = (pl.col("profile"), pl.col("profile_r"))
        pairs = (
            joined.filter(pl.col("profile") != pl.col("profile_r"))
            .select(pl.min_horizontal(*ends).alias("l"), pl.max_horizontal(*ends).alias("r"))
            .unique()
        )
    return pairs, big.height


def candidate_pairs(profiles: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int], int]:
    """Distinct (l, r) candidate pairs; pairs each rule made; blocks skipped.

    Each pair is packed into one 64-bit key (l * 2^32 + r) so that making them distinct is one
    pass over integers."""
    parts, made, skipped = [], {}, 0
    for name, rule in BLOCKING_RULES.items():
        pairs, big = block(profiles, rule, RULE_CAPS.get(name))
        parts.append(
            pairs.select((pl.col("l").cast(pl.UInt64) * (1 << 32) + pl.col("r")).alias("k"))
        )
        made[name] = pairs.height
        skipped += big
    keys = pl.concat(parts).unique().sort("k")
    found = keys.select(
        (pl.col("k") // (1 << 32)).cast(pl.UInt32).alias("l"),
        (pl.col("k") % (1 << 32)).cast(pl.UInt32).alias("r"),
    )
    made["distinct"] = found.height
    return found, made, skipped
