"""Keyed Bloom-filter encodings (CLK-style) of names and address lines, made at ingest.

A value's bigrams (with "_" padding: ANN -> _A, AN, NN, N_) each set HASHES bit positions in a
filter of 2 x bits; the positions come from HMAC-SHA256 of (field tag, bigram) under the
linkage key, so without the key nobody can say which bigram sets which bit. The filter is then
XOR-folded in half (bits i and i + bits combined), the hardening chosen against the frequency
and pattern-mining attacks on CLKs (Christen et al. 2017/2018; Schnell and Borgs 2016): folding
breaks the link between a bit and one bigram, which those attacks rely on. The linker sees only
the folded filter, as a hex token, and compares two filters by their Dice coefficient; it never
sees a bigram. Filters are computed once per distinct value: a value's bigrams are joined with a
table of per-bigram masks (a few hundred distinct bigrams), so the cost is a join, not a hash
per bigram per row.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import polars as pl

from governance.errors import PseudonymisationError
from governance.keys import SecretKey

HASHES = 4  # bit positions set per bigram (before folding)


def lanes(bits: int) -> int:
    """64-bit lanes in a folded filter of `bits` bits."""
    return bits // 64


def bigram_masks(grams: list[str], tag: str, bits: int, key: SecretKey) -> pl.DataFrame:
    """gram -> its mask over 2 x bits (before folding), as 64-bit lanes m0, m1, ..."""
    width = 2 * bits
    out = np.zeros((len(grams), width // 64), dtype=np.uint64)
    material = key.material()
    for row, gram in enumerate(grams):
        digest = hmac.digest(material, f"bloom|{tag}|{gram}".encode(), hashlib.sha256)
        for h in range(HASHES):
            pos = int.from_bytes(digest[4 * h : 4 * h + 4], "big") % width
            out[row, pos // 64] |= np.uint64(1) << np.uint64(pos % 64)
    return pl.DataFrame(
        {"__gram": grams, **{f"m{i}": out[:, i] for i in range(out.shape[1])}},
        schema={"__gram": pl.String, **{f"m{i}": pl.UInt64 for i in range(out.shape[1])}},
    )


def _hex(lanes_: np.ndarray) -> list[str]:
    """(n, L) uint64 -> n hex strings of 16 L characters."""
    width = 16 * lanes_.shape[1]
    text = lanes_.astype(">u8").tobytes().hex()
    return [text[i : i + width] for i in range(0, len(text), width)]


def bloom_token(values: pl.Series, tag: str, bits: int, key: SecretKey) -> pl.DataFrame:
    """Distinct canonical values -> (value, folded filter as hex); nulls and blanks left out."""
    distinct = values.drop_nulls().unique().alias("__v").to_frame()
    distinct = distinct.filter(pl.col("__v").str.len_chars() > 0)
    padded = pl.lit("_") + pl.col("__v") + pl.lit("_")
    grams = distinct.with_columns(
        __gram=pl.int_ranges(0, padded.str.len_chars() - 1).list.eval(pl.element())
    ).explode("__gram")
    grams = grams.with_columns(
        __gram=(pl.lit("_") + pl.col("__v") + pl.lit("_")).str.slice(pl.col("__gram"), 2)
    )
    try:
        masks = bigram_masks(grams["__gram"].unique().sort().to_list(), tag, bits, key)
    except Exception:  # never pass on a message that could hold the key or a value
        raise PseudonymisationError(f"Bloom-filter encoding failed for {tag}") from None
    n = 2 * lanes(bits)
    filters = (
        grams.join(masks, on="__gram")
        .group_by("__v")
        .agg(pl.col(f"m{i}").bitwise_or() for i in range(n))
        .sort("__v")
    )
    full = filters.select(f"m{i}" for i in range(n)).to_numpy().astype(np.uint64)
    half = n // 2
    folded = full[:, :half] ^ full[:, half:]
    return pl.DataFrame({"__v": filters["__v"], "__token": _hex(folded)})


def bloom_column(df: pl.DataFrame, col: str, tag: str, bits: int, key: SecretKey) -> pl.DataFrame:
    """Replace a plaintext column by its folded Bloom filter (hex); null stays null."""
    table = bloom_token(df[col], tag, bits, key)
    return (
        df.join(table, left_on=col, right_on="__v", how="left").drop(col).rename({"__token": col})
    )
