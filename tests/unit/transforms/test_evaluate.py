import polars as pl
import pytest

from transforms.evaluate import pairwise_quality


def test_pairwise_counts_by_hand():
    # truth: {a1,a2,a3} {b1,b2}; predicted: {a1,a2} {a3,b1,b2}
    df = pl.DataFrame({"person_id": ["P", "P", "Q", "Q", "Q"], "truth": ["A", "A", "A", "B", "B"]})
    q = pairwise_quality(df)
    # true pairs 3+1=4; predicted 1+3=4; correct: (a1,a2) and (b1,b2) = 2
    assert (q["true_pairs"], q["predicted_pairs"], q["true_positive_pairs"]) == (4, 4, 2)
    assert q["precision"] == pytest.approx(0.5) and q["recall"] == pytest.approx(0.5)


def test_perfect_linkage_scores_one():
    df = pl.DataFrame({"person_id": ["P", "P", "Q"], "truth": ["A", "A", "B"]})
    assert pairwise_quality(df)["f1"] == 1.0


def test_cluster_level_scores_by_hand():
    # truth: {a1,a2} {b1}; predicted: {a1,a2} exactly, {b1} exactly -> both 1.0
    df = pl.DataFrame({"person_id": ["P", "P", "Q"], "truth": ["A", "A", "B"]})
    q = pairwise_quality(df)
    assert q["cluster_precision"] == 1.0 and q["cluster_recall"] == 1.0
    # truth {a1,a2,a3}; predicted {a1,a2} {a3}: no person exactly right, none recovered
    df = pl.DataFrame({"person_id": ["P", "P", "Q"], "truth": ["A", "A", "A"]})
    q = pairwise_quality(df)
    assert q["cluster_precision"] == 0.0 and q["cluster_recall"] == 0.0


def test_link_only_counts_pairs_across_files_only_by_hand():
    # file x holds x1 (person A) and x2 (B); file y holds y1 (A) and y2 (B)
    # truth: A = {x1, y1}, B = {x2, y2}; predicted: P = {x1, x2, y1}, Q = {y2}
    df = pl.DataFrame(
        {
            "person_id": ["P", "P", "P", "Q"],
            "truth": ["A", "B", "A", "B"],
            "extract": ["x", "x", "y", "y"],
        }
    )
    every = pairwise_quality(df)
    # every pair: predicted P has 3 pairs, of which (x1,y1) is true; true pairs (x1,y1) (x2,y2)
    assert (every["predicted_pairs"], every["true_positive_pairs"], every["true_pairs"]) == (
        3,
        1,
        2,
    )
    across = pairwise_quality(df, across="extract")
    # across files: P's pairs (x1,y1) (x2,y1); the within-file (x1,x2) no longer counts
    assert (across["predicted_pairs"], across["true_positive_pairs"], across["true_pairs"]) == (
        2,
        1,
        2,
    )
    assert across["precision"] == pytest.approx(0.5) and across["recall"] == pytest.approx(0.5)
