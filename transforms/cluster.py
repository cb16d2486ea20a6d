"""Clustering accepted links into persons, never putting two NHS numbers or NINOs in one person.

Connected components first (scipy, C speed). Only components that would hold two different NHS
number or NINO tokens are rebuilt, edge by edge in order of strength (strongest first), refusing
any union that would join two different identifiers: the weakest links that cause a conflict
are the ones dropped.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

IDS = ("tok_nhs", "tok_nino", "tok_oid")


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _conflicted(labels: np.ndarray, ids: pl.DataFrame) -> set[int]:
    frame = ids.with_columns(cluster=pl.Series(labels))
    bad = frame.group_by("cluster").agg(
        [pl.col(c).drop_nulls().n_unique().alias(c) for c in IDS if c in frame.columns]
    )
    cols = [c for c in IDS if c in frame.columns]
    if not cols:
        return set()
    return set(bad.filter(pl.any_horizontal(pl.col(c) > 1 for c in cols))["cluster"].to_list())


def constrained_labels(n: int, edges: pl.DataFrame, ids: pl.DataFrame) -> np.ndarray:
    """Cluster label per record. `edges`: a, b (record indices), strength (higher first)."""
    a, b = edges["a"].to_numpy(), edges["b"].to_numpy()
    labels = components(n, a, b)
    bad = _conflicted(labels, ids)
    if not bad:
        return labels
    in_bad = np.isin(labels, list(bad))
    parent = {int(i): int(i) for i in np.flatnonzero(in_bad)}
    known = {c: ids[c].to_list() for c in IDS if c in ids.columns}
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
