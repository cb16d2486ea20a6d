"""`mcn linkage evaluate --config FILE`: measure the linker on any files with a known truth.

The files are pseudonymised under a throwaway random key exactly as the pipeline does (the same
canonical forms, match keys and field tokens), then linked, and scored against the column that
names the true entity. This is how an analyst checks linkage on a clerically reviewed sample.

Config (YAML or JSON):

    link_type: dedupe_and_link    # default: every pair counts; link_only: only pairs across files
    files:
      - path: left.csv            # CSV or Parquet (.parquet, .pq); relative to the config
        delimiter: ","            # CSV only: one character (default ","; "\\t" is a tab)
        encoding: utf-8           # CSV only (default utf-8, BOM or not; UTF-16 with a BOM is
                                  # found by itself): cp1252, latin-1, ...
        null_values: [NULL, nan]  # values meaning blank (default: pandas' read_csv markers,
                                  # MISSING_MARKERS); compared after trimming spaces
        truth: entity_id          # column naming the true entity (blank: the row is left out)
        truth_pattern: 'rec-(\\d+)' # optional: the entity is this regex's first group
        columns:                  # identity field -> column(s) in this file; all optional
          forename: first_name
          surname: last_name
          full_name: name         # first word forename, last word surname (titles dropped)
          dob: birth_date
          dob_format: "%m/%d/%Y"  # strftime format of dob (default %Y-%m-%d)
          sex: gender
          postcode: zip           # UK or any other postal code
          address: [line1, line2] # address lines: exact and Bloom-filter (Dice) evidence
          nhs_number: nhs_no
          nino: ni
          other_id: member_id

What a file holds is read as written, with these forgivenesses (each counted in the result's
`files`, never shown): header names match with or without surrounding spaces; blank markers
are blanks; whole numbers written as floats ("19800131.0", "9990000018.0", "12.0": a spreadsheet
or pandas round trip) lose their ".0"; a date of birth with a midnight time ("1980-01-31
00:00:00") loses the time, and a Parquet date or datetime column is a date whatever
dob_format says; numeric truth values are compared as numbers ("0012" is "12"). Refused, with
what to change: a file with no rows, a date of birth column of which dob_format reads under
half the values, no two records sharing a true entity, files sharing no identity field.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import secrets
import time
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from governance import canonical as canon
from governance.agreement import Agreement, Policy
from governance.keys import SecretKey
from governance.pseudonymise import apply_policy
from schemas.contract import Column, Extract
from schemas.errors import SchemaError
from transforms.evaluate import pairwise_quality
from transforms.link import TOKEN_COLUMNS, as_codes, link_records

ROLES = ("forename", "surname", "dob", "sex", "postcode", "nhs_number", "nino", "other_id")
# Values that mean "blank", as pandas' read_csv takes them by default (the files analysts get
# have mostly been through pandas, R or a database export): compared after trimming spaces.
MISSING_MARKERS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
WHOLE_FLOAT = r"^([0-9]+)\.0+$"  # "19800131.0": a whole number through a float column
# a time of day after a date ("1980-01-31 00:00:00", "1980-01-31T00:00:00.000Z")
TIME_OF_DAY = r"^(.+?)[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
MIN_DOB_READ = 0.5  # a dob_format that reads fewer of the values than this is refused
ISO_DATE = "%Y-%m-%d"  # dates of birth as standard_rows gives them


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    forename: str | None = Field(None, description="Given name column.")
    surname: str | None = Field(None, description="Family name column.")
    full_name: str | None = Field(None, description="Whole name column (first word, last word).")
    dob: str | None = Field(None, description="Date of birth column.")
    dob_format: str = Field("%Y-%m-%d", description="strftime format of the date of birth.")
    sex: str | None = Field(None, description="Sex column (M/F, male/female, 1/2).")
    postcode: str | None = Field(None, description="Postal code column, any country.")
    address: list[str] | None = Field(None, description="Address line columns.")
    nhs_number: str | None = Field(None, description="NHS number column.")
    nino: str | None = Field(None, description="National Insurance number column.")
    other_id: str | None = Field(None, description="Any other unique identifier column.")


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path = Field(description="CSV or Parquet file.")
    delimiter: str = Field(",", description="CSV delimiter: one character.")
    encoding: str = Field("utf-8", description="CSV text encoding (utf-8, cp1252, latin-1...).")
    null_values: list[str] | None = Field(
        None, description="Values meaning blank (default MISSING_MARKERS)."
    )
    truth: str = Field(description="Column naming the true entity.")
    truth_pattern: str | None = Field(
        None, description="Regex whose first group is the entity (e.g. rec-(\\d+))."
    )
    format: Literal["csv", "parquet"] | None = Field(None, description="Default: from suffix.")
    columns: Mapping = Field(description="Identity field -> column.")

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        value = {"\\t": "\t", "tab": "\t"}.get(value, value)
        if len(value) != 1:
            raise ValueError('must be one character (a tab: "\\t")')
        return value

    @field_validator("truth_pattern")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                groups = re.compile(value).groups
            except re.error:
                raise ValueError("is not a regular expression") from None
            if groups < 1:
                raise ValueError("needs a group in brackets: the part naming the entity")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            "".encode(value)
        except LookupError:
            raise ValueError("is not a text encoding Python knows (utf-8, cp1252...)") from None
        return value


class EvaluationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[Source] = Field(min_length=1, description="Two or more files to link.")
    link_type: Literal["dedupe_and_link", "link_only"] = Field(
        "dedupe_and_link",
        description="link_only: score only pairs of records from different files (two files "
        "each free of duplicates, as FEBRL4); dedupe_and_link: every pair.",
    )


def load_config(path: Path) -> EvaluationConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text())
        config = EvaluationConfig.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        detail = (
            "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_input=False)
            )
            if isinstance(exc, ValidationError)
            else type(exc).__name__
        )
        raise SchemaError(
            f"linkage evaluation config is not valid ({detail})",
            str(path),
            "see `mcn linkage evaluate --help` for its shape",
        ) from None
    if config.link_type == "link_only" and len(config.files) < 2:
        raise SchemaError(
            "link_type link_only scores pairs across files, and the config lists one file",
            str(path),
            "list two or more files, or use link_type dedupe_and_link",
        )
    for source in config.files:
        if not source.path.is_absolute():
            source.path = Path(path).parent / source.path
    return config


def _read(source: Source) -> pl.DataFrame:
    """The file as polars reads it: a CSV's cells as text, a Parquet file's columns typed."""
    kind = source.format or ("parquet" if source.path.suffix in PARQUET_SUFFIXES else "csv")
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise SchemaError(
            f"file could not be read ({type(exc).__name__})",
            str(source.path),
            "check the path in the config (relative paths start at the config's folder)",
        ) from None
    try:
        if kind == "parquet":
            return pl.read_parquet(data)
        return pl.read_csv(_utf8(data, source), separator=source.delimiter, infer_schema=False)
    except SchemaError:
        raise
    except Exception as exc:  # noqa: BLE001 - reader messages can quote a line: never passed on
        if kind == "csv" and "more fields" in str(exc):
            what, fix = "some rows have more fields than the header", "check the delimiter"
        elif kind == "parquet":
            what, fix = "file is not Parquet", "set `format: csv` for a CSV file"
        else:
            what, fix = "file could not be read", "check the format and delimiter"
        raise SchemaError(
            f"{what} ({type(exc).__name__})", str(source.path), fix + " in the config"
        ) from None


def _utf8(data: bytes, source: Source) -> bytes:
    """A CSV file's bytes as UTF-8 without a byte-order mark, from the config's encoding (a
    UTF-16 file with a BOM is recognised as such); gzip is opened first."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    encoding = source.encoding.lower().replace("_", "-")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif encoding in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"file is not {source.encoding} text (byte {exc.start:,} cannot be read)",
            str(source.path),
            "set `encoding:` for this file in the config (cp1252 or latin-1 for most "
            "Windows exports) or save the file as UTF-8",
        ) from None
    return text.encode("utf-8")


def _column_names(df: pl.DataFrame, wanted: list[str], source: Source) -> dict[str, str]:
    """Each wanted name -> the file's column: the same name, else the one that is the same
    without spaces around it (`rec_id, given_name` headers written with ", ")."""
    stripped: dict[str, list[str]] = {}
    for column in df.columns:
        stripped.setdefault(column.strip(), []).append(column)
    found, missing = {}, []
    for name in wanted:
        if name in df.columns:
            found[name] = name
        elif len(stripped.get(name.strip(), [])) == 1:
            found[name] = stripped[name.strip()][0]
        else:
            missing.append(name)
    if missing:
        raise SchemaError(
            f"columns not in the file: {', '.join(missing)}",
            str(source.path),
            "fix the column names in the config (names are matched with or without spaces "
            "around them; check the delimiter too)",
        )
    return found


def _as_text(column: pl.Series, name: str, source: Source) -> pl.Series:
    """A column as trimmed text, blank markers null; dates as ISO dates; whole numbers that
    went through a float column without their ".0"."""
    dtype = column.dtype
    if dtype == pl.Date:
        return column.dt.strftime(ISO_DATE)
    if isinstance(dtype, pl.Datetime):
        return column.dt.date().dt.strftime(ISO_DATE)
    try:
        if dtype.is_nested():
            raise pl.exceptions.InvalidOperationError
        text = column.cast(pl.String).str.strip_chars()
    except pl.exceptions.PolarsError:  # lists, structs, bytes that are not UTF-8 text
        raise SchemaError(
            f"column {name} holds {dtype.base_type()} values that are not text",
            str(source.path),
            "map a column of text, numbers or dates",
        ) from None
    markers = MISSING_MARKERS if source.null_values is None else source.null_values
    text = pl.select(
        pl.when(text.is_in([m.strip() for m in markers])).then(None).otherwise(text)
    ).to_series()
    return text.str.replace(WHOLE_FLOAT, "${1}").alias(name)


def _dob(text: pl.Series, dtype: pl.DataType, fmt: str, source: Source) -> pl.Series:
    """Dates of birth as ISO dates: a typed date column as it is, text by dob_format (a
    midnight time after the date dropped when the format has none). Refused when the format
    reads under MIN_DOB_READ of the values: every date would be lost without a word."""
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return text
    if not re.search(r"%[HIMSpTRcfz]", fmt):
        text = text.str.replace(TIME_OF_DAY, "${1}")
    dates = text.str.to_date(fmt, strict=False)
    values, read = text.is_not_null().sum(), dates.is_not_null().sum()
    if values and read < MIN_DOB_READ * values:
        raise SchemaError(
            f"dob_format {fmt!r} reads {read:,} of the {values:,} dates of birth",
            str(source.path),
            "set dob_format to the column's strftime format, e.g. %d/%m/%Y or %Y%m%d (if "
            "it is right and most values are not dates, leave dob out of the config)",
        )
    return dates.dt.strftime(ISO_DATE)


def standard_rows(source: Source, label: str) -> pl.DataFrame:
    """The file's identity columns under standard names, plus record_ref and truth (rows
    without a truth value are left out: standard_rows_counted counts them)."""
    return standard_rows_counted(source, label)[0]


def standard_rows_counted(source: Source, label: str) -> tuple[pl.DataFrame, dict]:
    """standard_rows, and what was read: rows, rows left out (blank or no truth), dates of
    birth read of those given (counts only)."""
    df, m = _read(source), source.columns
    wanted = [
        c
        for c in (
            m.forename,
            m.surname,
            m.full_name,
            m.dob,
            m.sex,
            m.postcode,
            m.nhs_number,
            m.nino,
            m.other_id,
            source.truth,
            *(m.address or []),
        )
        if c
    ]
    names = _column_names(df, wanted, source)
    dtypes = {name: df.schema[col] for name, col in names.items()}
    df = pl.DataFrame([_as_text(df[col], name, source) for name, col in names.items()])
    df = df.filter(~pl.all_horizontal(pl.all().is_null()))  # blank lines
    dob_values = int(df[m.dob].is_not_null().sum()) if m.dob else 0
    if m.dob:
        df = df.with_columns(_dob(df[m.dob], dtypes[m.dob], m.dob_format, source))
    truth = pl.col(source.truth)
    if source.truth_pattern:
        truth = truth.str.extract(source.truth_pattern, 1)
    # numeric entity ids compare as numbers: "0012" and "12" (and "12.0", above) are one
    truth = (
        pl.when(truth.str.contains(r"^[0-9]+$"))
        .then(truth.str.replace(r"^0+([0-9])", "${1}"))
        .otherwise(truth)
    )
    df = df.with_columns(truth.alias(source.truth))
    counts = {"path": str(source.path), "rows": df.height}
    if m.dob:  # of the rows read: how many gave a date of birth, and how many of those it read
        counts["dob_values"], counts["dob_read"] = dob_values, int(df[m.dob].is_not_null().sum())
    df = df.filter(pl.col(source.truth).is_not_null())
    counts["rows_without_truth"] = counts["rows"] - df.height
    if df.is_empty():
        raise SchemaError(
            "file has no rows with a truth value"
            + (f" ({counts['rows']:,} rows without one)" if counts["rows"] else ""),
            str(source.path),
            "check the file and that `truth` names its entity column"
            + (" and that truth_pattern matches it" if source.truth_pattern else ""),
        )
    out = {
        "record_ref": pl.format("{}-{}", pl.lit(label), pl.int_range(pl.len())),
        "truth": pl.col(source.truth),
    }
    words = canon.name_words(pl.col(m.full_name)) if m.full_name else None
    # a one-word full name is a surname: its word is not also the forename ("Clarke" is not
    # "Clarke Clarke", whose forename token would be rare and link every Clarke to it)
    given = pl.when(words.list.len() > 1).then(words.list.first()) if words is not None else None
    out["forename"] = pl.col(m.forename) if m.forename else given
    out["surname"] = (
        pl.col(m.surname) if m.surname else (words.list.last() if words is not None else None)
    )
    for role, col in (
        ("date_of_birth", m.dob),
        ("sex", m.sex),
        ("nhs_number", m.nhs_number),
        ("nino", m.nino),
        ("other_id", m.other_id),
    ):
        out[role] = pl.col(col) if col else None
    if m.address:
        out["address"] = pl.concat_str(
            [pl.col(c) for c in m.address], separator=" ", ignore_nulls=True
        )
    out["postcode"] = pl.col(m.postcode) if m.postcode else None
    rows = df.select(expr.alias(name) for name, expr in out.items() if expr is not None)
    return rows, counts


IDENTITY = ("forename", "surname", "date_of_birth", "postcode", "address", "nhs_number", "nino")


def _fields(rows: pl.DataFrame) -> set[str]:
    """The identity fields the rows give somewhere (a column blank in every row gives none)."""
    return {c for c in rows.columns if c in (*IDENTITY, "other_id") and rows[c].is_not_null().any()}


def require_evidence(rows: dict[str, pl.DataFrame], config: EvaluationConfig, where: str) -> None:
    """Refuse what cannot be scored: a file with no identity field, files sharing none, and a
    truth under which no two records (across files, for link_only) are one entity."""
    fields = {label: _fields(df) for label, df in rows.items()}
    for (label, found), source in zip(fields.items(), config.files, strict=True):
        if not found:
            raise SchemaError(
                "no identity field is mapped for this file, or every one is blank (sex alone "
                "links no one)",
                str(source.path),
                "map names, a date of birth, a postcode, address lines or an identifier",
            )
        if len(rows) > 1 and not any(found & other for o, other in fields.items() if o != label):
            raise SchemaError(
                "this file shares no identity field with the other files: nothing could "
                "link it to them",
                str(source.path),
                "map the same fields (say forename, surname, dob) in every file",
            )
    truth = pl.concat(
        [df.select("truth", pl.lit(label).alias("file")) for label, df in rows.items()]
    )
    per_entity = truth.group_by("truth").agg(pl.len(), pl.col("file").n_unique().alias("files"))
    paired = per_entity.filter(
        pl.col("files") > 1 if config.link_type == "link_only" else pl.col("len") > 1
    )
    if paired.is_empty():
        across = " in different files" if config.link_type == "link_only" else ""
        raise SchemaError(
            f"no two records{across} have the same truth value, so there is nothing to find "
            f"({truth.height:,} records, {per_entity.height:,} entities)",
            where,
            "check that `truth` names the column of the true entity in every file, written "
            "alike in each (truth_pattern takes the entity out of an id such as rec-12-dup-0)",
        )


def _extract(rows: pl.DataFrame, label: str, dob_format: str) -> tuple[Extract, Policy]:
    roles = {
        "forename": "forename",
        "surname": "surname",
        "date_of_birth": "dob",
        "sex": "sex",
        "postcode": "postcode",
        "address": "address",
        "nhs_number": "nhs_number",
        "nino": "nino",
        "other_id": "other_id",
    }
    columns = [Column("record_ref", "str", "Row reference.", required=True)] + [
        Column(
            c,
            "date" if c == "date_of_birth" else "str",
            c,
            identity=roles[c],
            date_format=dob_format if c == "date_of_birth" else None,
        )
        for c in rows.columns
        if c in roles
    ]
    ex = Extract("evaluation", label, label, "evaluation file", tuple(columns), "record_ref")
    agreement = Agreement.model_construct(valid_from=dt.date.min, valid_to=dt.date.max)
    treatments = {c.name: ("keep" if c.name == "record_ref" else "pseudonymise") for c in columns}
    return ex, Policy.model_construct(
        partner="evaluation", agreement=agreement, extracts={label: treatments}
    )


def evaluate(config: EvaluationConfig, where: str = "the config") -> dict:
    """Pseudonymise (throwaway key), link and score; stage timings in seconds. `where`: the
    config's path, for messages."""
    timings, start = {}, time.perf_counter()
    key = SecretKey.from_hex(secrets.token_hex(32), "throwaway")
    sources = [(f"f{i}", s) for i, s in enumerate(config.files)]
    counted = {label: standard_rows_counted(source, label) for label, source in sources}
    rows = {label: df for label, (df, _) in counted.items()}
    require_evidence(rows, config, where)
    timings["read"] = time.perf_counter() - start
    staged, truth = [], []
    for label in rows:
        ex, policy = _extract(rows[label].drop("truth"), label, ISO_DATE)
        staged.append(apply_policy(rows[label].drop("truth"), ex, policy, key, dt.date.today()))
        truth.append(rows[label].select("record_ref", "truth").with_columns(extract=pl.lit(label)))
    timings["pseudonymise"] = time.perf_counter() - start - timings["read"]
    records = pl.concat(staged, how="diagonal_relaxed")
    records = records.with_columns(
        pl.lit(None, pl.String).alias(c) for c in TOKEN_COLUMNS if c not in records.columns
    )
    t = time.perf_counter()
    linkage = link_records(as_codes(records.select("record_key", *TOKEN_COLUMNS)), key=key)
    timings["link"] = time.perf_counter() - t
    assigned = (
        records.select("record_key", "extract", "record_ref")
        .join(linkage.links, on="record_key")
        .join(pl.concat(truth), on=["extract", "record_ref"])
    )
    quality = pairwise_quality(
        assigned, across="extract" if config.link_type == "link_only" else None
    )
    quality["link_type"] = config.link_type
    quality["files"] = [counts for _, counts in counted.values()]
    quality["linked_pairs_by_rule"] = dict(
        linkage.pairs.group_by("rule").len().sort("rule").iter_rows()
    )
    model = linkage.model
    quality["model"] = None if model is None else model.summary()
    quality["seconds"] = {k: round(v, 3) for k, v in timings.items()}
    quality["seconds"]["total"] = round(time.perf_counter() - start, 3)
    return quality


def files_read(result: dict) -> list[str]:
    """One line per file: what was read and what was left out (counts only)."""
    lines = []
    for f in result.get("files", []):
        line = f"read {f['path']}: {f['rows']:,} rows"
        if f["rows_without_truth"]:
            line += f", {f['rows_without_truth']:,} without a truth value left out"
        if "dob_values" in f:
            line += f"; dates of birth read: {f['dob_read']:,} of {f['dob_values']:,}"
        lines.append(line)
    return lines


def write_json(result: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(result, indent=2) + "\n")
