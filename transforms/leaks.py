"""Leak scan: prove no raw identifier value survives into a staged (pseudonymised) frame.

Compares every text cell of the staged frame with every raw identifier value (as sent and in
canonical form), and every staged date with the same row's date of birth (`staged` rows must be
`raw` rows in the same order). Returns counts per staged column only.
"""

from __future__ import annotations

import polars as pl

from governance import canonical as canon
from schemas.contract import Extract

# The dtypes a staged text cell can have: the leak scan and the staged suite's leak rules
# (flows/checks.py) look at every column of these.
TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def raw_identifier_values(raw: pl.DataFrame, ex: Extract) -> pl.Series:
    """Every identifying value the raw rows hold (not sex, which identifies no one)."""
    parts = []
    for role, name in ex.identity_columns.items():
        if role == "sex":
            continue
        # the forms of each distinct value once: names, dates and postcodes repeat, so at a
        # million people this is a fraction of the rows (and of the memory)
        distinct = raw.select(pl.col(name).drop_nulls().unique())
        col = pl.col(name)
        forms = [col, col.str.strip_chars(), col.str.strip_chars().str.to_uppercase()]
        forms.append(
            {
                "nhs_number": canon.nhs_number_digits(col),
                "nino": canon.nino_canonical(col),
                "postcode": canon.postcode_canonical(col),
                "forename": canon.name_canonical(col),
                "surname": canon.name_canonical(col),
                "dob": col,
                "other_id": canon.other_id_canonical(col),
            }[role]
        )
        parts += [distinct.select(f.alias("v")) for f in forms]
    if not parts:  # an extract with no identity columns (the intervention list)
        return pl.Series("v", [], dtype=pl.String)
    values = pl.concat(parts).drop_nulls().unique()
    return values.filter(pl.col("v").str.len_chars() > 1)["v"]


def _equal_cells(
    column: pl.Series, hashes: pl.Series, values: pl.Series, lengths: pl.Series
) -> int:
    """How many cells of `column` equal one of `values` (`hashes`: their 64-bit hashes, sorted;
    `lengths`: their distinct lengths in bytes).

    polars' `is_in` builds a hash set of the values for every column it is asked about: a few
    million raw values, ninety staged columns, 23 s at a million people. Only cells as long as
    some raw value can equal one (a 32-character token rarely is: most columns stop here).
    Their hashes are looked up by binary search in the values' sorted hashes, and only the
    cells whose hash is found (an equal value, or a rare collision) are compared exactly: the
    same count."""
    cells = column.cast(pl.String).drop_nulls()
    if cells.is_empty() or hashes.is_empty():
        return 0
    cells = cells.filter(cells.str.len_bytes().is_in(lengths.implode()))
    if cells.is_empty():
        return 0
    cell_hashes = cells.hash(seed=0)
    at = hashes.search_sorted(cell_hashes).clip(0, hashes.len() - 1)
    candidates = hashes.gather(at) == cell_hashes
    if not candidates.any():
        return 0
    return int(cells.filter(candidates).is_in(values.implode()).sum())


def leak_counts(staged: pl.DataFrame, raw: pl.DataFrame, ex: Extract) -> dict[str, int]:
    """staged column -> number of cells equal to a raw identifier value. All zero when safe."""
    values = raw_identifier_values(raw, ex)
    hashes = values.hash(seed=0).unique().sort()
    lengths = values.str.len_bytes().unique()
    text = [c for c, t in staged.schema.items() if isinstance(t, TEXT_TYPES)]
    counts = {c: _equal_cells(staged.get_column(c), hashes, values, lengths) for c in text}
    dob = ex.identity_columns.get("dob")
    if dob:
        born = raw.select(canon.dob_canonical(pl.col(dob), ex.column(dob).date_format))[dob]
        for c, t in staged.schema.items():
            if t == pl.Date:
                counts[c] = int((staged[c] == born).sum())
    return {c: int(n) for c, n in counts.items()}
