"""`mcn linkage evaluate --config FILE`: measure the linker on any files with a known truth.

The files are pseudonymised under a throwaway random key exactly as the pipeline does (the same
canonical forms, match keys and field tokens), then linked, and scored against the column that
names the true entity. This is how an analyst checks linkage on a clerically reviewed sample.

Config (YAML or JSON):

    link_type: dedupe_and_link    # default: every pair counts; link_only: only pairs across files,
                                  # which are each free of duplicates (one record a file a person)
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
          full_name: name         # first word forename, last word surname (titles dropped;
                                  # "SMITH, John": the surname before the comma, in a
                                  # column where at least half the names are so written)
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
or pandas round trip; "12,0" or "12,00" with a decimal comma, not "12,000") lose their ".0";
a time after a date of birth is dropped when it has no
zone or is midnight at offset zero (another zoned time may be a date moved a day: not read),
and a column of naive times that are all UK midnights in UTC (23:00 the day before in summer)
is read as the UK dates;
two-digit years are never in the future, and no date of birth (typed or text) after today is
read; a Parquet date, or datetime without a zone, is a date whatever dob_format says; a
zoned Parquet datetime (and Spark's INT96, a moment in UTC) at midnight in its zone or in the
UK is that date; numeric truth values are compared as numbers ("0012" is "12"); a file is
Parquet by its first bytes, and only its mapped columns are read (decimal256 as text, a UUID
as its 8-4-4-4-12 text); Excel's `sep=;` first line names the delimiter; a byte-order mark
decides the encoding. Refused, with what
to change: unreadable text, spreadsheets, ragged rows, a dob_format reading under half the
values, an NHS number or NINO column under half valid, a file with no rows, files sharing no
identity field, one file listed twice, one column as two fields or the truth as an
identifier, a truth naming no true pair or one entity for over half the records, a 32-bit
float column holding numbers it cannot keep exact (past 2^24)
(docs/linkage.md section 10).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import secrets
import time
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.reader import (
    EXACT_FLOAT,
    EXACT_FLOAT32,
    int96_columns,
    uk_midnights_in_utc,
    uk_midnights_in_utc_text,
)
from governance import canonical as canon
from governance.agreement import Agreement, Policy
from governance.keys import SecretKey
from governance.pseudonymise import apply_policy, distinct_memo
from schemas.contract import COMMON_BLANK_MARKERS, UK_TIME_ZONE, Column, Extract
from schemas.errors import SchemaError
from schemas.formats import (
    NAIVE_ELEVEN_PM,
    NAIVE_TIME,
    WHOLE_FLOAT,
    ZONED_MIDNIGHT,
    ZONED_TIME,
)
from transforms.cluster import one_record_per_source
from transforms.evaluate import pairwise_quality
from transforms.link import TOKEN_COLUMNS, as_codes, link_records

ROLES = ("forename", "surname", "dob", "sex", "postcode", "nhs_number", "nino", "other_id")
MISSING_MARKERS = COMMON_BLANK_MARKERS  # read as blank unless the config lists its own
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
MIN_DOB_READ = 0.5  # a dob_format that reads fewer of the values than this is refused
MIN_ID_VALID = 0.5  # NHS numbers or NINOs: fewer valid than this of those given is refused
MAX_ENTITY_SHARE = 0.5  # one truth value naming more of the records than this is refused...
MIN_RECORDS_FOR_SHARE = 20  # ...in files of at least this many records
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
                pl.Series([""]).str.extract(value, 1)  # the engine that will run it
            except (re.error, pl.exceptions.PolarsError):
                raise ValueError(
                    "is not a regular expression polars runs (no look-around or back-references)"
                ) from None
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
    seen: dict[Path, Path] = {}
    for source in config.files:
        same = seen.setdefault(source.path.resolve(), source.path)
        if same is not source.path:
            raise SchemaError(
                f"the config lists one file twice ({same} and {source.path}): every record "
                "would match its own copy",
                str(path),
                "list each file once",
            )
    return config


def _read(source: Source, wanted: list[str]) -> tuple[pl.DataFrame, dict]:
    """The file as polars reads it: a CSV's cells as text, a Parquet file's `wanted` columns
    typed (_parquet); and what was forgiven in reading it (counts)."""
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise SchemaError(
            f"file could not be read ({type(exc).__name__})",
            str(source.path),
            "check the path in the config (relative paths start at the config's folder)",
        ) from None
    if data[:2] == b"PK":
        raise SchemaError(
            "file is a zip archive or a spreadsheet (xlsx, ods), not CSV or Parquet",
            str(source.path),
            "export the sheet as CSV (UTF-8), or unzip the file, and point the config at that",
        )
    sniffed = "parquet" if data[:4] == b"PAR1" else None
    kind = (
        source.format or sniffed or ("parquet" if source.path.suffix in PARQUET_SUFFIXES else "csv")
    )
    text, delimiter = b"", source.delimiter
    try:
        if kind == "parquet":
            return _parquet(data, wanted, source)
        text, delimiter, sep_line = _excel_sep_line(_utf8(data, source), source.delimiter)
        df = pl.read_csv(text, separator=delimiter, infer_schema=False)
        return df, {"excel_sep_line": sep_line}
    except SchemaError:
        raise
    except Exception as exc:  # noqa: BLE001 - reader messages can quote a line: never passed on
        if kind == "csv" and "more fields" in str(exc):
            line = _first_long_line(text, delimiter)
            where = f" (the first at line {line})" if line else ""
            what = f"some rows have more fields than the header{where}"
            fix = "check the delimiter, and quote fields that hold it"
        elif kind == "parquet":
            what = "file could not be read as Parquet (damaged, or not Parquet)"
            fix = "check the file; for a CSV file named .parquet set `format: csv`"
        else:
            what, fix = "file could not be read", "check the format and delimiter"
        raise SchemaError(
            f"{what} ({type(exc).__name__})", str(source.path), fix + " in the config"
        ) from None


# Excel writes `sep=;` as a CSV's first line when the list separator is not a comma.
EXCEL_SEP_LINE = re.compile(rb'^"?sep=(\\t|.)[^\r\n]*\r?\n', re.IGNORECASE)


def _excel_sep_line(text: bytes, delimiter: str) -> tuple[bytes, str, int]:
    """(text without Excel's `sep=` line, the delimiter it names, 1) when the file starts with
    one; else (text, delimiter, 0)."""
    found = EXCEL_SEP_LINE.match(text)
    if found is None:
        return text, delimiter, 0
    named = found.group(1).decode("ascii", "replace")
    return text[found.end() :], "\t" if named == "\\t" else named, 1


FIXED_OFFSET = re.compile(r"^[+-]\d\d:\d\d$")  # a zone written as an offset, e.g. +05:30


# Words after a comma that end a name rather than start one ("John Smith, Jr", "Anne Smith,
# MD"): a full name followed only by these is not written surname first.
POST_NOMINALS = (
    *canon.SUFFIXES,
    *("JUNIOR", "SENIOR", "ND", "RD", "TH", "MD", "RN", "RGN", "RMN", "KC", "QC", "JP", "MP"),
    *("BEM", "FRCS", "MRCP", "FRCP", "BSC", "MSC", "BA", "MA", "MBA", "DPHIL", "LLB"),
    *("DBE", "KBE", "OM", "CH", "VC", "GC", "DL", "FRS", "RA", "MSP", "MS", "AM", "MLA"),
)
# An ordinal in a name ("Thomas Clifford, 1st Baron Clifford", "Henry Smith 2nd") is no word of
# the name (its digits would go and leave "ST" or "ND" as one). A comma followed by an ordinal,
# or by words with "of" in them, ends a name with a style ("..., 1st Baron Clifford of
# Chudleigh", "Mary, Queen of Scots"), as historical and peerage records write them: not a
# name written surname first. Such a name is read as a whole, first and last words.
ORDINAL = r"(?i)\b[0-9]+(?:st|nd|rd|th)\b"
STYLE_AFTER_COMMA = r"(?i)^\s*[0-9]+(?:st|nd|rd|th)\b|\bof\b"
# Not the name's words either: text in brackets after or inside a name ("Mary Tolley (née
# Jones)", "John Smith (aka Jack Jones)", "John Barker [deceased]"), whose last word would
# be read as the surname; and "the" before a title ("The Rev. John Smith": forename THE).
ASIDE = r"\([^)]*\)?|\[[^\]]*\]?"
THE_BEFORE_TITLE = rf"(?i)^\s*the\s+((?:{'|'.join(canon.TITLES)})\b)"
UUID_SHAPE = r"^\{?[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}\}?$"


def _uuid_text(hex32: pl.Expr) -> pl.Expr:
    """32 hex digits in a UUID's text form (8-4-4-4-12), as DuckDB and pandas print one, so
    a UUID column and the same ids written as text in another file are one entity."""
    cuts = ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))
    return pl.concat_str([hex32.str.slice(a, n) for a, n in cuts], separator="-")


def _parquet(data: bytes, wanted: list[str], source: Source) -> tuple[pl.DataFrame, dict]:
    """The `wanted` columns of a Parquet file (names matched with or without spaces around
    them; only they are read), so another column of a type polars cannot take, damaged, or a
    name written twice, is no fault. INT96 timestamps (Spark's) are read in microseconds as
    the moments in UTC they are; decimal256 columns as text; 16-byte binary columns (UUIDs)
    as UUID text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(io.BytesIO(data), coerce_int96_timestamp_unit="us")
    # pyarrow stores the Arrow schema, which says whether an INT96 column had a zone; without
    # it (Spark), INT96 is the moment in UTC
    stored = b"ARROW:schema" in (parquet.metadata.metadata or {})
    int96 = set() if stored else int96_columns(parquet)
    keep = {w.strip().casefold() for w in wanted}  # another case too: named in a refusal
    # only those columns are read (a name written twice reads both): a wide export costs no
    # memory for what is not mapped, and a damaged column that is not mapped stops nothing
    names_in_file = parquet.schema_arrow.names
    table = parquet.read(
        columns=list(dict.fromkeys(n for n in names_in_file if n.strip().casefold() in keep))
    )
    names: list[str] = []
    columns: list = []
    uuids: list[str] = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name.strip().casefold() not in keep:
            continue
        kind = column.type
        if isinstance(kind, pa.BaseExtensionType):
            column, kind = (
                pa.chunked_array([c.storage for c in column.chunks], kind.storage_type),
                kind.storage_type,
            )
        if name in int96 and pa.types.is_timestamp(kind) and kind.tz is None:
            column = column.cast(pa.timestamp("us", tz="UTC"))
        elif pa.types.is_timestamp(kind) and kind.tz and FIXED_OFFSET.match(kind.tz):
            column = pc.local_timestamp(column)  # polars has no fixed offsets: the local time
        elif pa.types.is_decimal256(kind):
            column = column.cast(pa.string())
        repeats = names.count(name) + sum(n.startswith(f"{name}_duplicated_") for n in names)
        names.append(name if not repeats else f"{name}_duplicated_{repeats - 1}")
        columns.append(column)
        if pa.types.is_fixed_size_binary(kind) and kind.byte_width == 16:
            uuids.append(names[-1])
    frames = []
    for name, column in zip(names, columns, strict=True):
        try:
            frame = pl.from_arrow(pa.table([column], names=[name]))
        except BaseException:  # noqa: BLE001 - messages may quote data; panics too
            raise SchemaError(
                f"column {name} is of a type polars cannot read ({column.type})",
                str(source.path),
                "write the column as text, numbers or dates",
            ) from None
        assert isinstance(frame, pl.DataFrame)
        frames.append(frame)
    df = pl.concat(frames, how="horizontal") if frames else pl.DataFrame()
    df = df.with_columns(_uuid_text(pl.col(c).bin.encode("hex")) for c in uuids)
    return df, {"uuids_as_text": len(uuids)}


def _first_long_line(text: bytes, delimiter: str) -> int | None:
    """The line (from 1, the header's) on which the first record with more fields than the
    header starts, as Python's csv module splits the file; None when it finds none."""
    rows = csv.reader(io.StringIO(text.decode("utf-8", "replace"), newline=""), delimiter=delimiter)
    try:
        width, start = len(next(rows)), rows.line_num + 1
        for record in rows:
            if len(record) > width:
                return start
            start = rows.line_num + 1
    except (StopIteration, csv.Error):
        return None
    return None


def _utf8(data: bytes, source: Source) -> bytes:
    """A CSV file's bytes as UTF-8 without a byte-order mark, from the config's encoding (a
    UTF-16 file with a BOM is recognised as such); gzip is opened first."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    encoding = source.encoding.lower().replace("_", "-")
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        encoding = "utf-32"  # a byte-order mark says what the text is, whatever the config
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif data[:3] == b"\xef\xbb\xbf" or encoding in ("utf-8", "utf8"):
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
    if "\r" in text and "\n" not in text:  # old Mac line ends: CR alone
        text = text.replace("\r", "\n")
    return text.encode("utf-8")


def _column_names(df: pl.DataFrame, wanted: list[str], source: Source) -> dict[str, str]:
    """Each wanted name -> the file's column: the same name, else the one that is the same
    without spaces around it (`rec_id, given_name` headers written with ", ")."""
    stripped: dict[str, list[str]] = {}
    for column in df.columns:
        stripped.setdefault(column.strip(), []).append(column)
    found, missing = {}, []
    for name in wanted:
        same = stripped.get(name.strip(), []) + [
            c for c in df.columns if c.startswith(f"{name.strip()}_duplicated_")
        ]  # polars' names for a header cell written twice
        if len(same) > 1 and not all(df[c].equals(df[same[0]]) for c in same[1:]):
            raise SchemaError(
                f"the header names {len(same)} columns {name.strip()} (with or without spaces "
                "around the name): which one is meant is not known",
                str(source.path),
                "rename the columns in the file so that each name is used once",
            )
        if same:
            found[name] = same[0]
        else:
            missing.append(name)
    if missing:
        folded = {c.strip().casefold(): c.strip() for c in df.columns}
        near = [
            f"{n} -> {folded[n.strip().casefold()]}"
            for n in missing
            if n.strip().casefold() in folded
        ]
        raise SchemaError(
            f"columns not in the file: {', '.join(missing)}",
            str(source.path),
            "fix the column names in the config (names are matched with or without spaces "
            "around them, in their case; check the delimiter too)"
            + (f"; the file has them in another case: {', '.join(near)}" if near else ""),
        )
    return found


def _as_text(column: pl.Series, name: str, source: Source) -> tuple[pl.Series, dict]:
    """A column as trimmed text, blank markers null; dates as ISO dates; whole numbers that
    went through a float column without their ".0"."""
    dtype = column.dtype
    if dtype == pl.Date:
        return column.dt.strftime(ISO_DATE), {}
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            in_utc = uk_midnights_in_utc(column)  # UK midnights written in UTC: UK dates
            if in_utc is not None:
                moved = int((column.dt.hour() == 23).sum())
                return in_utc.dt.strftime(ISO_DATE).alias(name), {"uk_midnights_in_utc": moved}
            return column.dt.date().dt.strftime(ISO_DATE), {}
        # each value is the date it is midnight on, in its own zone or else in the UK: a date
        # kept at midnight in the UK is 23:00 UTC in summer (Spark's INT96, a TIMESTAMPTZ
        # written from a London session)
        uk = column.dt.convert_time_zone(UK_TIME_ZONE)
        own_midnight = column.dt.time() == dt.time(0)
        uk_midnight = uk.dt.time() == dt.time(0)
        late = int((column.is_not_null() & ~own_midnight & ~uk_midnight).sum())
        if late:
            raise SchemaError(
                f"column {name} holds date-times with a time zone, {late:,} of them at "
                "midnight neither in that zone nor in the UK: the zone may have moved a "
                "date a day",
                str(source.path),
                "write the column as dates (cast it to DATE before writing) or as text",
            )
        dates = pl.select(
            pl.when(own_midnight).then(column.dt.date()).otherwise(uk.dt.date())
        ).to_series()
        return dates.dt.strftime(ISO_DATE).alias(name), {}
    if dtype == pl.Float32 and bool((column.abs() >= EXACT_FLOAT32).any()):
        raise SchemaError(
            f"column {name} is a 32-bit float holding numbers past {EXACT_FLOAT32:,}, which "
            "it cannot keep exact (neighbouring ids and dates become one)",
            str(source.path),
            "write the column as text, integers or 64-bit floats",
        )
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
    marker = text.is_in([m.strip() for m in markers]) & (text != "")
    floats = text.str.contains(WHOLE_FLOAT)
    counts = {"blank_markers": int(marker.sum()), "whole_floats": int(floats.sum())}
    text = pl.select(pl.when(marker | (text == "")).then(None).otherwise(text)).to_series()
    return text.str.replace(WHOLE_FLOAT, "${1}").alias(name), counts


def _dob(text: pl.Series, dtype: pl.DataType, fmt: str, source: Source) -> tuple[pl.Series, dict]:
    """Dates of birth as ISO dates: a typed date column as it is, text by dob_format (when the
    format has no time, a time after the date is dropped as NAIVE_TIME and ZONED_MIDNIGHT say,
    and any other zoned time is not read); never in the future. Refused when the format reads
    under MIN_DOB_READ of the values: every date would be lost without a word."""
    counts = {"times_dropped": 0, "dob_future": 0}
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        fmt = ISO_DATE  # written as ISO dates by _as_text; the future rule still applies
    zoned = 0
    if not re.search(r"%[HIMSpTRcfzZ]", fmt):
        dropped = text.str.contains(NAIVE_TIME) | text.str.contains(ZONED_MIDNIGHT)
        counts["times_dropped"] = int(dropped.sum())
        zoned = int((text.str.contains(ZONED_TIME) & ~dropped).sum())
        in_utc = uk_midnights_in_utc_text(text, fmt)  # UK midnights written in UTC: UK dates
        if in_utc is not None:
            counts["uk_midnights_in_utc"] = int(text.str.contains(NAIVE_ELEVEN_PM).sum())
            text = in_utc.fill_null(text)
        text = text.str.replace(NAIVE_TIME, "${1}").str.replace(ZONED_MIDNIGHT, "${1}")
    dates = text.str.to_date(fmt, strict=False)
    today = dt.date.today()
    if "%y" in fmt:  # a two-digit year names the century before when it would be to come
        dates = pl.select(
            pl.when(dates > today).then(dates.dt.offset_by("-100y")).otherwise(dates)
        ).to_series()
    future = dates > today
    counts["dob_future"] = int(future.sum())  # not a date of birth: not read
    dates = pl.select(pl.when(future).then(None).otherwise(dates)).to_series()
    values, read = text.is_not_null().sum(), dates.is_not_null().sum()
    if values and read < MIN_DOB_READ * values:
        raise SchemaError(
            f"dob_format {fmt!r} reads {read:,} of the {values:,} dates of birth"
            + (
                f"; {zoned:,} are date-times with a time zone, not at midnight, which may "
                "have moved a date a day and are not read"
                if zoned
                else ""
            ),
            str(source.path),
            "set dob_format to the column's strftime format, e.g. %d/%m/%Y or %Y%m%d (if "
            "it is right and most values are not dates, leave dob out of the config)",
        )
    return dates.dt.strftime(ISO_DATE).alias(text.name), counts


FORGIVEN = ("blank_markers", "whole_floats", "uk_midnights_in_utc")  # per file, by _as_text


def _one_role_per_column(source: Source) -> None:
    """A column is one identity field (address lines may repeat one), and never the truth:
    a truth column mapped as an identifier hands the linker the answer."""
    m = source.columns
    single = {role: getattr(m, role) for role in (*ROLES, "full_name") if getattr(m, role)}
    seen: dict[str, str] = {}
    for role, column in single.items():
        if column.strip() == source.truth.strip():
            raise SchemaError(
                f"the truth column {source.truth} is also mapped as {role}: the linker would "
                "be handed the answer",
                str(source.path),
                f"map {role} to another column, or leave it out",
            )
        if column.strip() in seen and {role, seen[column.strip()]} != {"forename", "full_name"}:
            raise SchemaError(
                f"column {column} is mapped as both {seen[column.strip()]} and {role}",
                str(source.path),
                "map each identity field to its own column",
            )
        seen.setdefault(column.strip(), role)


def standard_rows(source: Source, label: str) -> pl.DataFrame:
    """The file's identity columns under standard names, plus record_ref and truth (rows
    without a truth value are left out: standard_rows_counted counts them)."""
    return standard_rows_counted(source, label)[0]


def standard_rows_counted(source: Source, label: str) -> tuple[pl.DataFrame, dict]:
    """standard_rows, and what was read: rows, rows left out (blank or no truth), dates of
    birth read of those given (counts only)."""
    m = source.columns
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
    _one_role_per_column(source)
    df, read_counts = _read(source, wanted)
    names = _column_names(df, wanted, source)
    dtypes = {name: df.schema[col] for name, col in names.items()}
    if dtypes[source.truth] == pl.Boolean:
        raise SchemaError(
            f"truth column {source.truth} holds true/false, not entity ids",
            str(source.path),
            "set `truth` to the column naming each record's true entity",
        )
    if dtypes[source.truth].is_float():
        whole = df[names[source.truth]].drop_nulls().drop_nans()
        exact = EXACT_FLOAT32 if dtypes[source.truth] == pl.Float32 else EXACT_FLOAT
        if not ((whole == whole.round(0)) & (whole.abs() < exact)).all():
            raise SchemaError(
                f"truth column {source.truth} holds decimals or numbers too large for a float "
                "to keep exact",
                str(source.path),
                "write the entity ids as whole numbers or text",
            )
    texts = {name: _as_text(df[col], name, source) for name, col in names.items()}
    counts = {
        "path": str(source.path),
        "headers_trimmed": sum(name != col for name, col in names.items()),
        **read_counts,
        **{k: sum(c.get(k, 0) for _, c in texts.values()) for k in FORGIVEN},
    }
    df = pl.DataFrame([text for text, _ in texts.values()])
    df = df.filter(~pl.all_horizontal(pl.all().is_null()))  # blank lines
    dob_values = int(df[m.dob].is_not_null().sum()) if m.dob else 0
    if m.dob:
        dob, dob_counts = _dob(df[m.dob], dtypes[m.dob], m.dob_format, source)
        df = df.with_columns(dob)
        counts.update(dob_counts)
    truth = pl.col(source.truth)
    if source.truth_pattern:
        extracted = truth.str.extract(source.truth_pattern, 1)
        truth = pl.when(extracted != "").then(extracted)  # an empty match names no one
    # numeric entity ids compare as numbers: "0012" and "12" (and "12.0", above) are one; a
    # UUID is one whatever its case, dashes or braces (SQL Server writes {UPPER-CASE} GUIDs)
    uuid = truth.str.contains(UUID_SHAPE)
    truth = (
        pl.when(uuid)
        .then(_uuid_text(truth.str.replace_all(r"[{}-]", "").str.to_lowercase()))
        .when(truth.str.contains(r"^[0-9]+$"))
        .then(truth.str.replace(r"^0+([0-9])", "${1}"))
        .otherwise(truth)
    )
    df = df.with_columns(truth.alias(source.truth))
    counts["rows"] = df.height
    if m.dob:  # of the rows read: how many gave a date of birth, and how many of those it read
        counts["dob_values"], counts["dob_read"] = dob_values, int(df[m.dob].is_not_null().sum())
    df = df.filter(pl.col(source.truth).is_not_null())
    counts["rows_without_truth"] = counts["rows"] - df.height
    for key, column, valid in (
        ("nhs_number", m.nhs_number, canon.nhs_number_canonical),
        ("nino", m.nino, canon.nino_canonical),
    ):
        if column:
            given = int(df[column].is_not_null().sum())
            good = int(df.select(valid(pl.col(column)).is_not_null().sum()).item())
            counts[f"{key}_values"], counts[f"{key}_valid"] = given, good
            if given and good < MIN_ID_VALID * given:
                raise SchemaError(
                    f"column {column} holds {good:,} valid identifiers of the {given:,} given "
                    "(a check digit or format fails, or a spreadsheet wrote them as 9.99E+09)",
                    str(source.path),
                    "export the column as text, or leave it out of the config",
                )
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
    given = family = None
    if m.full_name:
        bare = pl.col(m.full_name).str.replace_all(ASIDE, " ")
        text = bare.str.replace_all(ORDINAL, " ").str.replace(THE_BEFORE_TITLE, "${1}")
        words = canon.name_words(text)
        # "SMITH, John" (many patient systems' export): the surname comes first, before a
        # comma; "John Smith, Jr" is not that form (nothing but a suffix after the comma), nor
        # is "Thomas Clifford, 1st Baron Clifford of Chudleigh" (a style after the comma)
        parts = text.str.splitn(",", 2)
        before = canon.name_words(parts.struct.field("field_0"))
        after = canon.name_words(parts.struct.field("field_1"))
        named = after.list.len() > 0
        letters = named & after.list.eval(pl.element().is_in(POST_NOMINALS)).list.all()
        # judged before ordinals go: "..., 1st Baron" is a style
        styled = bare.str.splitn(",", 2).struct.field("field_1").str.contains(STYLE_AFTER_COMMA)
        styled = styled.fill_null(False)
        comma = ((before.list.len() > 0) & named & ~letters & ~styled).fill_null(False)
        # Surname first is a column's convention, as a system exports every name: only when
        # at least half the names of two words or more are written so. A column where some
        # names carry a comma among many that do not (historical records' "Thomas Clifford,
        # Baron Chudleigh" beside "Tom of Chudleigh") is read first word to last throughout.
        commas, names = df.select(
            comma.sum().alias("commas"), (words.list.len() > 1).sum().alias("names")
        ).row(0)
        by_column = bool(commas) and 2 * commas >= names
        first = comma if by_column else pl.lit(False)
        counts["surname_first"] = int(commas) if by_column else 0
        counts["comma_names_read_whole"] = 0 if by_column else int(commas)
        # "Anne Smith, MD": the name is what comes before its letters
        words = pl.when(letters.fill_null(False)).then(before).otherwise(words)
        # a one-word full name is a surname: its word is not also the forename ("Clarke" is
        # not "Clarke Clarke", whose forename token would be rare and link every Clarke to it)
        given = (
            pl.when(first)
            .then(after.list.first())
            .when(words.list.len() > 1)
            .then(words.list.first())
        )
        family = pl.when(first).then(before.list.last()).otherwise(words.list.last())
    out["forename"] = pl.col(m.forename) if m.forename else given
    out["surname"] = pl.col(m.surname) if m.surname else family
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


IDENTITY = (  # the standard fields that can link records (sex alone cannot)
    *("forename", "surname", "date_of_birth", "postcode", "address", "nhs_number", "nino"),
    "other_id",
)


def _fields(rows: pl.DataFrame) -> set[str]:
    """The identity fields the rows give somewhere (a column blank in every row gives none)."""
    return {c for c in rows.columns if c in IDENTITY and rows[c].is_not_null().any()}


def require_evidence(rows: dict[str, pl.DataFrame], config: EvaluationConfig, where: str) -> None:
    """Refuse what cannot be scored: a file with no identity field, files sharing none, and a
    truth under which no two records (across files, for link_only) are one entity."""
    fields = {label: _fields(df) for label, df in rows.items()}
    for found, source in zip(fields.values(), config.files, strict=True):
        if not found:
            raise SchemaError(
                "no identity field is mapped for this file, or every one is blank (sex alone "
                "links no one)",
                str(source.path),
                "map names, a date of birth, a postcode, address lines or an identifier",
            )
    for (label, found), source in zip(fields.items(), config.files, strict=True):
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
    largest = int(per_entity["len"].max() or 0)
    if truth.height >= MIN_RECORDS_FOR_SHARE and largest > MAX_ENTITY_SHARE * truth.height:
        raise SchemaError(
            f"one truth value names {largest:,} of the {truth.height:,} records: that is not "
            "an entity id",
            where,
            "check that `truth` names the column of the true entity (and that truth_pattern's "
            "first group is the part naming it)",
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
    if len(rows) > 1 and per_entity.filter(pl.col("files") > 1).is_empty():
        raise SchemaError(
            f"the {len(rows)} files share no truth value: no record in one is the same entity "
            "as a record in another, so every link across them would count as false (ids "
            "written differently in each file, such as 12 and ID-12 or 12,000 and 12000, do this)",
            where,
            "write the truth alike in every file (or score each file on its own config)",
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
    with distinct_memo():  # a name or date in two files made into tokens once, as at night
        for label in rows:
            frame = rows[label].drop("truth")
            ex, policy = _extract(frame, label, ISO_DATE)
            staged.append(apply_policy(frame, ex, policy, key, dt.date.today()))
            truth.append(
                rows[label].select("record_ref", "truth").with_columns(extract=pl.lit(label))
            )
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
    kept_apart = 0
    if config.link_type == "link_only":  # files each free of duplicates: one record a file
        labels = one_record_per_source(
            assigned.select("record_key", pl.col("extract").alias("source")), linkage.pairs
        )
        before = assigned["person_id"].n_unique()
        assigned = assigned.with_columns(person_id=pl.Series(labels).cast(pl.String))
        kept_apart = assigned["person_id"].n_unique() - before
    quality = pairwise_quality(
        assigned, across="extract" if config.link_type == "link_only" else None
    )
    quality["link_type"] = config.link_type
    quality["persons_split_one_record_per_file"] = kept_apart
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
        for role in ("nhs_number", "nino"):
            if f"{role}_values" in f:
                line += f"; {role} valid: {f[f'{role}_valid']:,} of {f[f'{role}_values']:,}"
        forgiven = {
            "headers_trimmed": "header names trimmed",
            "blank_markers": "blank markers",
            "whole_floats": "'.0' dropped",
            "times_dropped": "times after a date dropped",
            "uk_midnights_in_utc": "UK-midnight dates written at 23:00 UTC read as the UK date",
            "dob_future": "dates of birth in the future left out",
            "surname_first": "full names written surname first ('SMITH, John')",
            "comma_names_read_whole": "full names with a comma read first word to last (the "
            "column is not written surname first)",
            "excel_sep_line": "Excel 'sep=' line read as the delimiter",
            "uuids_as_text": "16-byte binary (UUID) columns read as UUID text",
        }
        done = [f"{f[k]:,} {label}" for k, label in forgiven.items() if f.get(k)]
        if done:
            line += " (" + ", ".join(done) + ")"
        lines.append(line)
    return lines


def write_json(result: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(result, indent=2) + "\n")
