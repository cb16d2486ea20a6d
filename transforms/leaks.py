"""Leak scan: prove no raw identifier value survives into a staged (pseudonymised) frame.

Compares every text cell of the staged frame with every raw identifier value (as sent and in
canonical form), and every staged date with the same row's date of birth (`staged` rows must be
`raw` rows in the same order). Returns counts per staged column only.
"""

from __future__ import annotations

import polars as pl

from governance import canonical as canon
from schemas.contract import Extract


def raw_identifier_values(raw: pl.DataFrame, ex: Extract) -> pl.Series:
    """Every identifying value the raw rows hold (not sex, which identifies no one)."""
    parts = []
    for role, name in ex.identity_columns.items():
        if role == "sex":
            continue
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
        parts += [raw.select(f.alias("v")) for f in forms]
    if not parts:  # an extract with no identity columns (the intervention list)
        return pl.Series("v", [], dtype=pl.String)
    values = pl.concat(parts).drop_nulls().unique()
    return values.filter(pl.col("v").str.len_chars() > 1)["v"]


def leak_counts(staged: pl.DataFrame, raw: pl.DataFrame, ex: Extract) -> dict[str, int]:
    """staged column -> number of cells equal to a raw identifier value. All zero when safe."""
    values = raw_identifier_values(raw, ex).implode()
    text = [c for c, t in staged.schema.items() if t == pl.String]
    counts = staged.select(pl.col(c).is_in(values).sum().alias(c) for c in text).row(0, named=True)
    dob = ex.identity_columns.get("dob")
    if dob:
        born = raw.select(canon.dob_canonical(pl.col(dob), ex.column(dob).date_format))[dob]
        for c, t in staged.schema.items():
            if t == pl.Date:
                counts[c] = int((staged[c] == born).sum())
    return {c: int(n) for c, n in counts.items()}
