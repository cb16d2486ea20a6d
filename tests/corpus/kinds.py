"""The malformed-extract corpus: each kind is a small function that corrupts a clean sample of a
synthetic extract (made by flows.synth) the way partners' files go wrong, and says what the
pipeline must make of it: the code, the records in, and the quarantine reasons with counts.

Every kind has variants for two partners (two extracts of nhs for Parquet-only kinds: nhs is the
only partner that sends Parquet). All data is synthetic.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from flows.io import sha256_file
from schemas.contract import Extract

RUN_DATE = dt.date(2026, 11, 1)


@dataclass
class Sample:
    """One extract's landing folder, made from `rows` (clean text rows); kinds corrupt it."""

    root: Path
    ex: Extract
    rows: pl.DataFrame
    opted_out: int = 0  # rows of `rows` whose NHS number is on the opt-out list (the last ones)
    extract_date: str | None = None
    encoding: str | None = None
    blank_values: list[str] | None = None

    @property
    def folder(self) -> Path:
        return self.root / "landing" / self.ex.partner

    @property
    def path(self) -> Path:
        return self.folder / self.ex.file

    @property
    def csv(self) -> bool:
        return self.ex.file.endswith(".csv")

    def write(self, df: pl.DataFrame | None = None) -> None:
        df = self.rows if df is None else df
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.csv:
            df.write_csv(self.path, separator=self.ex.delimiter)
        else:
            df.write_parquet(self.path)

    def lines(self) -> list[bytes]:
        return self.path.read_bytes().splitlines(keepends=True)

    def put(self, data: bytes | list[bytes]) -> None:
        self.path.write_bytes(data if isinstance(data, bytes) else b"".join(data))

    def seal(self, rows: int | None = None, sha256: str | None = None) -> None:
        """The partner's manifest for what is in landing now (rows: data records)."""
        entry = {"rows": self.rows.height if rows is None else rows}
        entry["sha256"] = sha256 or sha256_file(self.path)
        if self.encoding:
            entry["encoding"] = self.encoding
        if self.blank_values is not None:
            entry["blank_values"] = self.blank_values
        manifest = {"partner": self.ex.partner, "files": {self.ex.file: entry}}
        if self.extract_date:
            manifest["extract_date"] = self.extract_date
        (self.folder / "manifest.json").write_text(json.dumps(manifest))


@dataclass(frozen=True)
class Expect:
    """What the pipeline must report: records in and quarantine reasons with counts."""

    rows_in: int
    reasons: dict[str, int] = field(default_factory=dict)
    opted_out: int | None = None  # None: the sample's opted-out rows
    contract: Extract | None = None  # a contract variant to ingest under (declared encoding)


@dataclass(frozen=True)
class Kind:
    name: str
    code: str
    level: str  # file, line, row or notice (schemas.codes)
    variants: tuple[str, str]
    corrupt: Callable[[Sample], Expect | None]  # None: a file-level failure is expected
    twice: bool = False  # run the ingest twice, the second answer is the one judged
    before: Callable[[Sample], None] | None = None  # an earlier delivery, ingested first


CSV = ("police/crimes", "dwp/uc_claims")
BOTH = ("police/crimes", "nhs/ae_attendances")
NHS_NUMBERS = ("nhs/ae_attendances", "council/homelessness_cases")
PARQUET = ("nhs/ae_attendances", "nhs/mh_referrals")


def _text_column(s: Sample, roles: tuple[str, ...] = ("surname", "forename")) -> str:
    return next(c.name for c in s.ex.columns if c.identity in roles)


def _set(s: Sample, rows: list[int], column: str, value) -> pl.DataFrame:
    mask = pl.int_range(pl.len()).is_in(rows)
    return s.rows.with_columns(
        pl.when(mask).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )


def _same(s: Sample, **reasons: int) -> Expect:
    s.write()
    s.seal()
    return Expect(s.rows.height, {k.replace("__", ":"): v for k, v in reasons.items()})


def _lines_changed(s: Sample, change: Callable[[list[bytes]], list[bytes]], rows: int) -> None:
    s.write()
    s.put(change(s.lines()))
    s.seal(rows=rows)


# ---- CSV only ------------------------------------------------------------------------------


def utf8_bom(s: Sample) -> Expect:
    s.write()
    s.put(b"\xef\xbb\xbf" + s.path.read_bytes())
    s.seal()
    return Expect(s.rows.height)


def cp1252_declared(s: Sample) -> Expect:
    """A name with an accent, the file in Windows-1252: police declares it in the manifest,
    dwp in its contract."""
    col = _text_column(s)
    s.rows = _set(s, [1], col, "Zoë")
    s.write()
    s.put(s.path.read_bytes().decode("utf-8").encode("cp1252"))
    if s.ex.partner == "police":
        s.encoding = "windows-1252"
        s.seal()
        return Expect(s.rows.height)
    s.seal()
    return Expect(s.rows.height, contract=dataclasses.replace(s.ex, encoding="cp1252"))


def invalid_bytes(s: Sample) -> Expect:
    def change(lines):
        for i in (2, 5):
            lines[i] = lines[i].replace(
                s.ex.delimiter.encode(), b"\xff\xfe" + s.ex.delimiter.encode(), 1
            )
        return lines

    _lines_changed(s, change, s.rows.height)
    return Expect(s.rows.height, {"UNDECODABLE_LINE": 2})


def nul_in_header(s: Sample) -> None:
    def change(lines):
        lines[0] = lines[0].replace(b"record_ref", b"record_ref\x00\x00", 1)
        return lines

    _lines_changed(s, change, s.rows.height)


def utf16_file(s: Sample) -> None:
    s.write()
    s.put(s.path.read_bytes().decode("utf-8").encode("utf-16"))
    s.seal()


def mixed_line_endings(s: Sample) -> Expect:
    def change(lines):
        return [line.replace(b"\n", b"\r\n") if i % 2 else line for i, line in enumerate(lines)]

    _lines_changed(s, change, s.rows.height)
    return Expect(s.rows.height)


def blank_lines(s: Sample) -> Expect:
    def change(lines):
        return [*lines[:3], b"\n", b"\r\n", *lines[3:], b"\n"]

    _lines_changed(s, change, s.rows.height)
    return Expect(s.rows.height)


def wrong_delimiter(s: Sample) -> None:
    s.folder.mkdir(parents=True, exist_ok=True)
    s.rows.write_csv(s.path, separator=";" if s.ex.delimiter != ";" else ",")
    s.seal()


def quoted_newlines(s: Sample) -> Expect:
    col = _text_column(s, ("postcode",))
    s.rows = _set(s, [1, 4], col, "AB1\n2CD")
    s.write()  # polars quotes the two fields
    s.seal()
    return Expect(s.rows.height)


def short_rows(s: Sample) -> Expect:
    def change(lines):
        for i in (3, 7):
            fields = lines[i].rstrip(b"\n").split(s.ex.delimiter.encode())
            lines[i] = s.ex.delimiter.encode().join(fields[:-2]) + b"\n"
        return lines

    _lines_changed(s, change, s.rows.height)
    return Expect(s.rows.height, {"SHORT_ROW": 2})


def extra_fields(s: Sample) -> Expect:
    def change(lines):
        for i in (2, 6):
            lines[i] = lines[i].rstrip(b"\n") + s.ex.delimiter.encode() + b"spare\n"
        return lines

    _lines_changed(s, change, s.rows.height)
    return Expect(s.rows.height, {"EXTRA_FIELDS": 2})


def unbalanced_quote(s: Sample) -> Expect:
    d = s.ex.delimiter.encode()

    def change(lines):
        for i in (2, 9):
            lines[i] = lines[i].replace(d, d + b'"', 1)
        return lines

    _lines_changed(s, change, s.rows.height)
    return Expect(s.rows.height, {"LINE_UNPARSEABLE": 2})


def duplicate_columns(s: Sample) -> None:
    col = _text_column(s)
    s.write(s.rows.with_columns(pl.col(col).alias("spare")))
    s.put(
        [
            line.replace(b"spare", col.encode(), 1) if i == 0 else line
            for i, line in enumerate(s.lines())
        ]
    )
    s.seal()


# ---- CSV and Parquet -----------------------------------------------------------------------


def nul_in_field(s: Sample) -> Expect:
    col = _text_column(s)
    s.rows = s.rows.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([1, 3]))
        .then(pl.col(col) + "\x00")
        .otherwise(pl.col(col))
        .alias(col)
    )
    return _same(s, **{f"NUL_BYTE__{col}": 2})


def blank_values_declared(s: Sample) -> Expect:
    """A database export writes NULL for every empty field, and the manifest says so: a name
    is blank (staged, no token), a required reference is MISSING (quarantined)."""
    col = _text_column(s)
    s.rows = _set(s, [1, 2], col, "NULL")
    s.rows = _set(s, [3], "record_ref", " NULL ")
    s.blank_values = ["NULL"]
    return _same(s, MISSING__record_ref=1)


def blank_values_that_are_data(s: Sample) -> None:
    """The manifest declares blank an NHS number from the test range (declared so, an
    opted-out person's number would escape the opt-out): the file is refused, not read."""
    s.blank_values = ["NULL", "999 000 0018"]
    s.write()
    s.seal()


def blank_values_undeclared(s: Sample) -> Expect:
    """The same text, undeclared: read as text (a notice counts it), nothing quarantined."""
    s.rows = _set(s, [1, 2], _text_column(s), "NULL")
    return _same(s)


def dates_with_times(s: Sample) -> Expect:
    """A database export writes dates as date-times: with no zone the date is the writer's;
    with a zone, the date in the UK then; a time that is no time is BAD_DATE."""
    col = s.ex.event_date
    timed = pl.int_range(pl.len())
    s.rows = s.rows.with_columns(
        pl.when(timed.is_in([1, 2]))
        .then(pl.col(col) + " 00:00:00")
        .when(timed == 4)
        .then(pl.col(col) + "T14:30")
        .when(timed == 3)
        .then(pl.col(col) + "T23:30:00Z")
        .when(timed == 5)
        .then(pl.col(col) + "T24:30:00Z")
        .when(timed == 6)
        .then(pl.col(col) + " 00:00:00.0000000 +00:00")  # SQL Server datetimeoffset
        .otherwise(pl.col(col))
        .alias(col)
    )
    return _same(s, **{f"BAD_DATE__{col}": 1})


def header_in_capitals(s: Sample) -> Expect:
    """Column names in capitals, as Oracle exports name them: read by name."""
    s.write(s.rows.rename({c: c.upper() for c in s.rows.columns}))
    s.seal()
    return Expect(s.rows.height)


def floats_for_numbers(s: Sample) -> Expect:
    """NHS numbers through a float column (pandas, when the column has a gap): 9991234567.0
    in CSV, a double column in Parquet. They are the numbers, not BAD_NHS_NUMBER."""
    col = _text_column(s, ("nhs_number",))
    if s.csv:
        s.rows = s.rows.with_columns((pl.col(col).str.replace_all(r"\D", "") + ".0").alias(col))
        return _same(s)
    s.write(s.rows.with_columns(pl.col(col).str.replace_all(r"\D", "").cast(pl.Float64)))
    s.seal()
    return Expect(s.rows.height)


def nan_in_floats(s: Sample) -> Expect:
    """NHS numbers in a Parquet double column with a gap written as NaN (pandas) and one as
    infinity: each is blank (a required column: MISSING), the other numbers are read as the
    numbers."""
    col = _text_column(s, ("nhs_number",))
    number = pl.col(col).str.replace_all(r"\D", "").cast(pl.Float64)
    row = pl.int_range(pl.len())
    gaps = pl.when(row == 1).then(float("nan")).when(row == 2).then(float("inf"))
    s.write(s.rows.with_columns(gaps.otherwise(number).alias(col)))
    s.seal()
    required = next(c.required for c in s.ex.columns if c.name == col)
    return Expect(s.rows.height, {f"MISSING:{col}": 2} if required else {})


def header_only(s: Sample) -> Expect:
    s.rows = s.rows.head(0)
    s.opted_out = 0
    s.write()
    s.seal()
    return Expect(0)


def empty_file(s: Sample) -> None:
    s.folder.mkdir(parents=True, exist_ok=True)
    s.put(b"")
    s.seal(rows=0)


def truncated(s: Sample) -> None:
    """Cut short at the partner's end: the manifest counts every row, its checksum the cut
    file."""
    s.write()
    data = s.path.read_bytes()
    s.put(data[: len(data) // 2 + 3])
    s.seal()


def truncated_in_transfer(s: Sample) -> None:
    s.write()
    whole = sha256_file(s.path)
    data = s.path.read_bytes()
    s.put(data[: len(data) - 40])
    s.seal(sha256=whole)


def more_rows_than_manifest(s: Sample) -> None:
    s.write()
    s.seal(rows=s.rows.height - 2)


def delivered_twice(s: Sample) -> Expect:
    return _same(s)


def renamed_column(s: Sample) -> None:
    col = _text_column(s)
    s.write(s.rows.rename({col: "family_name" if col == "surname" else "given_name"}))
    s.seal()


def missing_column(s: Sample) -> None:
    s.write(s.rows.drop("postcode"))
    s.seal()


def extra_column(s: Sample) -> Expect:
    s.write(s.rows.with_columns(ethnicity=pl.lit("not stated")))
    s.seal()
    return Expect(s.rows.height)


def reordered_columns(s: Sample) -> Expect:
    s.write(s.rows.select(list(reversed(s.rows.columns))))
    s.seal()
    return Expect(s.rows.height)


def wrong_types(s: Sample) -> Expect:
    """A date as a number: an Excel serial day in two CSV rows; a whole Parquet column of
    yyyymmdd integers."""
    col = s.ex.event_date
    if s.csv:
        s.rows = _set(s, [0, 5], col, "46296")
        return _same(s, **{f"BAD_DATE__{col}": 2})
    s.write(s.rows.with_columns(pl.col(col).str.replace_all("-", "").cast(pl.Int64)))
    s.seal()
    return Expect(s.rows.height, {f"BAD_DATE:{col}": s.rows.height - s.opted_out})


def impossible_dates(s: Sample) -> Expect:
    col = s.ex.event_date
    fmt = s.ex.column(col).date_format
    s.rows = _set(s, [2], col, "31/02/2026" if fmt == "%d/%m/%Y" else "2026-02-31")
    s.rows = _set(s, [4], col, "00/13/2026" if fmt == "%d/%m/%Y" else "2026-13-00")
    return _same(s, **{f"BAD_DATE__{col}": 2})


def out_of_range(s: Sample) -> Expect:
    col = s.ex.event_date
    fmt = s.ex.column(col).date_format
    s.rows = _set(s, [1], col, dt.date(1850, 1, 1).strftime(fmt))
    s.rows = _set(s, [3], col, (RUN_DATE + dt.timedelta(days=30)).strftime(fmt))
    return _same(s, **{f"OUT_OF_RANGE__{col}": 2})


def bad_nhs_check_digit(s: Sample) -> Expect:
    flipped = pl.col("nhs_number").str.head(-1) + (
        (pl.col("nhs_number").str.tail(1).cast(pl.Int32) + 1) % 10
    ).cast(pl.String)
    s.rows = s.rows.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([0, 2]))
        .then(flipped)
        .otherwise("nhs_number")
        .alias("nhs_number")
    )
    return _same(s, BAD_NHS_NUMBER__nhs_number=2)


def huge_field(s: Sample) -> Expect:
    col = _text_column(s)
    s.rows = _set(s, [3], col, "A" * 200_000)
    return _same(s, **{f"FIELD_TOO_LONG__{col}": 1})


def exact_duplicates(s: Sample) -> Expect:
    """Row 1 three times, row 4 twice: three copies (opted-out rows stay last)."""
    body = s.rows.head(s.rows.height - s.opted_out)
    tail = s.rows.tail(s.opted_out) if s.opted_out else s.rows.head(0)
    s.rows = pl.concat([body, body[1], body[1], body[4], tail])
    return _same(s, DUPLICATE_ROW=3)


def newer_extract_first(s: Sample) -> None:
    """Before the late file: the extract of the run date, without the first row, is staged."""
    s.extract_date = RUN_DATE.isoformat()
    full, s.rows = s.rows, s.rows.slice(1)
    s.write()
    s.seal()
    s.rows = full


def late_file(s: Sample) -> Expect:
    s.extract_date = (RUN_DATE - dt.timedelta(days=7)).isoformat()
    return _same(s)


def not_parquet(s: Sample) -> None:
    s.folder.mkdir(parents=True, exist_ok=True)
    s.put(b"record_ref,arrival_date\nAE1,2026-10-01\n" * 20)
    s.seal()


def nested_type(s: Sample) -> None:
    col = _text_column(s)
    s.write(s.rows.with_columns(pl.concat_list(pl.col(col), pl.col(col)).alias(col)))
    s.seal()


def manifest_missing(s: Sample) -> None:
    s.write()


def manifest_invalid(s: Sample) -> None:
    s.write()
    s.seal()
    path = s.folder / "manifest.json"
    path.write_text(path.read_text().replace('"sha256"', '"checksum"'))


KINDS = (
    Kind("utf8_bom", "BOM_REMOVED", "notice", CSV, utf8_bom),
    Kind("cp1252_declared", "DECLARED_ENCODING", "notice", CSV, cp1252_declared),
    Kind("invalid_bytes", "UNDECODABLE_LINE", "line", CSV, invalid_bytes),
    Kind("utf16_file", "BAD_ENCODING", "file", CSV, utf16_file),
    Kind("nul_in_header", "HEADER_NUL_BYTES", "file", CSV, nul_in_header),
    Kind("nul_in_field", "NUL_BYTE", "row", BOTH, nul_in_field),
    Kind("mixed_line_endings", "MIXED_LINE_ENDINGS", "notice", CSV, mixed_line_endings),
    Kind("blank_lines", "BLANK_LINES", "notice", CSV, blank_lines),
    Kind("wrong_delimiter", "WRONG_DELIMITER", "file", CSV, wrong_delimiter),
    Kind("quoted_newlines", "QUOTED_NEWLINES", "notice", CSV, quoted_newlines),
    Kind("short_rows", "SHORT_ROW", "line", CSV, short_rows),
    Kind("extra_fields", "EXTRA_FIELDS", "line", CSV, extra_fields),
    Kind("unbalanced_quote", "LINE_UNPARSEABLE", "line", CSV, unbalanced_quote),
    Kind("header_only", "NO_ROWS", "notice", BOTH, header_only),
    Kind("header_in_capitals", "HEADER_CASE", "notice", BOTH, header_in_capitals),
    Kind("floats_for_numbers", "WHOLE_FLOATS", "notice", NHS_NUMBERS, floats_for_numbers),
    Kind("dates_with_times", "TIME_DROPPED", "notice", BOTH, dates_with_times),
    Kind("blank_values_declared", "BLANK_VALUES", "notice", BOTH, blank_values_declared),
    Kind("blank_values_undeclared", "BLANK_LIKE_VALUES", "notice", BOTH, blank_values_undeclared),
    Kind("blank_values_data", "BLANK_VALUE_REFUSED", "file", BOTH, blank_values_that_are_data),
    Kind("empty_file", "FILE_EMPTY", "file", BOTH, empty_file),
    Kind("truncated", "FILE_TRUNCATED", "file", BOTH, truncated),
    Kind("truncated_in_transfer", "CHECKSUM_MISMATCH", "file", BOTH, truncated_in_transfer),
    Kind("more_rows_than_manifest", "ROW_COUNT_MISMATCH", "file", BOTH, more_rows_than_manifest),
    Kind("delivered_twice", "ALREADY_STAGED", "notice", BOTH, delivered_twice, twice=True),
    Kind("renamed_column", "HEADER_MISMATCH", "file", BOTH, renamed_column),
    Kind("missing_column", "MISSING_COLUMNS", "file", BOTH, missing_column),
    Kind("duplicate_columns", "DUPLICATE_COLUMNS", "file", CSV, duplicate_columns),
    Kind("extra_column", "EXTRA_COLUMNS", "notice", BOTH, extra_column),
    Kind("reordered_columns", "COLUMNS_REORDERED", "notice", BOTH, reordered_columns),
    Kind("wrong_types", "BAD_DATE", "row", BOTH, wrong_types),
    Kind("impossible_dates", "BAD_DATE", "row", BOTH, impossible_dates),
    Kind("out_of_range", "OUT_OF_RANGE", "row", BOTH, out_of_range),
    Kind("bad_nhs_check_digit", "BAD_NHS_NUMBER", "row", NHS_NUMBERS, bad_nhs_check_digit),
    Kind("huge_field", "FIELD_TOO_LONG", "row", BOTH, huge_field),
    Kind("exact_duplicates", "DUPLICATE_ROW", "row", BOTH, exact_duplicates),
    Kind("late_file", "LATE_EXTRACT", "notice", BOTH, late_file, before=newer_extract_first),
    Kind("manifest_missing", "MANIFEST_MISSING", "file", BOTH, manifest_missing),
    Kind("manifest_invalid", "MANIFEST_INVALID", "file", BOTH, manifest_invalid),
    Kind("not_parquet", "FILE_UNREADABLE", "file", PARQUET, not_parquet),
    Kind("nested_type", "WRONG_TYPE", "file", PARQUET, nested_type),
    Kind("nan_in_floats", "NAN_VALUES", "notice", PARQUET, nan_in_floats),
)
