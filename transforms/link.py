"""Deterministic linkage on keyed match-key tokens: records sharing any token are one person.

Edges join each record to the first record holding the same token (a star per token, so a
token shared by many records costs n edges, not n^2); connected components of that graph are
people. person_id is a hash of the smallest record_key in the person's cluster, so it stays the
same from night to night while the cluster's membership is unchanged.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import polars_hash  # noqa: F401  (registers the .chash namespace)
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from governance.match_keys import MATCH_KEYS, token_column

TOKEN_COLUMNS = tuple(token_column(k) for k in MATCH_KEYS)


def token_edges(records: pl.DataFrame) -> pl.DataFrame:
    """(a, b, rank) for every record b that shares a token with record a (a < b, a first)."""
    parts = []
    for key in MATCH_KEYS:
        col = token_column(key)
        if col not in records.columns:
            continue
        parts.append(
            records.select("idx", col)
            .drop_nulls()
            .with_columns(a=pl.col("idx").min().over(col))
            .filter(pl.col("idx") != pl.col("a"))
            .select("a", pl.col("idx").alias("b"), pl.lit(key.rank, pl.Int8).alias("rank"))
        )
    if not parts:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "rank": pl.Int8})
    return pl.concat(parts)


def components(n: int, edges: pl.DataFrame) -> np.ndarray:
    """Component label of each of n records."""
    a, b = edges["a"].to_numpy(), edges["b"].to_numpy()
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def link_table(records: pl.DataFrame) -> pl.DataFrame:
    """record_key -> person_id, with the strongest rank that linked the record (null if alone).

    `records` needs record_key and the tok_* columns; each record_key once.
    """
    records = records.with_row_index("idx")
    edges = token_edges(records)
    label = components(records.height, edges)
    best = (
        pl.concat(
            [
                edges.select(pl.col("a").alias("idx"), "rank"),
                edges.select(pl.col("b").alias("idx"), "rank"),
            ]
        )
        .group_by("idx")
        .agg(pl.col("rank").min().alias("link_rank"))
    )
    linked = records.select("idx", "record_key").with_columns(cluster=pl.Series(label))
    linked = linked.with_columns(
        person_id=pl.concat_str([pl.lit("person|"), pl.col("record_key").min().over("cluster")])
        .chash.sha2_256()
        .str.head(16)
    )
    return (
        linked.join(best, on="idx", how="left")
        .select("record_key", "person_id", "link_rank")
        .sort("record_key")
    )
