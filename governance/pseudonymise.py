"""Apply a data-sharing agreement to checked rows: the only place raw identifiers are read.

Out comes a staged frame holding kept columns, generalised columns and keyed linkage tokens,
and nothing else. Tokens are HMAC-SHA256 under the linkage key, truncated to 128 bits
(32 hex characters), computed once per distinct value.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import polars_hash as plh

from governance import canonical as canon
from governance.errors import PseudonymisationError
from governance.keys import SecretKey
from governance.bloom import bloom_column
from governance.match_keys import (
    DOB_EDITS,
    POSTCODE_EDITS,
    applicable,
    plaintext,
    token_column,
)
from governance.policy import Policy
from schemas.contract import Extract

TOKEN_HEX = 32
AGE_BANDS = (
    (0, "0-17"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-54"),
    (55, "55-64"),
    (65, "65+"),
)


def hmac_tokens(df: pl.DataFrame, columns: list[str], key: SecretKey) -> pl.DataFrame:
    """Replace each plaintext column by its keyed token, hashing each distinct value once."""
    for col in columns:
        distinct = df.select(pl.col(col).unique()).drop_nulls()
        try:
            hashed = distinct.with_columns(
                plh.col(col)
                .chash.hmac_sha256(key=key.material())
                .str.head(TOKEN_HEX)
                .alias("__token")
            )
        except Exception:  # the engine's message may quote the plan, and the plan holds the key
            raise PseudonymisationError(f"keyed hashing failed for column {col}") from None
        df = df.join(hashed, on=col, how="left").drop(col).rename({"__token": col})
    return df


def neighbourhood(text: pl.Expr, count: int, prefix: str) -> list[pl.Expr]:
    """One-edit neighbourhood tokens of text (null past its end): `{prefix}e{i}` is the text with
    character i masked (equal for a substitution there); `{prefix}t{i}` the text with characters
    i and i+1 in sorted order (equal for a transposition of those two)."""
    length = text.str.len_chars()
    masked = [
        pl.when(length > i)
        .then(text.str.head(i) + pl.lit("_") + text.str.slice(i + 1))
        .alias(f"{prefix}e{i}")
        for i in range(count)
    ]
    sorted_pairs = []
    for i in range(count - 1):
        a, b = text.str.slice(i, 1), text.str.slice(i + 1, 1)
        pair = pl.when(a <= b).then(a + b).otherwise(b + a)
        sorted_pairs.append(
            pl.when(length > i + 1)
            .then(text.str.head(i) + pair + text.str.slice(i + 2))
            .alias(f"{prefix}t{i}")
        )
    return masked + sorted_pairs


def name_fields(ex: Extract, roles: set[str]) -> list[pl.Expr]:
    cols = ex.identity_columns
    out: list[pl.Expr] = []
    if "forename" in roles:
        own = canon.forename_own(pl.col(cols["forename"]))
        fn = canon.forename_canonical(pl.col(cols["forename"]))
        out += [
            fn.alias("w_fn"),
            own.alias("w_fn_own"),
            fn.str.head(1).alias("w_fi"),
            fn.str.head(3).alias("w_fn3"),
            canon.soundex(own).alias("w_fn_ph"),
            canon.nysiis(own).alias("w_fn_ny"),
        ]
    if "surname" in roles:
        first, last = canon.surname_parts(pl.col(cols["surname"]))
        sn = canon.surname_canonical(pl.col(cols["surname"]))
        out += [
            sn.alias("w_sn"),
            sn.str.head(3).alias("w_sn3"),
            canon.soundex(sn).alias("w_sn_ph"),
            canon.nysiis(sn).alias("w_sn_ny"),
            first.alias("w_sn_first"),
            last.alias("w_sn_last"),
        ]
    if {"forename", "surname"} <= roles:
        fn = canon.forename_canonical(pl.col(cols["forename"]))
        sn = canon.surname_canonical(pl.col(cols["surname"]))
        both = fn.is_not_null() & sn.is_not_null()  # min/max_horizontal skip nulls
        out += [
            pl.when(both).then(pl.min_horizontal(fn, sn)).alias("w_name_lo"),
            pl.when(both).then(pl.max_horizontal(fn, sn)).alias("w_name_hi"),
        ]
    return out


def dob_fields(ex: Extract) -> list[pl.Expr]:
    col = ex.identity_columns["dob"]
    dob = canon.dob_canonical(pl.col(col), ex.column(col).date_format)
    day, month = dob.dt.day(), dob.dt.month()
    iso = dob.cast(pl.String)
    return [
        iso.alias("w_dob"),
        dob.dt.year().cast(pl.String).alias("w_yob"),
        iso.str.head(7).alias("w_dob_ym"),
        iso.str.tail(5).alias("w_dob_md"),
        *neighbourhood(iso.str.replace_all("-", ""), DOB_EDITS, "w_dob_"),
        pl.min_horizontal(day, month).cast(pl.String).alias("w_dm_lo"),
        pl.max_horizontal(day, month).cast(pl.String).alias("w_dm_hi"),
        pl.when(day <= 12)
        .then(pl.date(dob.dt.year(), day, month))
        .cast(pl.String)
        .alias("w_dob_swap"),
    ]


def postcode_fields(ex: Extract) -> list[pl.Expr]:
    raw = pl.col(ex.identity_columns["postcode"])
    pc, key = canon.postcode_canonical(raw), canon.postcode_key(raw)
    compact = key.str.replace_all(" ", "")
    return [
        key.alias("w_pc"),
        *neighbourhood(compact, POSTCODE_EDITS, "w_pc_"),
        # UK: sector and district; any other country's code: the code less its last 1 or 2
        # characters (US ZIP 90210 -> 9021, 902; Australian 2000 -> 200, 20)
        pl.when(pc.is_not_null())
        .then(canon.postcode_sector(pc))
        .when(compact.str.len_chars() >= 4)
        .then(compact.str.head(-1))
        .alias("w_sector"),
        pl.when(pc.is_not_null())
        .then(canon.postcode_district(pc))
        .when(compact.str.len_chars() >= 4)
        .then(compact.str.head(-2))
        .alias("w_district"),
    ]


def working_fields(ex: Extract, roles: set[str]) -> list[pl.Expr]:
    """Canonical identity fields named as match keys expect them (see governance.match_keys)."""
    cols = ex.identity_columns
    out = name_fields(ex, roles)
    if "dob" in roles:
        out += dob_fields(ex)
    if "sex" in roles:
        out.append(canon.sex_canonical(pl.col(cols["sex"])).alias("w_sex"))
    if "postcode" in roles:
        out += postcode_fields(ex)
    if "address" in roles:
        out.append(canon.address_canonical(pl.col(cols["address"])).alias("w_addr"))
    if "nhs_number" in roles:
        out.append(canon.nhs_number_canonical(pl.col(cols["nhs_number"])).alias("w_nhs"))
    if "other_id" in roles:
        out.append(canon.other_id_canonical(pl.col(cols["other_id"])).alias("w_oid"))
    if "nino" in roles:
        out.append(canon.nino_canonical(pl.col(cols["nino"])).alias("w_nino"))
    return out


def kept_column(ex: Extract, name: str) -> pl.Expr:
    """A kept column, typed as its contract says."""
    col = ex.column(name)
    raw = pl.col(name)
    if col.dtype == "date":
        return raw.str.strip_chars().str.to_date(col.date_format, strict=False).alias(name)
    if col.dtype == "bool":
        return (raw.str.strip_chars().str.to_uppercase() == "Y").alias(name)
    if col.dtype == "int":
        return raw.cast(pl.Int64, strict=False).alias(name)
    return raw.alias(name)


def age_band(dob: pl.Expr, on: dt.date) -> pl.Expr:
    """Age in whole years at the run date, put in a band; the date itself is not kept."""
    had_birthday = (dob.dt.month() < on.month) | (
        (dob.dt.month() == on.month) & (dob.dt.day() <= on.day)
    )
    age = pl.lit(on.year) - dob.dt.year() - pl.when(had_birthday).then(0).otherwise(1)
    band = pl.lit(None, dtype=pl.String)
    for lower, label in AGE_BANDS:
        band = pl.when(age >= lower).then(pl.lit(label)).otherwise(band)
    return band


def generalised_column(ex: Extract, name: str, how: str, on: dt.date) -> pl.Expr:
    raw = pl.col(name)
    if how == "age_band":
        return age_band(canon.dob_canonical(raw, ex.column(name).date_format), on).alias("age_band")
    postcode = canon.postcode_canonical(raw)
    if how == "postcode_sector":
        return canon.postcode_sector(postcode).alias("postcode_sector")
    return canon.postcode_district(postcode).alias("postcode_district")


def record_key(partner: str, extract: str) -> pl.Expr:
    """A stable id for a staged row, from the partner's own record reference (not secret)."""
    text = pl.concat_str([pl.lit(f"{partner}|{extract}|"), pl.col("record_ref")])
    return text.chash.sha2_256().str.head(16).alias("record_key")


def apply_policy(
    df: pl.DataFrame, ex: Extract, policy: Policy, key: SecretKey, on: dt.date
) -> pl.DataFrame:
    """Raw checked rows in, staged rows out: kept, generalised and token columns only."""
    roles = {
        ex.column(c).identity for c in policy.kept(ex.name, "pseudonymise") if ex.column(c).identity
    }
    keys = applicable(roles)
    kept = [kept_column(ex, c) for c in policy.kept(ex.name, "keep")]
    general = [generalised_column(ex, c, how, on) for c, how in policy.generalised(ex.name)]
    staged = (
        df.with_row_index("__row")
        .select(
            pl.col("__row"),
            record_key(ex.partner, ex.name),
            pl.lit(ex.partner).alias("partner"),
            pl.lit(ex.name).alias("extract"),
            *kept,
            *general,
            *working_fields(ex, roles),
        )
        .with_columns(
            (pl.col(f"w_{k.fields[0]}") if k.bloom_bits else plaintext(k)).alias(token_column(k))
            for k in keys
        )
    )
    token_cols = [token_column(k) for k in keys]
    staged = hmac_tokens(staged, [token_column(k) for k in keys if not k.bloom_bits], key)
    for k in (k for k in keys if k.bloom_bits):
        staged = bloom_column(staged, token_column(k), k.tag or k.name, k.bloom_bits, key)
    staged = staged.sort("__row")
    keep = [
        "record_key",
        "partner",
        "extract",
        *[e.meta.output_name() for e in kept + general],
        *token_cols,
    ]
    return staged.select(keep)
