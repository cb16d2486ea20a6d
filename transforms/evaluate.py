"""Linkage quality against a ground truth: pairwise precision, recall and F1, and per cluster.

Pairs are counted from cluster sizes (n choose 2), so no pair list is ever built:
true positives are pairs in the same predicted person and the same true person.
"""

from __future__ import annotations

import polars as pl


def _pairs(col: pl.Expr) -> pl.Expr:
    return (col * (col - 1) // 2).sum()


def pairwise_quality(assigned: pl.DataFrame) -> dict[str, float | int]:
    """`assigned` has one row per record with person_id (predicted) and truth (true person)."""
    predicted = assigned.group_by("person_id").len().select(_pairs(pl.col("len"))).item()
    actual = assigned.group_by("truth").len().select(_pairs(pl.col("len"))).item()
    both = assigned.group_by("person_id", "truth").len().select(_pairs(pl.col("len"))).item()
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
