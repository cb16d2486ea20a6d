"""Linkage quality against a ground truth: pairwise precision, recall and F1.

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
    return {
        "records": assigned.height,
        "true_pairs": int(actual),
        "predicted_pairs": int(predicted),
        "true_positive_pairs": int(both),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_persons": assigned["truth"].n_unique(),
        "predicted_persons": assigned["person_id"].n_unique(),
    }
