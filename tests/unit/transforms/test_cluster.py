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


def _prob_edges(rows):
    """a, b, match_probability (None: a match key's link)."""
    return pl.DataFrame(
        rows, schema={"a": pl.UInt32, "b": pl.UInt32, "match_probability": pl.Float64}, orient="row"
    )


def test_a_large_cluster_is_cut_at_its_weak_link_and_a_profile_stays_whole():
    from transforms.cluster import cut_large

    # two chains of 6 profiles (records 0-5 and 6-11), strong links, joined by one weak link;
    # record 12 is a second record of profile 0 with no link of its own
    rows = [(i, i + 1, 0.9999) for i in range(5)] + [(i, i + 1, 0.9999) for i in range(6, 11)]
    rows.append((5, 6, 0.95))
    unit = np.r_[np.arange(12), 0]
    labels = np.zeros(13, dtype=np.int32)
    out, cut = cut_large(labels, unit, _prob_edges(rows), limit=10)
    assert cut == 1
    assert _partition(out) == [[0, 1, 2, 3, 4, 5, 12], [6, 7, 8, 9, 10, 11]]
    # under the limit: left for the cohesion check, untouched
    out, cut = cut_large(labels, unit, _prob_edges(rows), limit=12)
    assert cut == 0 and len(np.unique(out)) == 1


def test_a_large_cluster_held_by_match_keys_alone_stays_whole():
    from transforms.cluster import cut_large

    rows = [(i, i + 1, None) for i in range(11)]
    labels = np.zeros(12, dtype=np.int32)
    out, cut = cut_large(labels, np.arange(12), _prob_edges(rows), limit=10)
    assert cut == 0 and len(np.unique(out)) == 1


def test_the_cohesion_check_splits_small_clusters_beside_one_too_large_to_check():
    """A cluster of more profiles than MAX_COHESION_PROFILES (held by match keys) is left
    whole, and a small weakly joined cluster beside it is still split at COHESION."""
    from transforms.cluster import COHESION, MAX_COHESION_PROFILES, cohesive_labels

    big = MAX_COHESION_PROFILES + 5
    rows = [(i, i + 1, None) for i in range(big - 1)]
    rows += [(big, big + 1, 0.999), (big + 1, big + 2, 0.15)]  # 0.999 then 0.15; 0 between ends
    n = big + 3
    labels = np.r_[np.zeros(big, dtype=np.int32), np.ones(3, dtype=np.int32)]
    known = {(big, big + 1): 0.999, (big + 1, big + 2): 0.15}

    def similarity(pairs: pl.DataFrame) -> pl.DataFrame:
        p = [known.get((int(l_), int(r)), 0.0) for l_, r in pairs.iter_rows()]
        return pairs.with_columns(p=pl.Series(p, dtype=pl.Float64))

    assert (0.999 + 0.15) / 2 > COHESION > (0.15 + 0.0) / 2  # so the third profile splits off
    out, split = cohesive_labels(labels, np.arange(n), _prob_edges(rows), similarity)
    assert split == 1
    assert _partition(out) == [list(range(big)), [big, big + 1], [big + 2]]


def _all_pairs(n, strong_within, cross):
    """Every pair of n profiles: SUPPORT-strong inside each set of `strong_within`, else `cross`
    (a function of the pair)."""
    from transforms.cluster import SUPPORT

    i, j = np.triu_indices(n, 1)
    where = {u: k for k, held in enumerate(strong_within) for u in held}
    p = np.array(
        [
            (1 + SUPPORT) / 2 if a in where and where[a] == where.get(b) else cross(a, b)
            for a, b in zip(i.tolist(), j.tolist(), strict=True)
        ]
    )
    return i, j, p


def test_two_cores_joined_by_weak_pairs_alone_are_split_and_the_rest_go_to_the_closer():
    """Two namesakes, each with CORE_PROFILES records strongly linked (DOB, postcode), whose
    cross pairs are names-only (0.6) or contradicting (0.02): one person each. A profile with
    no strong pair goes to the core it matches better on average."""
    from transforms.cluster import CORE_PROFILES, split_weak_joins

    k = CORE_PROFILES
    a, b, lone = list(range(k)), list(range(k, 2 * k)), 2 * k
    n = 2 * k + 1

    def cross(u, v):
        if lone in (u, v):
            return 0.9 if min(u, v) in a else 0.2
        return 0.6 if (u + v) % 2 else 0.02

    i, j, p = _all_pairs(n, [a, b], cross)
    out = split_weak_joins(n, i, j, p, np.ones(n, dtype=np.int64))
    assert _partition(out) == [[*a, lone], b]


def test_sets_smaller_than_a_core_stay_together():
    from transforms.cluster import CORE_PROFILES, split_weak_joins

    k = CORE_PROFILES - 1  # two strongly linked sets one profile short of a core
    n = 2 * k
    i, j, p = _all_pairs(n, [list(range(k)), list(range(k, n))], lambda u, v: 0.6)
    out = split_weak_joins(n, i, j, p, np.ones(n, dtype=np.int64))
    assert len(np.unique(out)) == 1


def test_one_record_per_source_keeps_each_twin_with_its_own_record():
    """Two files each free of duplicates (a link_only evaluation): twins, in both files, agree
    on all but the forename, so every cross pair is linked; the strongest links win, and no
    person holds two records of one file. Match-key pairs (no weight) count as strongest."""
    from transforms.cluster import one_record_per_source

    records = pl.DataFrame({"record_key": ["a1", "a2", "b1", "b2", "b3"]}).with_columns(
        source=pl.Series(["A", "A", "B", "B", "B"])
    )
    pairs = pl.DataFrame(
        {
            "record_key_l": ["a1", "a2", "a1", "a2", "b3"],
            "record_key_r": ["b1", "b2", "b2", "b1", "a1"],
            "match_weight": [30.0, 30.0, 12.0, 12.0, None],
        }
    )
    labels = one_record_per_source(records, pairs)
    assert labels[0] == labels[4] and len(set(labels.tolist())) == 3  # a1 with b3 (match key)
    assert labels[1] == labels[3] and labels[2] not in (labels[0], labels[1])  # b1 alone
    # without the match key, each twin keeps its own
    labels = one_record_per_source(records, pairs.head(4))
    assert labels[0] == labels[2] != labels[1] == labels[3] and labels[4] not in labels[:4]
