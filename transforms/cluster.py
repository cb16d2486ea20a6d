"""Clustering accepted links into persons, never putting two NHS numbers or NINOs in one person.

Connected components first (scipy, C speed). Only components that would hold two different
NHS number or NINO tokens are rebuilt, edge by edge in order of strength (strongest first), refusing
any union that would join two different identifiers: the weakest links that cause a conflict
are the ones dropped.

Then a cohesion check, so that clusters do not chain (A links B, B links C, but A is plainly not
C): a cluster of three or more profiles whose accepted links are not all there is scored pair by
pair (every pair of its profiles) and re-clustered by average linkage, so a group joins only when
its members match the group on average (mean match probability of the cross pairs at least
COHESION). Within a group, sets of CORE_PROFILES or more profiles held together by strong pairs
(SUPPORT) that only weak pairs join are split apart too (`split_weak_joins`). Clusters of more
than MAX_COHESION_PROFILES are first cut at rising match probabilities (`cut_large`). Splitting
never joins anything, so it cannot put two identifiers together.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

COHESION = 0.1  # mean match probability below which two groups of a cluster are split
MAX_COHESION_PROFILES = 300  # larger clusters are first cut at rising thresholds
CUT_THRESHOLDS = (0.9, 0.99, 0.999, 0.9999, 1.0)  # match probability; a match key counts as 1
SUPPORT = 0.99  # match probability of a pair strong enough to hold a core together
CORE_PROFILES = 3  # a core: this many profiles or more, held together by strong pairs


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _conflicted(labels: np.ndarray, ids: pl.DataFrame) -> set[int]:
    cols = ids.columns
    if not cols:
        return set()
    frame = ids.with_columns(cluster=pl.Series(labels))
    bad = frame.group_by("cluster").agg([pl.col(c).drop_nulls().n_unique() for c in cols])
    return set(bad.filter(pl.any_horizontal(pl.col(c) > 1 for c in cols))["cluster"].to_list())


def constrained_labels(n: int, edges: pl.DataFrame, ids: pl.DataFrame) -> np.ndarray:
    """Cluster label per record. `edges`: a, b (record indices), strength (higher first);
    `ids`: per record, the identifiers (one column each) no person may hold two of."""
    a, b = edges["a"].to_numpy(), edges["b"].to_numpy()
    labels = components(n, a, b)
    bad = _conflicted(labels, ids)
    if not bad:
        return labels
    in_bad = np.isin(labels, list(bad))
    parent = {int(i): int(i) for i in np.flatnonzero(in_bad)}
    known = {c: ids[c].to_list() for c in ids.columns}
    held = {i: {c: known[c][i] for c in known} for i in parent}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # Ties broken by the edge, so the same edges always give the same persons.
    order = (["strength", "a", "b"], [True, False, False])
    sub = edges.filter(pl.Series(in_bad[a])).sort(order[0], descending=order[1])
    for x, y in zip(sub["a"].to_list(), sub["b"].to_list(), strict=True):
        rx, ry = root(x), root(y)
        if rx == ry:
            continue
        hx, hy = held[rx], held[ry]
        if any(hx[c] and hy[c] and hx[c] != hy[c] for c in known):
            continue  # would put two different identifiers in one person
        parent[ry] = rx
        held[rx] = {c: hx[c] or hy[c] for c in known}
    out = labels.copy()
    offset = labels.max() + 1
    for i in parent:
        out[i] = offset + root(i)
    return out


def one_record_per_source(records: pl.DataFrame, pairs: pl.DataFrame) -> np.ndarray:
    """Cluster label per record of `records` (record_key, source) from a linkage's pairs
    (record_key_l, record_key_r, match_weight: null for a match key's, the strongest), never
    two records of one source in one person: for sources each free of duplicates (two files
    to link one to one). As for identifiers, the strongest links win: of twins in both files,
    each record keeps its own twin."""
    index = records.select("record_key").with_row_index("i")
    edges = (
        pairs.join(index.rename({"record_key": "record_key_l", "i": "a"}), on="record_key_l")
        .join(index.rename({"record_key": "record_key_r", "i": "b"}), on="record_key_r")
        .select(
            pl.col("a").cast(pl.Int64),
            pl.col("b").cast(pl.Int64),
            pl.col("match_weight").fill_null(float("inf")).alias("strength"),
        )
    )
    source, row = pl.col("source"), pl.int_range(pl.len())
    ids = records.select(
        pl.when(source == s).then(row).alias(f"one_of_{k}")
        for k, s in enumerate(records["source"].unique().sort())
    )
    return constrained_labels(records.height, edges, ids)


def incomplete_clusters(labels: np.ndarray, unit: np.ndarray, edges: pl.DataFrame) -> pl.DataFrame:
    """(cluster, unit) for clusters of 3+ units missing at least one accepted unit pair."""
    sizes = np.bincount(labels)
    many = sizes[labels] >= 3  # only clusters of 3+ records can hold 3+ profiles
    frame = pl.DataFrame({"cluster": labels[many], "unit": unit[many]})
    units = frame.unique()
    k = units.group_by("cluster").len().filter(pl.col("len") >= 3)
    units = units.join(k.select("cluster"), on="cluster")
    edges = edges.filter(pl.Series(many[edges["a"].to_numpy()]))
    ends = edges.select(
        pl.Series("ua", unit[edges["a"].to_numpy()]), pl.Series("ub", unit[edges["b"].to_numpy()])
    ).with_columns(cluster=pl.Series(labels[edges["a"].to_numpy()]))
    linked = (
        ends.filter(pl.col("ua") != pl.col("ub"))
        .select(
            "cluster",
            pl.min_horizontal("ua", "ub").alias("ua"),
            pl.max_horizontal("ua", "ub").alias("ub"),
        )
        .unique()
        .group_by("cluster")
        .len("links")
    )
    short = k.join(linked, on="cluster", how="left").filter(
        pl.col("links").fill_null(0) < pl.col("len") * (pl.col("len") - 1) // 2
    )
    return units.join(short.select("cluster"), on="cluster")


def average_linkage(n: int, i: np.ndarray, j: np.ndarray, p: np.ndarray, cut: float) -> np.ndarray:
    """Average linkage (UPGMA) cut where the groups' mean similarity falls below `cut`: merge
    the two closest groups (mean distance, 1 - similarity) while at most 1 - cut. The same flat
    clusters as scipy's linkage(method="average") with fcluster(t=1-cut, "distance") (a test
    compares them), without scipy's per-call validation, which cost more than the clustering
    for the tens of thousands of small clusters a night checks."""
    total = np.ones((n, n))  # sum of pairwise distances (1 - similarity) between two groups
    total[i, j] = 1.0 - p
    total[j, i] = 1.0 - p
    limit = 1.0 - cut  # as scipy's fcluster: merge while the mean distance is at most this
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    label = np.arange(n)
    while alive.sum() > 1:
        valid = np.outer(alive, alive)
        np.fill_diagonal(valid, False)
        mean = np.where(valid, total / np.outer(sizes, sizes), np.inf)
        a, b = divmod(int(np.argmin(mean)), n)
        if mean[a, b] > limit:
            break
        total[a, :] += total[b, :]
        total[:, a] += total[:, b]
        sizes[a] += sizes[b]
        alive[b] = False
        label[label == b] = a
    return np.unique(label, return_inverse=True)[1] + 1


def _small_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of a small graph (a cluster's profiles), by union-find."""
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        rx, ry = root(x), root(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return np.array([root(x) for x in range(n)])


def split_weak_joins(
    n: int, i: np.ndarray, j: np.ndarray, p: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Split groups that hold two or more cores joined by weak links alone.

    A core is a set of at least CORE_PROFILES profiles connected by pairs at or above SUPPORT.
    Two people who share common names and nothing else (no DOB, no postcode in common) can be
    joined by one weak link, and average linkage keeps them together when half their pairs are
    names-only (about 0.6 each): that chain costs every pair of their records. A group with two
    or more cores becomes one group per core; the rest of its profiles (strong pairs kept
    together) go to the core closest to them on average. `group` labels from 1, as returned."""
    if n < 2 * CORE_PROFILES or np.bincount(group).max() < 2 * CORE_PROFILES:
        return group  # no group large enough to hold two cores: most clusters, at no cost
    strong = (p >= SUPPORT) & (group[i] == group[j])
    if np.count_nonzero(strong) < 2 * (CORE_PROFILES - 1):
        return group  # too few strong pairs to connect two cores
    comp = _small_components(n, i[strong], j[strong])  # scipy's call costs more at this size
    sizes = np.bincount(comp, minlength=n)
    out, next_label = group.copy(), int(group.max()) + 1
    sim = np.zeros((n, n))
    sim[i, j] = p
    sim[j, i] = p
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        cores = np.unique(comp[members][sizes[comp[members]] >= CORE_PROFILES])
        if len(cores) < 2:
            continue
        core_members = [members[comp[members] == c] for c in cores]
        for k, held in enumerate(core_members):
            out[held] = next_label + k
        for rest in np.unique(comp[members][~np.isin(comp[members], cores)]):
            held = members[comp[members] == rest]
            closest = np.argmax([sim[np.ix_(held, core)].mean() for core in core_members])
            out[held] = next_label + int(closest)
        next_label += len(cores)
    return np.unique(out, return_inverse=True)[1] + 1


def cut_large(
    labels: np.ndarray, unit: np.ndarray, edges: pl.DataFrame, limit: int = MAX_COHESION_PROFILES
) -> tuple[np.ndarray, int]:
    """Cut clusters of more than `limit` profiles: keep only their links at or above each of
    CUT_THRESHOLDS in turn until no piece has more than `limit` profiles (a match key's link,
    with no probability, is certain). Returns labels and the number of clusters cut.

    Works on profiles, so records of one profile stay together. A cluster its match keys alone
    hold together stays whole, however large."""
    a, b = edges["a"].to_numpy(), edges["b"].to_numpy()
    p = (
        edges["match_probability"].fill_null(1.0).fill_nan(0.0).to_numpy()
        if "match_probability" in edges.columns
        else np.ones(len(a))
    )
    units = int(unit.max()) + 1 if len(unit) else 0
    out = labels.astype(np.int64)
    offset = int(out.max()) + 1 if len(out) else 0
    first: np.ndarray | None = None
    for t in CUT_THRESHOLDS:
        per = pl.DataFrame({"cluster": out, "unit": unit}).unique().group_by("cluster").len()
        big = per.filter(pl.col("len") > limit)["cluster"].to_numpy()
        if not len(big):
            break
        chosen = np.isin(out, big)
        first = chosen if first is None else first
        keep = (p >= t) & chosen[a] & (out[a] == out[b])
        piece = components(units, unit[a[keep]], unit[b[keep]])
        out[chosen] = offset + piece[unit[chosen]]
        offset += units
    if first is None:
        return out, 0
    pieces = pl.DataFrame({"was": labels[first], "now": out[first]}).group_by("was").n_unique()
    return out, int((pieces["now"] > 1).sum())


def cohesive_labels(
    labels: np.ndarray,
    unit: np.ndarray,
    edges: pl.DataFrame,
    similarity,
    cut: float = COHESION,
) -> tuple[np.ndarray, int]:
    """Split weakly joined clusters by average linkage; returns labels and clusters split.

    `unit` maps each record to its profile (records of one profile always stay together);
    `similarity(pairs)` takes (l, r) unit pairs and returns them with a `p` column.
    """
    labels, pieces = cut_large(labels, unit, edges)
    members = incomplete_clusters(labels, unit, edges)
    if members.is_empty():
        return labels, pieces
    # still too large after the cut (joined by match keys alone): left as the keys joined it
    sizes = members.group_by("cluster").len()
    members = members.join(sizes.filter(pl.col("len") <= MAX_COHESION_PROFILES), on="cluster")
    pairs = (
        members.join(members, on="cluster", suffix="_r")
        .filter(pl.col("unit") < pl.col("unit_r"))
        .select("cluster", pl.col("unit").alias("l"), pl.col("unit_r").alias("r"))
    )
    scored = similarity(pairs.select("l", "r")).join(pairs, on=["l", "r"])
    if scored.is_empty():
        return labels, pieces
    out, split = labels.copy(), pieces
    offset = int(labels.max()) + 1
    sub_of: dict[tuple[int, int], int] = {}
    # one pass over numpy arrays sorted by cluster: no per-cluster frame
    scored = scored.sort("cluster", "l", "r")
    clusters = scored["cluster"].to_numpy()
    left, right, prob = scored["l"].to_numpy(), scored["r"].to_numpy(), scored["p"].to_numpy()
    starts = np.flatnonzero(np.r_[True, clusters[1:] != clusters[:-1]])
    ends = np.r_[starts[1:], len(clusters)]
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        if prob[lo:hi].min() >= cut:  # every pair (all are scored) as close as the cut: one group
            continue
        a, b = left[lo:hi], right[lo:hi]
        ids, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
        k = hi - lo
        sub = average_linkage(len(ids), inverse[:k], inverse[k:], prob[lo:hi], cut)
        sub = split_weak_joins(len(ids), inverse[:k], inverse[k:], prob[lo:hi], sub)
        if sub.max() > 1:
            split += 1
            cluster = int(clusters[lo])
            for u, s_ in zip(ids.tolist(), sub.tolist(), strict=True):
                sub_of[(cluster, int(u))] = offset + int(s_)
            offset += int(sub.max()) + 1
    if sub_of:
        table = pl.DataFrame(
            {
                "cluster": [c for c, _ in sub_of],
                "unit": [u for _, u in sub_of],
                "new": list(sub_of.values()),
            },
            schema={"cluster": pl.Int64, "unit": pl.Int64, "new": pl.Int64},
        )
        frame = pl.DataFrame(
            {"cluster": labels.astype(np.int64), "unit": unit.astype(np.int64)}
        ).join(table, on=["cluster", "unit"], how="left", maintain_order="left")
        out = frame["new"].fill_null(frame["cluster"]).to_numpy()
    return out, split
