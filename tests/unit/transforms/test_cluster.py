import numpy as np
import polars as pl

from transforms.cluster import constrained_labels


def _edges(rows):
    return pl.DataFrame(
        rows, schema={"a": pl.UInt32, "b": pl.UInt32, "strength": pl.Float64}, orient="row"
    )


def test_never_two_nhs_numbers_in_one_person_the_weakest_link_gives_way():
    ids = pl.DataFrame({"tok_nhs": ["n1", None, "n2"], "tok_nino": [None, None, None]})
    labels = constrained_labels(3, _edges([(0, 1, 10.0), (1, 2, 5.0)]), ids)
    assert labels[0] == labels[1] != labels[2]
    labels = constrained_labels(3, _edges([(0, 1, 5.0), (1, 2, 10.0)]), ids)
    assert labels[1] == labels[2] != labels[0]


def test_no_conflict_means_plain_connected_components():
    ids = pl.DataFrame({"tok_nhs": ["n1", None, "n1", None], "tok_nino": [None] * 4})
    labels = constrained_labels(4, _edges([(0, 1, 1.0), (1, 2, 1.0)]), ids)
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_nino_is_a_constraint_too():
    ids = pl.DataFrame({"tok_nhs": [None] * 3, "tok_nino": ["a", "b", None]})
    labels = constrained_labels(3, _edges([(0, 2, 3.0), (1, 2, 2.0), (0, 1, 1.0)]), ids)
    assert labels[0] == labels[2] != labels[1]
    assert len(np.unique(labels)) == 2
