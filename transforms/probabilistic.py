"""Fellegi-Sunter linkage on keyed field tokens: blocking, comparison levels, EM, match weights.

Works on identity profiles: records with the same field tokens are one profile, so the work grows
with distinct identities, not with events. Nothing here sees a raw value: a comparison is
equality of two keyed tokens (exact, Soundex, prefix, swapped day/month, postcode sector...).

- candidate pairs: profiles sharing the tokens of any blocking rule;
- u (chance agreement) from random profile pairs; m (agreement among matches) by EM over the
  distinct comparison patterns of the candidate pairs (u held fixed, as Splink does);
- exact agreement on names uses the token's own frequency for u (term-frequency adjustment);
- weight = prior log-odds + sum of log2(m/u); probability = 2^w / (1 + 2^w).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

# field -> levels, most specific first: (level name, this side's column, other side's column)
COMPARISONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "forename": (
        ("exact", "tok_f_fn", "tok_f_fn"),
        ("swapped", "tok_f_fn", "tok_f_sn"),
        ("soundex", "tok_f_fn_ph", "tok_f_fn_ph"),
        ("prefix3", "tok_f_fn3", "tok_f_fn3"),
    ),
    "surname": (
        ("exact", "tok_f_sn", "tok_f_sn"),
        ("swapped", "tok_f_sn", "tok_f_fn"),
        ("soundex", "tok_f_sn_ph", "tok_f_sn_ph"),
        ("prefix3", "tok_f_sn3", "tok_f_sn3"),
    ),
    "dob": (
        ("exact", "tok_f_dob", "tok_f_dob"),
        ("swapped", "tok_f_dob_swap", "tok_f_dob"),
        ("year", "tok_f_yob", "tok_f_yob"),
    ),
    "sex": (("exact", "tok_f_sex", "tok_f_sex"),),
    "postcode": (
        ("exact", "tok_f_pc", "tok_f_pc"),
        ("sector", "tok_f_sector", "tok_f_sector"),
        ("district", "tok_f_district", "tok_f_district"),
    ),
}
TF_FIELDS = {"forename": "tok_f_fn", "surname": "tok_f_sn"}
# Blocking rules: a pair is compared when it shares the DOB, or the postcode, or both names'
# Soundex codes and the year of birth (which also catches DOB typos and day/month swaps).
# Wider rules such as (forename, surname) or (surname, year) were measured at a million records:
# 13M and 12M more pairs, nearly all unable to reach the threshold (names alone cannot outweigh
# the prior), so they are left out to keep memory under the 8 GB budget.
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("tok_f_dob",),
    ("tok_f_pc",),
    ("tok_f_fn_ph", "tok_f_sn_ph", "tok_f_yob"),
)
ID_COLUMNS = ("tok_nhs", "tok_nino", "tok_oid")
PROFILE_COLUMNS = tuple(
    sorted(
        {c for levels in COMPARISONS.values() for _, a, b in levels for c in (a, b)}
        | set(ID_COLUMNS)
    )
)
MAX_BLOCK = 2_000  # profiles sharing one blocking value beyond this are not paired (reported)


def gamma_name(f: str) -> str:
    return f"g_{f}"


@dataclass
class Model:
    """m and u per field and level (index 0 = disagree, 1.. = the levels above), and lambda."""

    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float
    iterations: int = 0
    blocks_skipped: int = 0

    def weight(self, f: str, level: int) -> float:
        return math.log2(self.m[f][level] / self.u[f][level])


def profiles_of(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(profiles with a `profile` id and `n` records, record_key -> profile)."""
    cols = [c for c in PROFILE_COLUMNS if c in records.columns]
    filled = records.with_columns(
        pl.lit(None, pl.String).alias(c) for c in PROFILE_COLUMNS if c not in records.columns
    )
    # Tokens become integer codes (one code space for every column, so a forename token can
    # equal a surname token): pairs of profiles then carry 4-byte codes, not 32-byte strings.
    coded = filled.with_columns(
        *[pl.col(c).alias(f"text_{c}") for c in cols],
        *[pl.col(c).cast(pl.Categorical).to_physical() for c in PROFILE_COLUMNS],
    )
    # Profiles are numbered in the order of their tokens' text, not of the codes: the codes
    # depend on what the process met before, and u is estimated from profile numbers.
    text = [f"text_{c}" for c in cols]
    profiles = (
        coded.group_by(list(PROFILE_COLUMNS))
        .agg(pl.len().alias("n"), *[pl.col(t).first() for t in text])
        .sort(text, nulls_last=True)
        .drop(text)
        .with_row_index("profile")
    )
    mapping = coded.join(profiles, on=list(PROFILE_COLUMNS), how="left", nulls_equal=True)
    return profiles, mapping.select("record_key", "profile")


def block(profiles: pl.DataFrame, rule: tuple[str, ...]) -> tuple[pl.DataFrame, int]:
    """(l, r) profile pairs, l < r, sharing every token of the rule; and blocks too big to pair."""
    side = profiles.select("profile", *rule).drop_nulls()
    sizes = side.group_by(list(rule)).len()
    side = side.join(sizes.filter(pl.col("len") <= MAX_BLOCK).select(rule), on=list(rule))
    pairs = side.join(side, on=list(rule), suffix="_r").filter(
        pl.col("profile") < pl.col("profile_r")
    )
    skipped = sizes.filter(pl.col("len") > MAX_BLOCK).height
    return pairs.select(pl.col("profile").alias("l"), pl.col("profile_r").alias("r")), skipped


def candidate_pairs(profiles: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Distinct (l, r) profile pairs, l < r, sharing every token of at least one blocking rule."""
    found = [block(profiles, rule) for rule in BLOCKING_RULES]
    pairs = pl.concat([p for p, _ in found]).unique().sort("l", "r")  # unique's order varies
    return pairs, sum(n for _, n in found)


def comparison_vectors(pairs: pl.DataFrame, profiles: pl.DataFrame) -> pl.DataFrame:
    """One gamma column per field: null (either side missing), 0 disagree, k = k-th level."""
    left = profiles.rename({c: f"{c}_l" for c in profiles.columns if c != "profile"})
    right = profiles.rename({c: f"{c}_r" for c in profiles.columns if c != "profile"})
    joined = pairs.join(left, left_on="l", right_on="profile").join(
        right, left_on="r", right_on="profile"
    )
    gammas = []
    for f, levels in COMPARISONS.items():
        base = levels[0][1]
        expr = pl.when(pl.col(f"{base}_l").is_null() | pl.col(f"{base}_r").is_null()).then(None)
        for k, (name, a, b) in enumerate(levels, start=1):
            there, back = pl.col(f"{a}_l") == pl.col(f"{b}_r"), pl.col(f"{b}_l") == pl.col(f"{a}_r")
            # a name swap needs both names crossed; a day/month swap on either side will do
            same = (there & back) if name == "swapped" and a != "tok_f_dob_swap" else (there | back)
            expr = expr.when(same.fill_null(False)).then(pl.lit(k))
        gammas.append(expr.otherwise(0).cast(pl.Int8).alias(gamma_name(f)))
    conflict = pl.lit(False)
    for c in ID_COLUMNS:
        conflict = conflict | (pl.col(f"{c}_l") != pl.col(f"{c}_r")).fill_null(False)
    return joined.select(
        "l",
        "r",
        *gammas,
        conflict.alias("id_conflict"),
        *[pl.col(f"{TF_FIELDS[f]}_l").alias(f"tf_{f}") for f in TF_FIELDS],
    )


CHUNK_PAIRS = 2_000_000


def comparison_vectors_chunked(
    pairs: pl.DataFrame, profiles: pl.DataFrame, chunk: int = CHUNK_PAIRS
) -> pl.DataFrame:
    """comparison_vectors a chunk of pairs at a time: memory bounded by the chunk, not by n."""
    parts = [
        comparison_vectors(pairs.slice(start, chunk), profiles)
        for start in range(0, pairs.height, chunk)
    ]
    return pl.concat(parts) if parts else comparison_vectors(pairs, profiles)


def estimate_u(profiles: pl.DataFrame, samples: int = 200_000, seed: int = 0) -> dict:
    """Chance agreement per field and level, from random profile pairs."""
    n = profiles.height
    rng = np.random.default_rng(seed)
    pairs = pl.DataFrame(
        {"l": rng.integers(0, n, samples), "r": rng.integers(0, n, samples)},
        schema={"l": pl.UInt32, "r": pl.UInt32},
    ).filter(pl.col("l") != pl.col("r"))
    g = comparison_vectors(pairs, profiles)
    return {f: _level_freq(g[gamma_name(f)], len(levels)) for f, levels in COMPARISONS.items()}


def _level_freq(gamma: pl.Series, levels: int, floor: float = 1e-6) -> list[float]:
    counts = gamma.drop_nulls().value_counts()
    total = max(int(counts["count"].sum()), 1)
    found = dict(zip(counts[gamma.name], counts["count"], strict=True))
    return [max(found.get(k, 0) / total, floor) for k in range(levels + 1)]


def initial_m() -> dict[str, list[float]]:
    out = {}
    for f, levels in COMPARISONS.items():
        agree = [0.85] + [0.04] * (len(levels) - 1)
        out[f] = [max(1 - sum(agree), 0.02), *agree]
    return out


# EM training sessions (as in Splink): pairs blocked on a rule say nothing about the fields the
# rule fixes, so each session estimates m only for the fields its rule leaves free; a field takes
# its m from the first session that leaves it free and has enough pairs. Blocking on the NHS
# number or NINO token first gives pairs that are nearly all matches, so recording noise in every
# identity field is learnt cleanly (no labels are used: the identifier is only a blocking rule).
TRAINING_SESSIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("tok_nhs",), ()),
    (("tok_nino",), ()),
    (("tok_oid",), ()),
    (("tok_f_dob",), ("dob",)),
    (("tok_f_fn", "tok_f_sn"), ("forename", "surname")),
)
MIN_TRAINING_PAIRS = 200


def _em(
    g: pl.DataFrame,
    m: dict,
    u: dict,
    prior: float,
    free: set[str],
    learn_m: bool,
    max_iter: int = 50,
    tol: float = 1e-5,
) -> tuple[dict, float, int]:
    """EM over distinct comparison patterns; m updated for `free` fields when learn_m."""
    fields = list(COMPARISONS)
    cols = [gamma_name(f) for f in fields]
    # Sorted: group_by's order varies run to run, and so would the float sums below.
    patterns = g.filter(~pl.col("id_conflict")).group_by(cols).len().sort(cols)
    gam = patterns.select(cols).to_numpy().astype(float)
    count = patterns["len"].to_numpy().astype(float)
    m = {f: list(v) for f, v in m.items()}
    for it in range(max_iter):
        logit = np.full(len(count), math.log(prior / (1 - prior)))
        for j, f in enumerate(fields):
            if f not in free:
                continue
            for k in range(len(m[f])):
                logit[gam[:, j] == k] += math.log(m[f][k] / u[f][k])
        post = 1 / (1 + np.exp(-np.clip(logit, -50, 50)))
        weighted = post * count
        new_prior = min(max(float(weighted.sum() / count.sum()), 1e-9), 0.999)
        change = abs(new_prior - prior)
        if learn_m:
            for j, f in enumerate(fields):
                if f not in free:
                    continue
                present = ~np.isnan(gam[:, j])
                denom = max(weighted[present].sum(), 1e-12)
                new = [
                    max(float(weighted[present & (gam[:, j] == k)].sum() / denom), 1e-6)
                    for k in range(len(m[f]))
                ]
                change = max(change, *(abs(x - y) for x, y in zip(new, m[f], strict=True)))
                m[f] = new
        prior = new_prior
        if change < tol:
            return m, prior, it + 1
    return m, prior, max_iter


def fit(profiles: pl.DataFrame, g_all: pl.DataFrame, u: dict) -> Model:
    """m by EM in training sessions, then the prior over all candidate pairs with m, u fixed."""
    m, iterations, learnt = initial_m(), 0, set()
    for rule, fixed in TRAINING_SESSIONS:
        free = set(COMPARISONS) - set(fixed) - learnt
        if not free or not set(rule) <= set(profiles.columns):
            continue
        pairs, _ = block(profiles, rule)
        if pairs.height < MIN_TRAINING_PAIRS:
            continue
        learned, _, its = _em(comparison_vectors(pairs, profiles), m, u, 0.5, free, True)
        m.update({f: learned[f] for f in free})
        learnt |= free
        iterations += its
    _, prior, its = _em(g_all, m, u, 0.01, set(COMPARISONS), False)
    # The prior is the chance that two random profiles match (as in Splink), not the match rate
    # among candidate pairs: blocking selects pairs, the weights must then earn the match.
    n = profiles.height
    random_prior = min(max(prior * g_all.height / max(n * (n - 1) / 2, 1), 1e-12), 0.5)
    return Model(m, u, random_prior, iterations + its)


def term_frequencies(profiles: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """For each name field, token -> share of profiles holding it."""
    out = {}
    for f, col in TF_FIELDS.items():
        counts = profiles.select(col).drop_nulls().group_by(col).len()
        total = counts["len"].sum()
        out[f] = counts.select(
            pl.col(col).alias(f"tf_{f}"), (pl.col("len") / total).alias(f"u_{f}")
        )
    return out


def score(g: pl.DataFrame, model: Model, tf: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Add match_weight and match_probability; an NHS number or NINO conflict scores -inf."""
    weight = pl.lit(math.log2(model.prior / (1 - model.prior)))
    for f in COMPARISONS:
        gcol = pl.col(gamma_name(f))
        term = pl.lit(0.0)
        for k in range(len(model.m[f])):
            term = pl.when(gcol == k).then(pl.lit(model.weight(f, k))).otherwise(term)
        if f in tf:  # exact agreement on a rare name is stronger evidence than on a common one
            g = g.join(tf[f], on=f"tf_{f}", how="left")
            tf_weight = (pl.lit(model.m[f][1]) / pl.col(f"u_{f}")).log(2)
            term = (
                pl.when((gcol == 1) & pl.col(f"u_{f}").is_not_null())
                .then(tf_weight)
                .otherwise(term)
            )
        weight = weight + term.fill_null(0.0)
    scored = g.with_columns(
        match_weight=pl.when(pl.col("id_conflict")).then(float("-inf")).otherwise(weight)
    )
    return scored.with_columns(
        match_probability=(2 ** pl.col("match_weight")) / (1 + 2 ** pl.col("match_weight"))
    )


def self_pairs(profiles: pl.DataFrame) -> pl.DataFrame:
    """Profiles holding several records, compared with themselves (do the copies match?)."""
    multi = profiles.filter(pl.col("n") > 1).select(
        pl.col("profile").alias("l"), pl.col("profile").alias("r")
    )
    return comparison_vectors(multi, profiles)
