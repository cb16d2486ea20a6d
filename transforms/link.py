"""Linkage on keyed tokens: deterministic match keys, then Fellegi-Sunter on field tokens.

Deterministic edges join each record to the first record holding the same match-key token (a
star per token: n edges, not n^2). Probabilistic edges join profiles whose match probability
reaches the threshold (chosen by the fitted model unless given). Clustering keeps two different
NHS numbers or NINOs apart and splits weakly joined clusters (transforms.cluster). person_id is
an HMAC under the linkage key of the smallest record_key in the person's cluster: the same from
night to night while the cluster's membership is unchanged, new when the key is rotated, and not
computable from a partner's record reference.
Every accepted link is kept with the rule or score that made it (pair table), never a value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import polars_hash  # noqa: F401  (registers the .chash namespace)

from governance.errors import PseudonymisationError
from governance.keys import SecretKey
from governance.match_keys import FIELD_TOKENS, MATCH_KEYS, token_column
from governance.pseudonymise import TOKEN_CODE, person_id, token_code
from transforms import probabilistic as fs
from transforms.blocking import candidate_pairs
from transforms.cluster import cohesive_labels, constrained_labels
from transforms.compare import BLOOM_COLUMNS, ID_COLUMNS

KEY_COLUMNS = tuple(token_column(k) for k in MATCH_KEYS)
FIELD_COLUMNS = tuple(token_column(k) for k in FIELD_TOKENS)
TOKEN_COLUMNS = KEY_COLUMNS + FIELD_COLUMNS
HMAC_COLUMNS = tuple(c for c in TOKEN_COLUMNS if c not in BLOOM_COLUMNS)  # as_codes codes these
DEFAULT_THRESHOLD = 0.99  # a fixed threshold callers may pass; None lets the model choose
DETERMINISTIC_STRENGTH = 1_000.0  # above any match weight: keys are applied before scores


@dataclass
class Linkage:
    links: pl.DataFrame  # record_key, person_id, link_rank, link_rule, match_weight
    pairs: pl.DataFrame  # record_key_l, record_key_r, rule, match_weight, match_probability
    model: fs.Model | None


def token_dtype(column: str) -> pl.DataType:
    """The type the linker holds a token column in (as_codes)."""
    return TOKEN_CODE() if column in HMAC_COLUMNS else pl.String()


def as_codes(records: pl.DataFrame) -> pl.DataFrame:
    """records with each HMAC token column that is still hex text as its integer code
    (governance.pseudonymise.TOKEN_CODE: the same token, a third of the memory); Bloom filters
    stay text (transforms.compare reads their bits). Refused, naming the columns and counts and
    never a value, when a token is not one (a staged file is checked for that at ingest)."""
    todo = [c for c in HMAC_COLUMNS if c in records.columns and records[c].dtype == pl.String]
    if not todo:
        return records
    coded = records.with_columns(token_code(pl.col(c)).alias(c) for c in todo)
    bad = {c: coded[c].null_count() - records[c].null_count() for c in todo}
    bad = {c: n for c, n in bad.items() if n}
    if bad:
        raise PseudonymisationError(
            "values that are not keyed tokens ("
            + ", ".join(f"{c}: {n:,}" for c, n in sorted(bad.items()))
            + "). Fix: link tokens made by the pipeline (`mcn run` stages them)"
        )
    return coded


def token_edges(records: pl.DataFrame) -> pl.DataFrame:
    """(a, b, rank, rule) for every record b sharing a match-key token with record a."""
    parts = []
    for key in MATCH_KEYS:
        col = token_column(key)
        if col not in records.columns:
            continue
        parts.append(
            records.select("idx", col)
            .drop_nulls()
            .with_columns(a=pl.col("idx").min().over(col))
            .filter(pl.col("idx") != pl.col("a"))
            .select(
                "a",
                pl.col("idx").alias("b"),
                pl.lit(key.rank, pl.Int8).alias("rank"),
                pl.lit(key.name).alias("rule"),
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={"a": pl.UInt32, "b": pl.UInt32, "rank": pl.Int8, "rule": pl.String}
        )
    return pl.concat(parts)


@dataclass
class Scored:
    """What the probabilistic stage leaves for clustering: accepted edges, the model, the
    profile of each record, and a way to score any profile pairs under the fitted model."""

    edges: pl.DataFrame  # a, b (record idx), match_weight, match_probability
    model: fs.Model | None
    unit: np.ndarray | None = None  # profile per record idx
    similarity: Callable[[pl.DataFrame], pl.DataFrame] | None = None


EMPTY_EDGES = {
    "a": pl.UInt32,
    "b": pl.UInt32,
    "match_weight": pl.Float64,
    "match_probability": pl.Float64,
}


def probabilistic_edges(
    records: pl.DataFrame,
    threshold: float | None,
    profiled: Callable[[], None] | None = None,
) -> Scored:
    """Record edges from accepted profile pairs; threshold None: chosen from the model.
    `profiled` is called once the profiles are made: the records' tokens are not read after."""
    empty = Scored(pl.DataFrame(schema=EMPTY_EDGES), None)
    if not any(c in records.columns for c in FIELD_COLUMNS):
        return empty
    clock, seconds = time.perf_counter(), {}

    def lap(name: str) -> None:
        nonlocal clock
        seconds[name] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()

    profiles, mapping = fs.profiles_of(
        records.select("record_key", *[c for c in fs.PROFILE_COLUMNS if c in records.columns])
    )
    if profiled is not None:
        profiled()
    lap("profiles")
    pairs, added, skipped = candidate_pairs(profiles)
    lap("blocking")
    if pairs.is_empty():
        return empty
    g = fs.comparison_vectors_chunked(pairs, profiles)
    lap("comparing")
    model = fs.fit(profiles, g, fs.estimate_u(profiles))
    model.blocks_skipped, model.candidates = skipped, added
    lap("fitting")
    tf = fs.term_frequencies(profiles)
    scored = pl.concat(
        [fs.scores(g, model, tf), fs.scores(fs.self_pairs(profiles), model, tf)],
        how="diagonal_relaxed",
    )
    del g  # the comparison vectors: the largest frame of the build
    lap("scoring")
    chosen, expected = fs.choose_threshold(scored["match_probability"])
    model.threshold = chosen if threshold is None else threshold
    model.expected = fs.expected_quality(scored["match_probability"], model.threshold)
    model.expected["best_f1_threshold"] = chosen
    accepted = scored.filter(pl.col("match_probability") >= model.threshold)
    accepted = household_joins_dropped(accepted)
    lap("threshold")
    members = mapping.join(records.select("record_key", "idx"), on="record_key")
    unit = members.sort("idx")["profile"].to_numpy()

    def similarity(unit_pairs: pl.DataFrame) -> pl.DataFrame:
        g_ = fs.comparison_vectors_chunked(unit_pairs.cast(pl.UInt32), profiles)
        out = fs.scores(g_, model, tf).select("l", "r", pl.col("match_probability").alias("p"))
        return out.with_columns(pl.col("p").fill_nan(0.0)).cast({"l": pl.Int64, "r": pl.Int64})

    edges = _record_edges(accepted, members)
    lap("record_edges")
    model.seconds = seconds
    return Scored(edges, model, unit, similarity)


def _record_edges(accepted: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Profile pairs -> record edges: representative to representative, and each profile's
    other records to its representative (at the profile's best score)."""
    rep = members.group_by("profile").agg(pl.col("idx").min().alias("rep"))
    between = (
        accepted.join(rep, left_on="l", right_on="profile")
        .join(rep, left_on="r", right_on="profile", suffix="_r")
        .select(
            pl.col("rep").alias("a"),
            pl.col("rep_r").alias("b"),
            "match_weight",
            "match_probability",
        )
    )
    best = (
        pl.concat(
            [
                accepted.select(pl.col("l").alias("profile"), "match_weight", "match_probability"),
                accepted.select(pl.col("r").alias("profile"), "match_weight", "match_probability"),
            ]
        )
        .group_by("profile")
        .agg(pl.col("match_weight").max(), pl.col("match_probability").max())
    )
    within = (
        members.join(rep, on="profile")
        .join(best, on="profile")
        .filter(pl.col("idx") != pl.col("rep"))
        .select(
            pl.col("rep").alias("a"), pl.col("idx").alias("b"), "match_weight", "match_probability"
        )
    )
    return pl.concat([between.filter(pl.col("a") != pl.col("b")), within])


def link_records(
    records: pl.DataFrame,
    threshold: float | None = None,
    *,
    key: SecretKey,
    take_tokens: bool = False,
) -> Linkage:
    """Link records (record_key and tok_* columns, each record_key once) into persons.

    Tokens are only compared, so they may be text or codes (as_codes: what the night and
    `mcn linkage evaluate` pass, a third of the memory); hand-made test tokens stay text.

    threshold: match probability at which a scored pair is accepted; None (the default) takes
    the one the fitted model expects to give the best F1 (model.threshold says which).
    key: the linkage key: person_id is keyed with it (governance.pseudonymise.person_id).
    take_tokens: remove the token columns from the caller's `records` (in place) once the
    profiles are made, so blocking, scoring, clustering and the link tables run without them
    (the night's build: a gigabyte at a million people; the frame must share them with no
    other frame).
    """
    given = records
    # idx follows record_key, so sorting by idx is sorting by record key (integers, not strings)
    records = records.sort("record_key").with_row_index("idx")
    clock = time.perf_counter()
    det = token_edges(records)
    keys_seconds = round(time.perf_counter() - clock, 2)
    needed = ("idx", "record_key", *ID_COLUMNS)  # what clustering and the link tables read

    def release() -> None:  # in place: nothing else holds the columns once both let go
        if take_tokens:
            for frame, keep in ((given, ("record_key",)), (records, needed)):
                for c in [c for c in frame.columns if c not in keep]:
                    frame.drop_in_place(c)

    prob = probabilistic_edges(records, threshold, release)
    release()  # when there were no field tokens to profile
    records = records.select([c for c in needed if c in records.columns])
    edges = pl.concat(
        [
            det.select(
                "a",
                "b",
                (DETERMINISTIC_STRENGTH - pl.col("rank").cast(pl.Float64)).alias("strength"),
                "rule",
                pl.col("rank"),
                pl.lit(None, pl.Float64).alias("match_weight"),
                pl.lit(None, pl.Float64).alias("match_probability"),
            ),
            prob.edges.select(
                "a",
                "b",
                pl.col("match_weight").alias("strength"),
                pl.lit("fs").alias("rule"),
                pl.lit(None, pl.Int8).alias("rank"),
                "match_weight",
                "match_probability",
            ),
        ]
    )
    ids = records.select([c for c in ID_COLUMNS if c in records.columns])
    start = time.perf_counter()
    labels = constrained_labels(records.height, edges, ids)
    if prob.similarity is not None and prob.unit is not None and prob.model is not None:
        constrained = time.perf_counter()
        labels, split = cohesive_labels(labels, prob.unit, edges, _with_keys(prob, det))
        prob.model.clusters_split = split
        prob.model.seconds["clustering"] = round(constrained - start, 2)
        prob.model.seconds["cohesion"] = round(time.perf_counter() - constrained, 2)
    kept = edges.filter(pl.Series(labels[edges["a"].to_numpy()] == labels[edges["b"].to_numpy()]))
    clock = time.perf_counter()
    links = _links(records, labels, kept, key)
    links_seconds = round(time.perf_counter() - clock, 2)
    clock = time.perf_counter()
    pairs = _pairs(records, kept)
    if prob.model is not None:
        prob.model.seconds.update(
            keys=keys_seconds, links=links_seconds, pairs=round(time.perf_counter() - clock, 2)
        )
    return Linkage(links, pairs, prob.model)


def household_joins_dropped(accepted: pl.DataFrame) -> pl.DataFrame:
    """Accepted profile pairs less those whose forename and DOB both disagree
    (`person_conflict`) where either profile has an accepted pair that does not: a parent and a
    child, or two siblings, at one address, each with records of their own, agree on surname,
    postcode and address and on nothing of their own. A pair with no better partner on either
    side is kept: one record with its forename and DOB both wrong (FEBRL counts such pairs as
    duplicates). docs/linkage.md section 7."""
    firm = accepted.filter(~pl.col("person_conflict"))  # a profile's own copies count too
    partnered = pl.concat([firm["l"], firm["r"]]).unique().implode()
    household = pl.col("person_conflict") & (
        pl.col("l").is_in(partnered) | pl.col("r").is_in(partnered)
    )
    return accepted.filter(~household).drop("person_conflict")


def _with_keys(prob: Scored, det: pl.DataFrame) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Profile-pair similarity where a shared match key counts as certain."""
    unit, score = prob.unit, prob.similarity
    if unit is None or score is None:
        raise ValueError("no fitted model to score profile pairs with")
    keyed = (
        pl.DataFrame({"ka": unit[det["a"].to_numpy()], "kb": unit[det["b"].to_numpy()]})
        .select(
            pl.min_horizontal("ka", "kb").cast(pl.Int64).alias("l"),
            pl.max_horizontal("ka", "kb").cast(pl.Int64).alias("r"),
            pl.lit(1.0).alias("key"),
        )
        .unique()
    )

    def similarity(pairs: pl.DataFrame) -> pl.DataFrame:
        out = score(pairs).join(keyed, on=["l", "r"], how="left")
        return out.select("l", "r", pl.max_horizontal("p", pl.col("key").fill_null(0.0)).alias("p"))

    return similarity


def _rule_codes(kept: pl.DataFrame) -> tuple[list[str], pl.Expr]:
    """The link rules present, in name order, and each edge's rule as its place in that order."""
    rules = sorted(set(kept["rule"].unique().to_list())) or [""]
    return rules, pl.col("rule").replace_strict(
        rules, list(range(len(rules))), return_dtype=pl.Int64
    )


def _links(records: pl.DataFrame, labels, kept: pl.DataFrame, key: SecretKey) -> pl.DataFrame:
    """record_key -> person_id, with each record's strongest link (lowest rank, then rule name).

    The strongest link is one integer minimum per record (rank * rules + the rule's place in
    name order), not a sort per record; person_id is keyed once per cluster, not per record."""
    rules, code = _rule_codes(kept)
    n = len(rules)
    order = (pl.col("rank").cast(pl.Int64).fill_null(99) * n + code).alias("order")
    weighed = kept.select("a", "b", order, "match_weight")
    ends = pl.concat(
        [
            weighed.select(pl.col("a").alias("idx"), "order", "match_weight"),
            weighed.select(pl.col("b").alias("idx"), "order", "match_weight"),
        ]
    )
    rank = pl.col("order") // n
    best = ends.group_by("idx").agg(pl.col("order").min(), pl.col("match_weight").max())
    best = best.select(
        "idx",
        pl.when(rank != 99).then(rank).cast(pl.Int8).alias("link_rank"),
        (pl.col("order") % n).replace_strict(list(range(n)), rules).alias("link_rule"),
        "match_weight",
    )
    linked = records.select("idx", "record_key").with_columns(cluster=pl.Series(labels))
    people = linked.group_by("cluster").agg(pl.col("record_key").min().alias("rep"))
    people = people.select("cluster", person_id(pl.col("rep"), key))
    return (
        linked.join(people, on="cluster", how="left")
        .join(best, on="idx", how="left")
        .sort("idx")  # idx follows record_key
        .select("record_key", "person_id", "link_rank", "link_rule", "match_weight")
    )


def _pairs(records: pl.DataFrame, kept: pl.DataFrame) -> pl.DataFrame:
    keys = records["record_key"]  # row idx holds record idx
    _, code = _rule_codes(kept)
    # idx follows record_key and the code rule names' order: the same pairs, the same file
    pair = pl.col("a").cast(pl.UInt64) * (1 << 32) + pl.col("b")  # one integer: half the sort
    ordered = kept.sort(pair, code)
    return ordered.select(
        pl.Series("record_key_l", keys.gather(ordered["a"])),
        pl.Series("record_key_r", keys.gather(ordered["b"])),
        "rule",
        "match_weight",
        "match_probability",
    )


def link_table(
    records: pl.DataFrame, threshold: float | None = None, *, key: SecretKey
) -> pl.DataFrame:
    """record_key -> person_id (and how it was linked)."""
    return link_records(records, threshold, key=key).links
