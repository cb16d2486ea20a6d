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


def _partition(labels) -> list[list[int]]:
    return sorted(np.flatnonzero(labels == v).tolist() for v in np.unique(labels))


def test_ownaverage_linkage_gives_scipys_flat_clusters():
    """The cohesion check's average linkage against scipy's (linkage "average", fcluster by
    distance at 1 - cut), on random similarities of small clusters, some pairs missing (0)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    from transforms.cluster import COHESION, average_linkage

    rng = np.random.default_rng(7)
    split = 0
    for _ in range(500):
        n = int(rng.integers(2, 15))
        i, j = np.triu_indices(n, 1)
        p = rng.random(len(i)) * (rng.random(len(i)) < 0.7)  # about 30% of pairs missing
        sim = np.zeros((n, n))
        sim[i, j] = p
        dist = 1.0 - (sim + sim.T)
        np.fill_diagonal(dist, 0.0)
        tree = linkage(squareform(dist, checks=False), method="average")
        expected = fcluster(tree, t=1.0 - COHESION, criterion="distance")
        got = average_linkage(n, i, j, p, COHESION)
        assert _partition(got) == _partition(expected)
        split += int(got.max() > 1)
    assert 50 < split < 450  # both outcomes were exercised
