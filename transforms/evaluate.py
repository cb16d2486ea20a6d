"""Linkage quality against a ground truth: pairwise precision, recall and F1, and per cluster.

Pairs are counted from cluster sizes (n choose 2), so no pair list is ever built:
true positives are pairs in the same predicted person and the same true person.
"""

from __future__ import annotations

import polars as pl


def _pairs(col: pl.Expr) -> pl.Expr:
    return (col * (col - 1) // 2).sum()


def _count(assigned: pl.DataFrame, keys: list[str], across: str | None) -> int:
    """Pairs of records sharing `keys`; with `across`, only pairs whose `across` values differ
    (all pairs less the pairs inside one value)."""
    total = assigned.group_by(keys).len().select(_pairs(pl.col("len"))).item()
    if across is None:
        return int(total)
    inside = assigned.group_by([*keys, across]).len().select(_pairs(pl.col("len"))).item()
    return int(total - inside)


def pairwise_quality(assigned: pl.DataFrame, across: str | None = None) -> dict[str, float | int]:
    """`assigned` has one row per record with person_id (predicted) and truth (true person).
    With `across` (a column such as the source file), only pairs between records with different
    values count: link-only evaluation of two files, as Splink's `link_only`."""
    predicted = _count(assigned, ["person_id"], across)
    actual = _count(assigned, ["truth"], across)
    both = _count(assigned, ["person_id", "truth"], across)
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = assigned.group_by("person_id").agg(
        pl.col("truth").first(), pl.col("truth").n_unique().alias("k"), pl.len().alias("n")
    )
    true_sizes = assigned.group_by("truth").len().rename({"len": "true_n"})
    whole = (
        exact.filter(pl.col("k") == 1)
        .join(true_sizes, on="truth")
        .filter(pl.col("n") == pl.col("true_n"))
    )
    return {
        "records": assigned.height,
        # share of linked persons that are exactly one true person, all of their records
        "cluster_precision": whole.height / exact.height if exact.height else 1.0,
        # share of true persons recovered exactly
        "cluster_recall": whole.height / true_sizes.height if true_sizes.height else 1.0,
        "true_pairs": int(actual),
        "predicted_pairs": int(predicted),
        "true_positive_pairs": int(both),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_persons": assigned["truth"].n_unique(),
        "predicted_persons": assigned["person_id"].n_unique(),
    }
