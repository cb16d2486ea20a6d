"""Apply a data-sharing agreement to checked rows: the only place raw identifiers are read.

Out comes a staged frame holding kept columns, generalised columns and keyed linkage tokens,
and nothing else. Tokens are HMAC-SHA256 under the linkage key, truncated to 128 bits
(32 hex characters).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import polars as pl
import polars_hash as plh

from governance import canonical as canon
from governance.bloom import bloom_column
from governance.errors import PseudonymisationError
from governance.keys import SecretKey
from governance.match_keys import (
    DOB_EDITS,
    POSTCODE_EDITS,
    MatchKey,
    applicable,
    plaintext,
    token_column,
)
from governance.policy import Policy
from schemas.contract import Extract

TOKEN_HEX = 32
# Where tokens are only compared (linkage, exclusions), each HMAC token is held as the integer
# its hex digits spell: the same token exactly (a bijection, so equality is unchanged), in 16
# bytes instead of a 32-byte string and its 16-byte view (docs/decisions.md).
TOKEN_CODE = pl.UInt128
assert TOKEN_HEX * 4 == 128  # TOKEN_CODE holds every token
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
    """Replace each plaintext column by its keyed token, every column in one pass.

    Hashing every value, the columns in parallel, is faster than finding each column's
    distinct values and joining their tokens back (the way until issue 12): at a million people
    9.5 s against 13.7 s for the night's 56M token values, at 100,000 1.0 s against 1.9 s
    (`benchmarks/stages.py`, docs/benchmarks.md); the tokens are identical."""
    material = key.material()
    try:
        return df.with_columns(
            plh.col(c)
            .chash.hmac_sha256(key=material)  # type: ignore[arg-type]  # takes bytes
            .str.head(TOKEN_HEX)
            for c in columns
        )
    except Exception:  # the engine's message may quote the plan, and the plan holds the key
        raise PseudonymisationError(
            f"keyed hashing failed for {len(columns)} token columns"
        ) from None


def token_code(token: pl.Expr) -> pl.Expr:
    """An HMAC token as its TOKEN_CODE integer; null when it is not TOKEN_HEX hex digits (a
    shorter one would otherwise equal a token with leading zeros)."""
    return pl.when(token.str.len_bytes() == TOKEN_HEX).then(
        token.str.to_integer(base=16, dtype=TOKEN_CODE, strict=False)
    )


def token_as(token: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A hex token in the form a column of `dtype` holds tokens (its code, or the text), so
    listed tokens are compared with records' in one form."""
    return token_code(token) if dtype == TOKEN_CODE else token


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


V = pl.col("__v")  # a distinct raw value, in the per-distinct tables below


def name_fields(role: str) -> list[list[pl.Expr]]:
    """Working columns from one distinct raw forename or surname, in two stages (the canonical
    forms first, then what is made from them)."""
    if role == "forename":
        fn, own = pl.col("w_fn"), pl.col("w_fn_own")
        return [
            [canon.forename_own(V).alias("w_fn_own")],
            [own.replace(canon.nickname_table()).alias("w_fn")],
            [
                fn.str.head(1).alias("w_fi"),
                fn.str.head(3).alias("w_fn3"),
                canon.soundex(own).alias("w_fn_ph"),
                canon.nysiis(own).alias("w_fn_ny"),
            ],
        ]
    sn, words = pl.col("w_sn"), pl.col("__sn_words")
    first, last = canon.surname_parts(words)
    return [
        [canon.surname_words(V).alias("__sn_words")],
        [
            canon.surname_canonical(V, words).alias("w_sn"),
            first.alias("w_sn_first"),
            last.alias("w_sn_last"),
        ],
        [
            sn.str.head(3).alias("w_sn3"),
            canon.soundex(sn).alias("w_sn_ph"),
            canon.nysiis(sn).alias("w_sn_ny"),
        ],
    ]


def dob_fields(date_format: str | None) -> list[list[pl.Expr]]:
    """Working columns from one distinct raw date of birth, in two stages: the canonical date
    once, then the twenty-odd columns made from it (an eager frame does not share a common
    subexpression between columns, so an unstaged canonical form was parsed for each)."""
    dob = pl.col("__dob")
    day, month = dob.dt.day(), dob.dt.month()
    iso = dob.cast(pl.String)
    return [
        [canon.dob_evidence(V, date_format).alias("__dob")],
        [
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
        ],
    ]


def postcode_fields() -> list[list[pl.Expr]]:
    """Working columns from one distinct raw postcode (UK or any other country's), in stages:
    the canonical forms once, then what is made from them (see dob_fields)."""
    pc, compact = pl.col("__pc"), pl.col("__pc_compact")
    return [
        [canon.postcode_place(V).alias("__pc"), canon.postcode_key(V).alias("w_pc")],
        [pl.col("w_pc").str.replace_all(" ", "").alias("__pc_compact")],
        [
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
        ],
    ]


SIMPLE_FIELDS = {
    "sex": ("w_sex", canon.sex_canonical),
    "address": ("w_addr", canon.address_canonical),
    "nhs_number": ("w_nhs", canon.nhs_number_canonical),
    "other_id": ("w_oid", canon.other_id_canonical),
    "nino": ("w_nino", canon.nino_canonical),
}


@dataclass(frozen=True)
class Tokenise:
    """Keys to hash where their one field is made: once per distinct raw value (a forename, a
    date of birth, a postcode) instead of once per row. At a million people 45 of the 67 token
    columns are such single-field tokens, and a few tens of thousands of distinct values stand
    for the rows. The same plaintext under the same key: the same tokens.

    keys: every key the agreement makes (governance.match_keys.applicable)."""

    keys: tuple[MatchKey, ...]
    key: SecretKey

    @property
    def single_field(self) -> tuple[MatchKey, ...]:
        return tuple(k for k in self.keys if len(k.fields) == 1 and not k.bloom_bits)

    @property
    def row_fields(self) -> set[str]:
        """Working fields a row still needs: those of keys of several fields or Bloom-encoded
        (and what the name pair is made from)."""
        used = {f for k in self.keys if len(k.fields) > 1 or k.bloom_bits for f in k.fields}
        return used | ({"fn", "sn"} if used & {"name_lo", "name_hi"} else set())


class DistinctMemo:
    """The per-distinct tables (working fields and single-field tokens of each distinct raw
    forename, surname, date of birth and postcode) already made this night, so the next extract
    makes only the values it adds: a person's postcode and date of birth recur in every
    partner's extract. Shared by the night's ingest threads; made and dropped by `distinct_memo`
    around the ingest, so raw values are not kept past it. A table is reused only under the same
    kind of field, raw column type, linkage key and set of keys (`_signature`)."""

    def __init__(self) -> None:
        self._tables: dict[tuple, pl.DataFrame] = {}
        self._lock = threading.Lock()

    def known(self, signature: tuple) -> pl.DataFrame | None:
        with self._lock:
            return self._tables.get(signature)

    def add(self, signature: tuple, table: pl.DataFrame) -> pl.DataFrame:
        """Every value known under signature, table's included (a value two threads both made
        is kept once: the same value under the same key, the same row)."""
        with self._lock:
            known = self._tables.get(signature)
            if known is not None:
                table = pl.concat([known, table], how="vertical").unique(
                    "__v", keep="first", maintain_order=True
                )
            self._tables[signature] = table
            return table


_MEMO: ContextVar[DistinctMemo | None] = ContextVar("distinct_memo", default=None)


@contextmanager
def distinct_memo() -> Iterator[None]:
    """Within it (the night's ingest: Prefect copies the context into its task threads), the
    per-distinct tables are made once per value for every extract. Outside it, per extract."""
    token = _MEMO.set(DistinctMemo())
    try:
        yield
    finally:
        _MEMO.reset(token)


def _made(stages: list[list[pl.Expr]]) -> list[str]:
    return [e.meta.output_name() for stage in stages for e in stage]


def _signature(kind: str, dtype: pl.DataType, made: list[str], tokenise: Tokenise | None) -> tuple:
    """What decides a per-distinct table's columns and values: the kind of field, the raw
    column's type and, when tokens are made, the key and which of the kind's fields are hashed
    or kept per row (extracts whose agreements differ elsewhere still share the table)."""
    if tokenise is None:
        return (kind, str(dtype))
    return (
        kind,
        str(dtype),
        tokenise.key.key_id,
        tuple(sorted(k.name for k in tokenise.single_field if f"w_{k.fields[0]}" in made)),
        tuple(sorted(f for f in made if f.startswith("w_") and f[2:] in tokenise.row_fields)),
    )


def per_distinct(
    df: pl.DataFrame,
    column: str,
    kind: str,
    stages: list[list[pl.Expr]],
    tokenise: Tokenise | None = None,
) -> pl.DataFrame:
    """Add the fields `stages` make (expressions on V, stage after stage), computed once per
    distinct value of `column`: names, dates and postcodes repeat, so a few thousand values
    stand for a million rows. With `tokenise`, the single-field tokens made from these fields
    are hashed here too, and only the working fields rows still need (Tokenise.row_fields)
    are joined back.

    kind names what `stages` make (e.g. `dob:%d/%m/%Y`): inside `distinct_memo`, values made
    earlier under the same kind, type, key and keys are not made again."""
    table = df.select(pl.col(column).alias("__v")).unique()
    memo = _MEMO.get()
    signature = _signature(kind, df.schema[column], _made(stages), tokenise)
    known = memo.known(signature) if memo is not None else None
    if known is not None:
        table = table.join(known.select("__v"), on="__v", how="anti", nulls_equal=True)
    for stage in stages:
        table = table.with_columns(stage)
    if tokenise is not None:
        here = [k for k in tokenise.single_field if f"w_{k.fields[0]}" in table.columns]
        row_fields = tokenise.row_fields
        table = table.with_columns(plaintext(k).alias(token_column(k)) for k in here)
        table = hmac_tokens(table, [token_column(k) for k in here], tokenise.key)
        table = table.drop(
            c
            for c in table.columns
            if c.startswith("__") and c != "__v" or c.startswith("w_") and c[2:] not in row_fields
        )
    if memo is not None:
        table = memo.add(signature, table)
    return df.join(table, left_on=column, right_on="__v", how="left", nulls_equal=True)


def with_working_fields(
    df: pl.DataFrame, ex: Extract, roles: set[str], tokenise: Tokenise | None = None
) -> pl.DataFrame:
    """Canonical identity fields named as match keys expect them (see governance.match_keys).

    tokenise: hash its keys whose field comes from a per-distinct table there (their
    token columns are added), and keep per row only the working fields other keys need."""
    cols = ex.identity_columns
    for role in ("forename", "surname"):
        if role in roles:
            df = per_distinct(df, cols[role], role, name_fields(role), tokenise)
    if {"w_fn", "w_sn"} <= set(df.columns):
        both = pl.col("w_fn").is_not_null() & pl.col("w_sn").is_not_null()  # min/max skip nulls
        df = df.with_columns(
            pl.when(both).then(pl.min_horizontal("w_fn", "w_sn")).alias("w_name_lo"),
            pl.when(both).then(pl.max_horizontal("w_fn", "w_sn")).alias("w_name_hi"),
        )
    if "dob" in roles:
        date_format = ex.column(cols["dob"]).date_format
        df = per_distinct(df, cols["dob"], f"dob:{date_format}", dob_fields(date_format), tokenise)
    if "postcode" in roles:
        df = per_distinct(df, cols["postcode"], "postcode", postcode_fields(), tokenise)
    for role, (name, fn) in SIMPLE_FIELDS.items():
        if role in roles:
            df = df.with_columns(fn(pl.col(cols[role])).alias(name))
    return df


def kept_column(ex: Extract, name: str) -> pl.Expr:
    """A kept column, typed as its contract says, without the spaces around it (fixed-width
    exports, sqlcmd and SQL*Plus, pad every field; the row rules judge fields trimmed, so a
    padded code is valid and must be staged as the code)."""
    col = ex.column(name)
    raw = pl.col(name).str.strip_chars()
    if col.dtype == "date":
        return raw.str.to_date(col.date_format, strict=False).alias(name)
    if col.dtype == "bool":
        return (raw.str.to_uppercase() == "Y").alias(name)
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
    """A generalised column, made once per distinct raw value (dates of birth and postcodes
    repeat)."""
    if how == "age_band":
        fmt = ex.column(name).date_format
        return canon.per_distinct(
            pl.col(name), lambda raw: age_band(canon.dob_evidence(raw, fmt), on)
        ).alias("age_band")  # a placeholder DOB has no age band (it is not 65+)
    part = canon.postcode_sector if how == "postcode_sector" else canon.postcode_district
    made = canon.per_distinct(pl.col(name), lambda raw: part(canon.postcode_canonical(raw)))
    return made.alias(how)


def keyed_id(purpose: str, text: pl.Expr, key: SecretKey) -> pl.Expr:
    """A 16-hex-character id: HMAC-SHA256 under the linkage key of a purpose tag and the text.

    Nobody without the key can compute it from what it is made of (a partner's reference, a
    record key), and it changes when the key is rotated."""
    return (
        pl.concat_str([pl.lit(f"{purpose}|"), text])
        .chash.hmac_sha256(key=key.material())  # type: ignore[attr-defined]  # polars-hash plugin
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
    tokenise = Tokenise(tuple(keys), key)
    try:
        working = with_working_fields(df.with_row_index("__row"), ex, roles, tokenise)
        done = [token_column(k) for k in keys if token_column(k) in working.columns]
        rest = [k for k in keys if token_column(k) not in done]
        staged = working.select(
            pl.col("__row"),
            record_key(ex.partner, ex.name, key),
            pl.lit(ex.partner).alias("partner"),
            pl.lit(ex.name).alias("extract"),
            *kept,
            *general,
            pl.col("^w_.*$"),
            *done,
        ).with_columns(
            (pl.col(f"w_{k.fields[0]}") if k.bloom_bits else plaintext(k)).alias(token_column(k))
            for k in rest
        )
    except PseudonymisationError:
        raise
    except Exception as exc:  # the engine's message may quote the plan, which holds the key
        raise PseudonymisationError(
            f"pseudonymising {ex.partner}/{ex.name} failed ({type(exc).__name__})"
        ) from None
    token_cols = [token_column(k) for k in keys]
    staged = hmac_tokens(staged, [token_column(k) for k in rest if not k.bloom_bits], key)
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
