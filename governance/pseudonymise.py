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
from governance.match_keys import applicable, plaintext, token_column
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


def working_fields(ex: Extract, roles: set[str]) -> list[pl.Expr]:
    """Canonical identity fields named as match keys expect them (see governance.match_keys)."""
    cols = ex.identity_columns
    out: list[pl.Expr] = []
    if "forename" in roles:
        fn = canon.forename_canonical(pl.col(cols["forename"]))
        out += [
            fn.alias("w_fn"),
            fn.str.head(1).alias("w_fi"),
            fn.str.head(3).alias("w_fn3"),
            canon.soundex(fn).alias("w_fn_ph"),
        ]
    if "surname" in roles:
        first, last = canon.surname_parts(pl.col(cols["surname"]))
        sn = canon.name_canonical(pl.col(cols["surname"]))
        out += [
            sn.alias("w_sn"),
            sn.str.head(3).alias("w_sn3"),
            canon.soundex(sn).alias("w_sn_ph"),
            first.alias("w_sn_first"),
            last.alias("w_sn_last"),
        ]
    if {"forename", "surname"} <= roles:
        fn = canon.forename_canonical(pl.col(cols["forename"]))
        sn = canon.name_canonical(pl.col(cols["surname"]))
        out += [
            pl.min_horizontal(fn, sn).alias("w_name_lo"),
            pl.max_horizontal(fn, sn).alias("w_name_hi"),
        ]
    if "dob" in roles:
        dob = canon.dob_canonical(pl.col(cols["dob"]), ex.column(cols["dob"]).date_format)
        day, month = dob.dt.day(), dob.dt.month()
        out += [
            dob.cast(pl.String).alias("w_dob"),
            dob.dt.year().cast(pl.String).alias("w_yob"),
            pl.min_horizontal(day, month).cast(pl.String).alias("w_dm_lo"),
            pl.max_horizontal(day, month).cast(pl.String).alias("w_dm_hi"),
            pl.when(day <= 12)
            .then(
                pl.date(
                    dob.dt.year(),
                    day,
                    month,
                )
            )
            .cast(pl.String)
            .alias("w_dob_swap"),
        ]
    if "sex" in roles:
        out.append(canon.sex_canonical(pl.col(cols["sex"])).alias("w_sex"))
    if "postcode" in roles:
        pc = canon.postcode_canonical(pl.col(cols["postcode"]))
        out += [
            canon.postcode_key(pl.col(cols["postcode"])).alias("w_pc"),
            canon.postcode_sector(pc).alias("w_sector"),
            canon.postcode_district(pc).alias("w_district"),
        ]
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


def keyed_id(purpose: str, text: pl.Expr, key: SecretKey) -> pl.Expr:
    """A 16-hex-character id: HMAC-SHA256 under the linkage key of a purpose tag and the text.

    Nobody without the key can compute it from what it is made of (a partner's reference, a
    record key), and it changes when the key is rotated."""
    return (
        pl.concat_str([pl.lit(f"{purpose}|"), text])
        .chash.hmac_sha256(key=key.material())
        .str.head(16)
    )


def record_key(partner: str, extract: str, key: SecretKey) -> pl.Expr:
    """A stable id for a staged row, keyed: the partner's record reference cannot give it."""
    text = pl.concat_str([pl.lit(f"{partner}|{extract}|"), pl.col("record_ref")])
    return keyed_id("record", text, key).alias("record_key")


def person_id(representative: pl.Expr, key: SecretKey) -> pl.Expr:
    """The person id of a cluster, keyed, from the record key that represents the cluster."""
    return keyed_id("person", representative, key).alias("person_id")


def pseudonymised_roles(ex: Extract, policy: Policy) -> set[str]:
    return {
        role
        for c in policy.kept(ex.name, "pseudonymise")
        if (role := ex.column(c).identity) is not None
    }


def staged_columns(ex: Extract, policy: Policy) -> list[str]:
    """The columns apply_policy stages for this extract under this policy, in order."""
    return [
        "record_key",
        "partner",
        "extract",
        *policy.kept(ex.name, "keep"),
        *[how for _, how in policy.generalised(ex.name)],  # the output is named after it
        *[token_column(k) for k in applicable(pseudonymised_roles(ex, policy))],
    ]


def vault_columns(ex: Extract, policy: Policy) -> list[str]:
    """Identity columns sealed in the vault, when the agreement allows re-identification."""
    if policy.agreement.reidentification is None:
        return []
    return [c for c in policy.kept(ex.name, "pseudonymise") if ex.column(c).identity]


def apply_policy(
    df: pl.DataFrame, ex: Extract, policy: Policy, key: SecretKey, on: dt.date
) -> pl.DataFrame:
    """Raw checked rows in, staged rows out: kept, generalised and token columns only."""
    roles = pseudonymised_roles(ex, policy)
    keys = applicable(roles)
    kept = [kept_column(ex, c) for c in policy.kept(ex.name, "keep")]
    general = [generalised_column(ex, c, how, on) for c, how in policy.generalised(ex.name)]
    try:
        staged = (
            df.with_row_index("__row")
            .select(
                pl.col("__row"),
                record_key(ex.partner, ex.name, key),
                pl.lit(ex.partner).alias("partner"),
                pl.lit(ex.name).alias("extract"),
                *kept,
                *general,
                *working_fields(ex, roles),
            )
            .with_columns(plaintext(k).alias(token_column(k)) for k in keys)
        )
    except Exception as exc:  # the engine's message may quote the plan, which holds the key
        raise PseudonymisationError(
            f"pseudonymising {ex.partner}/{ex.name} failed ({type(exc).__name__})"
        ) from None
    token_cols = [token_column(k) for k in keys]
    staged = hmac_tokens(staged, token_cols, key).sort("__row")
    keep = [
        "record_key",
        "partner",
        "extract",
        *[e.meta.output_name() for e in kept + general],
        *token_cols,
    ]
    return staged.select(keep)
