"""Fellegi-Sunter linkage on keyed field tokens: profiles, comparison vectors, EM, match weights.

Works on identity profiles: records with the same field tokens are one profile, so the work grows
with distinct identities, not with events. Nothing here sees a raw value: a comparison is
equality of two keyed tokens or the Dice similarity of two keyed Bloom filters
(transforms.compare); candidate pairs come from transforms.blocking.

- u (chance agreement) from random profile pairs;
- m (agreement among matches) by EM in training sessions, u held fixed, as Splink does;
- the prior (lambda, the chance two random profiles match) by EM over every candidate pair with
  m and u fixed and lambda free: the expected number of matching candidate pairs, over all pairs;
- exact agreement on names uses the token's own frequency for u (term-frequency adjustment), so
  two records agreeing only on rare names can link and on common names cannot;
- weight = prior log-odds + sum of log2(m/u); probability = 2^w / (1 + 2^w);
- the threshold is chosen from the model: the one with the best expected F1 (expected true
  pairs = sum of probabilities), reported with its expected precision and recall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from governance.match_keys import FIELD_TOKENS, ID_TOKENS, token_column
from transforms.blocking import block
from transforms.compare import (
    BLOOM_COLUMNS,
    COMPARISONS,
    FIELDS,
    TF_FIELDS,
    bloom_lanes,
    gamma,
    gamma_name,
    id_conflict,
    person_conflict,
)

ID_COLUMNS = ID_TOKENS
PROFILE_COLUMNS = tuple(sorted({token_column(k) for k in FIELD_TOKENS} | set(ID_COLUMNS)))
CODED_COLUMNS = tuple(c for c in PROFILE_COLUMNS if c not in BLOOM_COLUMNS)
# Every field token is made from one of these (the same canonical value under the same key gives
# the same tokens), so records agreeing on these agree on all: a profile is keyed on them alone.
BASE_COLUMNS = (
    "tok_f_fn",
    "tok_f_fn_nick",
    "tok_f_sn",
    "tok_f_dob",
    "tok_f_sex",
    "tok_f_pc",
    "tok_f_addr",
    *ID_COLUMNS,
)


@dataclass
class Model:
    """m and u per field and level (index 0 = disagree, 1.. = the levels), and the prior."""

    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float
    iterations: int = 0
    blocks_skipped: int = 0
    threshold: float | None = None
    expected: dict[str, float] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)
    clusters_split: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per linkage stage

    def weight(self, f: str, level: int) -> float:
        """log2(m/u); a partial agreement never counts against a pair more than disagreeing
        (a level EM never saw among matches gets a tiny m, which would otherwise make, say, a
        one-digit DOB typo worse evidence than a different DOB)."""
        raw = math.log2(self.m[f][level] / self.u[f][level])
        if level == 0:
            return raw
        return max(raw, math.log2(self.m[f][0] / self.u[f][0]))

    def summary(self) -> dict:
        """The fitted model as plain data (no values): for reports and the chart."""
        return {
            "prior": self.prior,
            "iterations": self.iterations,
            "blocks_skipped": self.blocks_skipped,
            "threshold": self.threshold,
            "expected": self.expected,
            "candidate_pairs_by_rule": self.candidates,
            "clusters_split": self.clusters_split,
            "seconds": self.seconds,
            "levels": {f: ["disagree", *COMPARISONS[f]] for f in self.m},
            "m": self.m,
            "u": self.u,
            "weights": {
                f: [round(self.weight(f, k), 3) for k in range(len(v))] for f, v in self.m.items()
            },
        }


def _code(col: str) -> pl.Expr:
    """A token as a 64-bit integer code. One code space for every column, so a forename token
    can equal a surname token; pairs then carry 8-byte codes, not 32-character strings. The
    hash is only an in-memory code for equality within this process, never stored or used as a
    pseudonym (Expr.hash is not stable across polars versions); 64 bits make a collision among
    a few million distinct tokens about a one-in-a-million chance."""
    return (
        pl.col(col)
        .hash(seed=0)
        .alias(col)
        .pipe(lambda h: pl.when(pl.col(col).is_not_null()).then(h))
    )


def profiles_of(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(profiles with a `profile` id and `n` records, record_key -> profile)."""
    filled = records.with_columns(
        pl.lit(None, pl.String).alias(c) for c in PROFILE_COLUMNS if c not in records.columns
    )
    coded = filled.select("record_key", *[_code(c) for c in BASE_COLUMNS])
    rest = [c for c in PROFILE_COLUMNS if c not in BASE_COLUMNS]
    # one row per profile first; only then are its other tokens coded (fewer rows to hash)
    firsts = filled.select(rest).with_columns(coded.select(BASE_COLUMNS))
    profiles = (
        firsts.group_by(list(BASE_COLUMNS))
        .agg(pl.len().alias("n"), *[pl.col(c).first() for c in rest])
        .sort(list(BASE_COLUMNS), nulls_last=True)
        .with_row_index("profile")
        .with_columns(_code(c) for c in CODED_COLUMNS if c not in BASE_COLUMNS)
    )
    mapping = coded.join(
        profiles.select("profile", *BASE_COLUMNS), on=list(BASE_COLUMNS), nulls_equal=True
    )
    profiles = bloom_lanes(profiles).drop(list(BLOOM_COLUMNS))
    return profiles, mapping.select("record_key", "profile")


def comparison_vectors(pairs: pl.DataFrame, profiles: pl.DataFrame) -> pl.DataFrame:
    """One gamma column per field, the NHS/NINO conflict flag, and the name tokens for tf."""
    # profile ids are row numbers: gather rows directly instead of joining on the id
    body = profiles.drop("profile")
    left = body[pairs["l"].cast(pl.Int64)].rename({c: f"{c}_l" for c in body.columns})
    right = body[pairs["r"].cast(pl.Int64)].rename({c: f"{c}_r" for c in body.columns})
    joined = pl.concat([pairs, left, right], how="horizontal")
    return joined.select(
        "l",
        "r",
        *[gamma(f) for f in FIELDS],
        id_conflict(),
        *[pl.col(f"{TF_FIELDS[f]}_l").alias(f"tf_{f}") for f in TF_FIELDS],
    )


CHUNK_PAIRS = 500_000


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
    return {f: _level_freq(g[gamma_name(f)], len(lv)) for f, lv in COMPARISONS.items()}


def _level_freq(gamma_: pl.Series, levels: int, floor: float = 1e-6) -> list[float]:
    counts = gamma_.drop_nulls().value_counts()
    total = max(int(counts["count"].sum()), 1)
    found = dict(zip(counts[gamma_.name], counts["count"], strict=True))
    return [max(found.get(k, 0) / total, floor) for k in range(levels + 1)]


def initial_m() -> dict[str, list[float]]:
    out = {}
    for f, levels in COMPARISONS.items():
        agree = [0.8] + [0.15 / max(len(levels) - 1, 1)] * (len(levels) - 1)
        out[f] = [max(1 - sum(agree), 0.05), *agree]
    return out


# EM training sessions (as in Splink): pairs blocked on a rule say nothing about the fields the
# rule fixes, so each session estimates m only for the fields its rule leaves free; a field takes
# its m from the first session that leaves it free and has enough pairs. Blocking on the
# NHS number or NINO token first gives pairs that are nearly all matches, so recording noise in
# every identity field is learnt cleanly (no labels are used: the identifier is only a blocking
# rule).
TRAINING_SESSIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("tok_nhs",), ()),
    (("tok_nino",), ()),
    (("tok_f_dob",), ("dob",)),
    (("tok_f_fn", "tok_f_sn"), ("forename", "surname")),
    (("tok_f_pc",), ("postcode",)),
)
MIN_TRAINING_PAIRS = 200
MAX_TRAINING_PAIRS = 2_000_000  # a session samples this many pairs at most


def _em(
    g: pl.DataFrame,
    m: dict,
    u: dict,
    prior: float,
    free: set[str],
    learn_m: bool,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> tuple[dict, float, int]:
    """EM over distinct comparison patterns; m updated for `free` fields when learn_m."""
    fields = list(COMPARISONS)
    cols = [gamma_name(f) for f in fields]
    # Sorted: group_by's order varies run to run, and so would the float sums below.
    patterns = g.filter(~pl.col("id_conflict")).group_by(cols).len().sort(cols)
    gam = patterns.select(cols).to_numpy().astype(float)
    count = patterns["len"].to_numpy().astype(float)
    m = {f: list(v) for f, v in m.items()}
    if count.sum() == 0:  # no comparable pair (a tiny drop): nothing to learn, keep the start
        return m, prior, 0
    for it in range(max_iter):
        logit = np.full(len(count), math.log(prior / (1 - prior)))
        for j, f in enumerate(fields):
            if f not in free:
                continue
            for k in range(len(m[f])):
                logit[gam[:, j] == k] += math.log(m[f][k] / u[f][k])
        post = 1 / (1 + np.exp(-np.clip(logit, -50, 50)))
        weighted = post * count
        new_prior = min(max(float(weighted.sum() / count.sum()), 1e-12), 1 - 1e-9)
        change = abs(new_prior - prior) / max(prior, 1e-12)
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


def learn_m(profiles: pl.DataFrame, u: dict) -> tuple[dict, int]:
    """m per field and level by EM in the training sessions."""
    m, iterations = initial_m(), 0
    learnt: set[str] = set()
    for rule, fixed in TRAINING_SESSIONS:
        free = set(COMPARISONS) - set(fixed) - learnt
        if not free or not set(rule) <= set(profiles.columns):
            continue
        pairs, _ = block(profiles, rule, max_block=2_000)
        if pairs.height < MIN_TRAINING_PAIRS:
            continue
        if pairs.height > MAX_TRAINING_PAIRS:
            pairs = pairs.sample(MAX_TRAINING_PAIRS, seed=0)
        learned, _, its = _em(comparison_vectors(pairs, profiles), m, u, 0.5, free, True)
        m.update({f: learned[f] for f in free})
        learnt |= free
        iterations += its
    return m, iterations


# The prior from a deterministic rule, as Splink does: pairs agreeing exactly on these fields are
# nearly all matches; divided by the share of matches that would agree so (the rule's recall,
# from m and from how often the fields are present), they give the number of matching pairs.
PRIOR_RULE = {"forename": "tok_f_fn", "surname": "tok_f_sn", "dob": "tok_f_dob"}
MIN_RULE_PAIRS = 50  # fewer: the rule says too little, EM over the candidates decides


def deterministic_matches(profiles: pl.DataFrame, m: dict) -> float | None:
    """Expected matching profile pairs: pairs agreeing on PRIOR_RULE over the rule's recall."""
    cols = list(PRIOR_RULE.values())
    if not set(cols) <= set(profiles.columns):
        return None
    sizes = profiles.select(cols).drop_nulls().group_by(cols).len()["len"].cast(pl.Float64)
    agreeing = float((sizes * (sizes - 1) / 2).sum())
    if agreeing < MIN_RULE_PAIRS:
        return None
    recall = 1.0
    for f, col in PRIOR_RULE.items():
        present = float(profiles.select(pl.col(col).is_not_null().mean()).item())
        recall *= m[f][1] * present**2
    return agreeing / max(recall, 1e-9)


def fit(profiles: pl.DataFrame, g_all: pl.DataFrame, u: dict) -> Model:
    """m by EM in training sessions, then the prior: from the deterministic rule where it has
    enough pairs, else by EM over all candidates with m and u fixed (lambda free)."""
    m, iterations = learn_m(profiles, u)
    n = profiles.height
    all_pairs = max(n * (n - 1) / 2, 1)
    matches = deterministic_matches(profiles, m)
    its = 0
    if matches is None:
        _, rate, its = _em(g_all, m, u, 0.01, set(COMPARISONS), False)
        matches = rate * g_all.height
    # the chance two random profiles match (as in Splink), so blocking only chooses which
    # pairs to score, and the weights must earn the match
    prior = min(max(matches / all_pairs, 1e-12), 0.5)
    return Model(m, u, prior, iterations + its)


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
    """Add match_weight and match_probability (an NHS number or NINO conflict scores -inf),
    and whether forename and DOB both disagree (compare.person_conflict)."""
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
        match_weight=pl.when(pl.col("id_conflict")).then(float("-inf")).otherwise(weight),
        person_conflict=person_conflict(),
    ).drop([f"u_{f}" for f in tf])
    return scored.with_columns(
        match_probability=(2 ** pl.col("match_weight")) / (1 + 2 ** pl.col("match_weight"))
    )


SCORED = ("l", "r", "match_weight", "match_probability", "person_conflict")


def scores(
    g: pl.DataFrame, model: Model, tf: dict[str, pl.DataFrame], chunk: int = CHUNK_PAIRS
) -> pl.DataFrame:
    """score a chunk of pairs at a time, keeping each pair's weight and probability only: a
    chunk's gammas and name columns are let go once scored, so scoring adds a few bytes a pair
    to the comparison vectors, not a second copy of them (16.6 GB at 5M people otherwise)."""
    parts = [
        score(g.slice(start, chunk), model, tf).select(SCORED)
        for start in range(0, g.height, chunk)
    ]
    return pl.concat(parts) if parts else score(g, model, tf).select(SCORED)


def self_pairs(profiles: pl.DataFrame) -> pl.DataFrame:
    """Profiles holding several records, compared with themselves (do the copies match?)."""
    multi = profiles.filter(pl.col("n") > 1).select(
        pl.col("profile").alias("l"), pl.col("profile").alias("r")
    )
    return comparison_vectors(multi, profiles)


THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 0.995, 0.999)


def expected_quality(probability: pl.Series, threshold: float) -> dict[str, float]:
    """Expected precision, recall and F1 at a threshold, from the match probabilities alone."""
    p = probability.fill_nan(0.0).to_numpy()
    accepted = p >= threshold
    tp, total = float(p[accepted].sum()), float(p.sum())
    precision = tp / max(accepted.sum(), 1)
    recall = tp / total if total else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def choose_threshold(probability: pl.Series) -> tuple[float, dict[str, float]]:
    """The threshold with the best expected F1 (ties: the higher threshold)."""
    best = max(THRESHOLDS, key=lambda t: (round(expected_quality(probability, t)["f1"], 4), t))
    return best, expected_quality(probability, best)
