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
