"""Tolerant reading of a partner's file: every record becomes a row or a quarantined line.

A CSV file is read as bytes and cut into physical lines at LF, CRLF or CR (so mixed line endings
are fine), before decoding, which the ASCII-compatible encodings of `schemas.contract.ENCODINGS`
allow. The first non-blank line is the header; every later non-blank line starts a record. A
record whose quotes do not balance on its line is joined with the following lines up to the one
that balances them (at most MAX_RECORD_LINES), and kept whole if it then splits into exactly the
header's number of fields; otherwise its first line is judged alone and parsing goes on at the
next line, so one stray quote costs one line, never the rest of the file. A line that cannot be
decoded, split, or has too many or too few fields is quarantined as a line: its line number, its
code and its raw bytes (the raw bytes only ever go to the quarantine Parquet, the raw zone).

Problems with the file as a whole (empty, a header that cannot be read or lacks contract
columns, a damaged Parquet file) raise `ExtractError` with a `file` code of schemas.codes.
Nothing here puts a value from the file into a message: codes, counts, line numbers and the
contract's own column names only. Only `ExtractError` leaves these functions (a hypothesis
test fuzzes them).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from schemas.contract import COMMON_BLANK_MARKERS, UK_TIME_ZONE, Extract
from schemas.errors import ExtractError
from schemas.formats import (
    NAIVE_ELEVEN_PM,
    NAIVE_MIDNIGHT,
    NAIVE_TIME,
    WHOLE_FLOAT,
    ZONED_PARTS,
)

SOURCE_ROW = "source_row"  # CSV: the line the record starts on (header = 1); Parquet: row from 1
RAW_LINE = "raw_line"  # the bytes of a line that could not be read as a row (quarantine only)
REASON = "quarantine_reason"
MAX_RECORD_LINES = 100  # a quoted field may hold at most this many line breaks
DELIMITERS = (",", "|", ";", "\t")
BOM = b"\xef\xbb\xbf"
WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 and UTF-32 files start with one of these
CHUNK_ROWS = 100_000  # rows held as Python lists before they become a polars frame

csv.field_size_limit(1 << 30)  # long fields are judged by the contract (FIELD_TOO_LONG), not here


@dataclass
class Read:
    """What a file holds: rows (contract columns as text, plus SOURCE_ROW) and rejected lines
    (SOURCE_ROW, REASON, RAW_LINE). rows + rejected lines = records in the file."""

    rows: pl.DataFrame
    rejected: pl.DataFrame
    notices: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return self.rows.height + self.rejected.height


def rejected_frame(rows: list[int], reasons: list[str], raw: list[bytes]) -> pl.DataFrame:
    return pl.DataFrame(
        {SOURCE_ROW: rows, REASON: reasons, RAW_LINE: raw},
        schema={SOURCE_ROW: pl.Int64, REASON: pl.String, RAW_LINE: pl.Binary},
    )


def check_header(
    names: list[str], ex: Extract, where: str, notices: dict[str, int], text: str | None = None
) -> list[int]:
    """Where each contract column is in the header, in contract order. Names the contract's
    columns only: a header may be a data line sent without one, so its own names are values."""
    wanted = ex.column_names
    names = _case_matched(names, wanted, notices)
    doubled = [c for c in wanted if names.count(c) > 1]
    if doubled:
        raise ExtractError("DUPLICATE_COLUMNS", f"columns more than once: {_list(doubled)}", where)
    missing = [c for c in wanted if c not in names]
    unknown = [i + 1 for i, n in enumerate(names) if n not in wanted]
    if missing:
        other = _other_delimiter(text, ex) if text is not None else None
        if other is not None:
            raise ExtractError(
                "WRONG_DELIMITER",
                f"the header splits into the contract's columns on {other!r}, "
                f"not on {ex.delimiter!r}",
                where,
                f"ask {ex.partner} to export with {ex.delimiter!r} as the delimiter "
                f"(docs/schemas.md, {ex.partner}/{ex.name})",
            )
        if unknown:
            raise ExtractError(
                "HEADER_MISMATCH",
                f"columns missing from the header: {_list(missing)}; the header has "
                f"{len(unknown)} column(s) the contract does not know, at position(s) "
                f"{_list(map(str, unknown))} (renamed?)",
                where,
                f"compare the header with docs/schemas.md ({ex.partner}/{ex.name})",
            )
        raise ExtractError(
            "MISSING_COLUMNS",
            f"columns missing from the header: {_list(missing)}",
            where,
            f"compare the file with docs/schemas.md ({ex.partner}/{ex.name})",
        )
    if unknown:
        notices["EXTRA_COLUMNS"] = len(unknown)
    positions = [names.index(c) for c in wanted]
    if positions != sorted(positions):
        notices["COLUMNS_REORDERED"] = 1
    return positions


def _case_matched(names: list[str], wanted: list[str], notices: dict[str, int]) -> list[str]:
    """The header with each contract column it lacks by exact name taken from the one header
    name that differs only in case (`RECORD_REF`, as Oracle exports name columns); counted as
    HEADER_CASE. Two such names for one column match neither (the header is judged as sent)."""
    out, matched = list(names), 0
    for column in wanted:
        if column in names:
            continue
        same = [i for i, n in enumerate(names) if n.casefold() == column.casefold()]
        if len(same) == 1 and names[same[0]] not in wanted:
            out[same[0]] = column
            matched += 1
    if matched:
        notices["HEADER_CASE"] = matched
    return out


def _list(items) -> str:
    return ", ".join(items)


def _other_delimiter(text: str, ex: Extract) -> str | None:
    for delim in DELIMITERS:
        if delim == ex.delimiter or delim not in text:
            continue
        try:
            names = {n.strip() for n in _split(text, delim)}
        except csv.Error:
            continue
        if set(ex.column_names) <= names:
            return delim
    return None


def _split(text: str, delim: str) -> list[str]:
    if '"' not in text:
        return text.split(delim)
    for fields in csv.reader([text], delimiter=delim, strict=True):
        return fields
    return [""]


def _body(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith((b"\n", b"\r")):
        return line[:-1]
    return line


def _ending(line: bytes) -> str | None:
    if line.endswith(b"\r\n"):
        return "crlf"
    if line.endswith(b"\n"):
        return "lf"
    if line.endswith(b"\r"):
        return "cr"
    return None


def _fields(chunk: bytes, encoding: str, delim: str) -> list[str] | str:
    """The record's fields, or the line code saying why there are none."""
    try:
        text = _body(chunk).decode(encoding)
    except UnicodeDecodeError:
        return "UNDECODABLE_LINE"
    try:
        return _split(text, delim)
    except csv.Error:
        return "LINE_UNPARSEABLE"


def _strip_bom(data: bytes, encoding: str, where: str, notices: dict[str, int]) -> bytes:
    if data.startswith(BOM):
        if encoding != "utf-8":
            raise ExtractError(
                "BAD_ENCODING",
                f"the file starts with a UTF-8 byte-order mark but is declared {encoding}",
                where,
                "remove the declared encoding from the manifest, or ask the partner to "
                f"export in {encoding} without a byte-order mark",
            )
        notices["BOM_REMOVED"] = 1
        return data[len(BOM) :]
    if data.startswith(WIDE_BOMS):
        raise ExtractError(
            "BAD_ENCODING",
            "the file is UTF-16 or UTF-32 text (a 'Unicode' export)",
            where,
            "ask the partner to export it as UTF-8 (Excel and SSMS: 'CSV UTF-8'); a UTF-16 or "
            "UTF-32 file cannot be declared in the manifest",
        )
    return data


def parse_csv(data: bytes, ex: Extract, encoding: str, where: str) -> Read:
    """Every record of a CSV file as a row or a rejected line (see the module docstring)."""
    notices: dict[str, int] = {}
    if not data.strip():
        raise ExtractError("FILE_EMPTY", "the file has no header and no rows", where)
    data = _strip_bom(data, encoding, where, notices)
    if encoding != "utf-8":
        notices["DECLARED_ENCODING"] = 1
    lines = data.splitlines(keepends=True)
    bodies = data.splitlines()
    head = next((i for i, body in enumerate(bodies) if body), None)
    if head is None:
        raise ExtractError("FILE_EMPTY", "the file has only blank lines", where)
    names, text = _header(bodies[head], encoding, ex, f"{where}, line {head + 1}")
    positions = check_header(names, ex, f"{where}, line {head + 1}", notices, text)
    found = _Lines(lines, bodies, encoding, ex.delimiter, len(names), bodies[head])
    found.multi_line_records(head + 1)
    index, texts, quoted_index, quoted = found.classify(head + 1)
    rows = pl.concat(
        [
            _split_plain((index, texts), ex, positions, found),
            _split_quoted((quoted_index, quoted), ex, positions, found),
            found.rows_frame(ex, positions),
        ]
    )
    rows = rows.sort(SOURCE_ROW).with_columns(
        pl.when(pl.col(n) != "").then(pl.col(n)).alias(n) for n in ex.column_names
    )
    endings = [_ending(line) for i, line in enumerate(lines) if i not in found.inside]
    _line_notices(endings, head + found.blank, found.joined, notices)
    return Read(rows, found.rejected_frame(), notices)


class _Lines:
    """The records of a CSV file after its header: judged here, line by line, where they need
    Python (quotes, bad bytes, multi-line records); split in one polars pass where they do not
    (most lines, see _split_plain)."""

    def __init__(
        self,
        lines: list[bytes],
        bodies: list[bytes],
        encoding: str,
        delim: str,
        width: int,
        header: bytes = b"",
    ) -> None:
        self.lines, self.bodies, self.encoding = lines, bodies, encoding
        self.delim, self.width = delim, width
        self.filler = b" \t\x1a" + delim.encode()  # spaces, tabs, DOS's end-of-file mark
        self.header = header.removeprefix(BOM).strip(self.filler)
        self.suspect = self.filler + b"-=_" + self.header[:1] + BOM[:1]  # such a line's 1st byte
        self.done: dict[int, list[str] | str] = {}  # line index -> fields or a line code
        self.consumed: set[int] = set()  # lines inside a multi-line record
        self.inside: set[int] = set()  # lines whose line break is inside a quoted field
        self.blank = self.joined = 0

    def multi_line_records(self, first: int) -> None:
        """A line with an odd number of quotes opens a record the next such line may close."""
        odd = [i for i in range(first, len(self.bodies)) if self.bodies[i].count(b'"') % 2]
        k = 0
        while k < len(odd):
            i = odd[k]
            if k + 1 < len(odd) and odd[k + 1] - i < MAX_RECORD_LINES:
                end = odd[k + 1] + 1
                got = _fields(b"".join(self.lines[i:end]), self.encoding, self.delim)
                if isinstance(got, list) and len(got) == self.width:
                    self.done[i] = got
                    self.consumed.update(range(i + 1, end))
                    self.inside.update(range(i, end - 1))
                    self.joined += 1
                    k += 2
                    continue
            self.done[i] = self.judge(self.bodies[i])
            k += 1

    def not_a_record(self, body: bytes) -> bool:
        """A line an export adds that holds no record: only delimiters and spaces (Excel's
        empty formatted rows), a rule of dashes under the header (sqlcmd, SQL*Plus), or the
        header again (two extracts joined, a report's repeated page header)."""
        rest = body.strip(self.filler)
        first = rest[:1]
        if not first:
            return True
        if first in b"-=_":
            return not rest.strip(b"-=_+" + self.filler)
        if first == self.header[:1] or first == BOM[:1]:  # a byte compared, on most lines
            return rest.removeprefix(BOM).strip(self.filler) == self.header
        return False

    def judge(self, body: bytes) -> list[str] | str:
        got = _fields(body, self.encoding, self.delim)
        if isinstance(got, list) and len(got) != self.width:
            return "EXTRA_FIELDS" if len(got) > self.width else "SHORT_ROW"
        return got

    def classify(self, first: int) -> tuple[list[int], list[str], list[int], list[str]]:
        """Lines for polars to split, decoded: without quotes, and with (each judged here when
        polars cannot split it as Python's csv module would, see _split_quoted); the others
        are judged here."""
        index, texts, quoted_index, quoted = [], [], [], []
        suspect = self.suspect
        for i in range(first, len(self.bodies)):
            body = self.bodies[i]
            if i in self.done or i in self.consumed:
                continue
            if not body:
                self.blank += 1
                continue
            if body[:1] in suspect and self.not_a_record(body):  # most: one byte looked at
                self.done[i] = "NOT_A_RECORD"
                continue
            try:
                text = body.decode(self.encoding)
            except UnicodeDecodeError:
                self.done[i] = "UNDECODABLE_LINE"
                continue
            if '"' not in text:
                texts.append(text)
                index.append(i)
            elif FAST_QUOTED:
                quoted.append(text)
                quoted_index.append(i)
            else:
                self.done[i] = self.judge(body)
        return index, texts, quoted_index, quoted

    def rows_frame(self, ex: Extract, positions: list[int]) -> pl.DataFrame:
        found = [(i, f) for i, f in sorted(self.done.items()) if isinstance(f, list)]
        names = ex.column_names
        data = {n: [f[p] for _, f in found] for n, p in zip(names, positions, strict=True)}
        frame = pl.DataFrame(data, schema={n: pl.String for n in names})
        return frame.with_columns(pl.Series(SOURCE_ROW, [i + 1 for i, _ in found], pl.Int64))

    def rejected_frame(self) -> pl.DataFrame:
        bad = [(i, code) for i, code in sorted(self.done.items()) if isinstance(code, str)]
        return rejected_frame(
            [i + 1 for i, _ in bad], [c for _, c in bad], [self.bodies[i] for i, _ in bad]
        )


def _split_plain(
    plain: tuple[list[int], list[str]], ex: Extract, positions: list[int], found: _Lines
) -> pl.DataFrame:
    """Split quote-free lines in one polars pass; lines with the wrong field count are rejected."""
    index, texts = plain
    parts = pl.DataFrame({"i": index, "t": texts}, schema={"i": pl.Int64, "t": pl.String})
    parts = parts.with_columns(f=pl.col("t").str.split(ex.delimiter))
    parts = parts.with_columns(n=pl.col("f").list.len())
    for i, n in parts.filter(pl.col("n") != found.width).select("i", "n").iter_rows():
        found.done[i] = "EXTRA_FIELDS" if n > found.width else "SHORT_ROW"
    return parts.filter(pl.col("n") == found.width).select(
        *[
            pl.col("f").list.get(p).alias(n)
            for n, p in zip(ex.column_names, positions, strict=True)
        ],
        (pl.col("i") + 1).alias(SOURCE_ROW),
    )


# A line polars may unquote and split itself: every field holds no quote, or is one quoted run
# holding neither a quote nor the delimiter (so no escaped quote, nothing the split would cut).
def _simple_line(delim: str) -> str:
    d = re.escape(delim)
    field = f'("[^"{d}]*"|[^"{d}]*)'
    return f"^{field}({d}{field})*$"


FAST_QUOTED = True  # False: every line with a quote is split by Python's csv module (tests)


def _split_quoted(
    quoted: tuple[list[int], list[str]], ex: Extract, positions: list[int], found: _Lines
) -> pl.DataFrame:
    """Lines whose quotes only enclose whole fields holding no delimiter (`"a","b"`, as exports
    that quote every field write them) lose their quotes and are split with the quote-free
    lines' polars pass: a fully quoted file reads several times faster than through Python's
    csv module, which judges every other line with a quote (found.judge)."""
    index, texts = quoted
    parts = pl.DataFrame({"i": index, "t": texts}, schema={"i": pl.Int64, "t": pl.String})
    simple = parts.select(pl.col("t").str.contains(_simple_line(ex.delimiter))).to_series()
    for i in parts.filter(~simple)["i"]:
        found.done[i] = found.judge(found.bodies[i])
    parts = parts.filter(simple).with_columns(pl.col("t").str.replace_all('"', "", literal=True))
    return _split_plain((parts["i"].to_list(), parts["t"].to_list()), ex, positions, found)


def _header(line: bytes, encoding: str, ex: Extract, where: str) -> tuple[list[str], str]:
    if b"\x00" in line:
        raise ExtractError("HEADER_NUL_BYTES", "the header line holds NUL bytes", where)
    try:
        text = _body(line).decode(encoding)
    except UnicodeDecodeError:
        raise ExtractError(
            "BAD_ENCODING", f"the header line is not valid {encoding}", where
        ) from None
    try:
        names = [n.strip() for n in _split(text, ex.delimiter)]
    except csv.Error:
        raise ExtractError("BAD_HEADER", "the header line cannot be split", where) from None
    return names, text


def _line_notices(ends: list[str | None], blank: int, joined: int, notices: dict) -> None:
    endings = Counter(e for e in ends if e is not None)
    if len(endings) > 1:
        notices["MIXED_LINE_ENDINGS"] = sum(endings.values()) - max(endings.values())
    if blank:
        notices["BLANK_LINES"] = blank
    if joined:
        notices["QUOTED_NEWLINES"] = joined


# Parquet types read as text: anything with one obvious text form.
_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum, pl.Boolean, pl.Date, pl.Datetime, pl.Null)


def _unreadable(exc: BaseException, where: str) -> ExtractError:
    """FILE_UNREADABLE for whatever pyarrow or polars raised (a panic too), naming only its
    type: its message may quote data. An interrupt goes on as it is."""
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        raise exc
    return ExtractError(
        "FILE_UNREADABLE", f"the Parquet file cannot be read ({type(exc).__name__})", where
    )


def parse_parquet(source: Path | bytes, ex: Extract, where: str) -> Read:
    """Every row of a Parquet file, contract columns as text."""
    head, tail, size = _ends(source)
    if size == 0:
        raise ExtractError("FILE_EMPTY", "the file has no bytes", where)
    if head != b"PAR1":
        raise ExtractError("FILE_UNREADABLE", "the file is not Parquet (no PAR1 mark)", where)
    if tail != b"PAR1":
        raise ExtractError("FILE_TRUNCATED", "the file has no Parquet footer", where)
    try:
        # pyarrow, not polars: polars 2.1 aborts the whole process (a failed allocation, no
        # exception) on some damaged files, which the fuzz test found; pyarrow raises. Spark's
        # INT96 timestamps are read in microseconds (in nanoseconds, dates before 1677 or after
        # 2262 wrap round to other dates without a word).
        parquet = pq.ParquetFile(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            coerce_int96_timestamp_unit="us",
        )
        table = parquet.read()
        int96 = int96_columns(parquet)
    except BaseException as exc:  # noqa: BLE001 - messages may quote data; panics too
        raise _unreadable(exc, where) from None
    notices: dict[str, int] = {}
    positions = check_header(list(table.column_names), ex, where, notices)
    table = table.select(positions)  # zero-copy: the contract's columns, in its order
    try:  # only the contract's columns: another column of a type polars cannot take is no fault
        df = pl.from_arrow(table)
    except BaseException as exc:  # noqa: BLE001 - messages may quote data; panics too
        raise _unreadable(exc, where) from None
    assert isinstance(df, pl.DataFrame)
    # Spark writes INT96 as the moment in UTC: a date of birth kept at midnight in British
    # Summer Time is 23:00 the day before, so it is read as a zoned time (the UK's date)
    sent = table.column_names
    df = df.rename(dict(zip(df.columns, ex.column_names, strict=True)))
    df = df.with_columns(
        pl.col(c).dt.replace_time_zone("UTC")
        for c, name in zip(ex.column_names, sent, strict=True)
        if name in int96 and df.schema[c] == pl.Datetime("us")
    )
    text, gaps = [], 0
    for name in ex.column_names:
        dtype = df.schema[name]
        if not (dtype.is_numeric() or isinstance(dtype, _TEXT_TYPES)):
            raise ExtractError(
                "WRONG_TYPE", f"column {name} is of type {dtype.base_type()}, not text", where
            )
        if dtype.is_float():  # NaN or infinity: no number, as pandas writes a gap; blank
            nan = int((~df.get_column(name).is_finite()).sum())
            if nan:
                gaps += nan
                col = pl.col(name)
                df = df.with_columns(pl.when(col.is_finite()).then(col).alias(name))
        column, whole_text = df.get_column(name), None
        if dtype == pl.Float32 and (column.abs() >= EXACT_FLOAT32).any():
            raise ExtractError(  # 9990000077 is 9990000000.0 in float32: not that number
                "WRONG_TYPE",
                f"column {name} is float32, which rounds numbers past 2^24 to other numbers",
                where,
                "ask the partner to write it as text, an integer or a 64-bit float",
            )
        if dtype.is_float():  # whole numbers a float keeps exactly: 9991234567.0 is a number
            whole = _whole(column, EXACT_FLOAT if dtype == pl.Float64 else EXACT_FLOAT32)
            if _mostly(whole, column):
                number = column.cast(pl.Int64, strict=False).cast(pl.String)
                whole_text = pl.select(
                    pl.when(whole).then(number).otherwise(column.cast(pl.String))
                ).to_series()
        elif dtype.is_decimal():  # Oracle NUMBER(12,2) or Spark's decimal(38,10): 1.0000000000
            whole_text = _whole_text(column.cast(pl.String))
        if whole_text is not None:
            text.append(pl.lit(whole_text).alias(name))
            notices["WHOLE_FLOATS"] = notices.get("WHOLE_FLOATS", 0) + 1
        else:
            text.append(pl.col(name).cast(pl.String))
    if gaps:
        notices["NAN_VALUES"] = gaps
    rows = df.select(text).with_row_index(SOURCE_ROW, offset=1)
    rows = rows.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64)).select(*ex.column_names, SOURCE_ROW)
    return Read(rows, rejected_frame([], [], []), notices)


def read_blank_values(read: Read, ex: Extract, declared: tuple[str, ...]) -> Read:
    """Fields that hold one of the `declared` blank values (the text the partner's export writes
    for an empty field, e.g. "NULL"; compared exactly, after trimming spaces) become blank, so
    the contract's rules see a blank (a required column: MISSING) and no token is made of them:
    `BLANK_VALUES` counts them. Fields holding one of the COMMON_BLANK_MARKERS that is not
    declared are kept as they are and counted (`BLANK_LIKE_VALUES`), so the data engineer can
    declare them. Only the codes and counts are reported, never which column held what."""
    wanted = [*dict.fromkeys(m.strip() for m in declared if m.strip())]
    common = [m for m in COMMON_BLANK_MARKERS if m and m not in wanted]
    rows, notices, hits, like = read.rows, dict(read.notices), 0, 0
    for name in ex.column_names:  # a column at a time: one column's copy at most
        value = rows.get_column(name).str.strip_chars()
        like += int(value.is_in(common).sum()) if common else 0
        blank = value.is_in(wanted).fill_null(False) if wanted else None
        if blank is not None and blank.any():
            hits += int(blank.sum())
            rows = rows.with_columns(pl.when(blank).then(None).otherwise(pl.col(name)).alias(name))
    if like:
        notices["BLANK_LIKE_VALUES"] = like
    if hits:
        notices["BLANK_VALUES"] = hits
    return Read(rows, read.rejected, notices)


# The reader's version, recorded with every staged file (flows.io.read_as): raise it with any
# change that reads some file differently (a date, a float, a blank), so a file staged by an
# earlier reader is read again the next night, not passed over as already staged. 2: session
# 31 (infinity a gap, whole floats per value, midnight in any zone, decimals, no-time times,
# lines that hold no record, Parquet INT96 and text whole floats).
READER_VERSION = 2


def int96_columns(parquet: pq.ParquetFile) -> set[str]:
    """The names of a Parquet file's INT96 (Spark timestamp) columns."""
    schema = parquet.schema
    return {
        schema.column(i).name
        for i in range(len(schema))
        if schema.column(i).physical_type == "INT96"
    }


EXACT_FLOAT = 2**53  # integers up to this are exact in a 64-bit float
EXACT_FLOAT32 = 2**24  # and in a 32-bit one


def _whole(values: pl.Series, exact: int) -> pl.Series:
    """Which values of a float column are whole numbers the float keeps exactly (below
    `exact`): what pandas writes for a column of integers with a gap (NaN makes it float)."""
    return values.is_finite() & (values == values.round(0)) & (values.abs() < exact)


def _mostly(whole: pl.Series, values: pl.Series) -> bool:
    """A column of whole numbers written as floats: they are more than half its given values.
    Its other values are left as written, so one broken field (12.5, 1e300, "inf") is one bad
    row for the contract's rules, not a column of numbers all read as floats."""
    return int(whole.fill_null(False).sum()) * 2 > int(values.is_not_null().sum())


def _whole_text(value: pl.Series) -> pl.Series | None:
    """Text mostly of whole numbers written as floats ("9991234567.0", "1.00", " +12.0 ") with
    each such field as its number; None when they are not most of it."""
    if not value.str.contains_any([".0", ",0"]).any():
        return None
    if not _mostly(value.str.contains(WHOLE_FLOAT), value):
        return None
    return value.str.replace(WHOLE_FLOAT, "${1}")


def read_whole_floats(read: Read, ex: Extract) -> Read:
    """A CSV column whose given fields are mostly whole numbers written as floats
    ("9991234567.0", as pandas writes a column of numbers with a gap; "9991234567.00" as a
    database's decimal) loses the ".0"s: `WHOLE_FLOATS` counts the columns. Its other fields,
    and a column with fewer of them (text that happens to read "2.0"), are left as they are."""
    rows, columns = read.rows, 0
    for name in ex.column_names:
        whole = _whole_text(rows.get_column(name))
        if whole is not None:
            rows = rows.with_columns(whole.alias(name))
            columns += 1
    if not columns:
        return read
    notices = {**read.notices, "WHOLE_FLOATS": read.notices.get("WHOLE_FLOATS", 0) + columns}
    return Read(rows, read.rejected, notices)


def read_date_times(read: Read, ex: Extract) -> Read:
    """Date fields written with a time of day, as database and spreadsheet exports write dates
    ("2026-10-01 00:00:00", "01/10/2026 14:30", "2026-10-01T23:30:00Z"), are read as their
    date: with no zone, or at midnight in any zone, the time is dropped (the date is the
    writer's own); with another zoned time, the date is the date in the UK at that moment
    (UK_TIME_ZONE: "1967-04-22T23:00:00Z" is midnight on 23 April in British Summer Time),
    patterns in schemas.formats. One column of naive times is read otherwise: UK midnights
    converted to UTC without their zone (uk_midnights_in_utc), read as the UK date. `TIME_DROPPED`
    counts them all; anything else (a time that is no time, "25:00" or "+00:99") is left for
    the contract's date rule to judge."""
    rows, dropped = read.rows, 0
    for col in ex.columns:
        fmt = col.date_format or "%Y-%m-%d"
        if col.dtype != "date" or rows.height == 0 or "%H" in fmt or "%I" in fmt:
            continue  # a contract whose format holds a time reads the time itself
        value = rows.get_column(col.name)
        width = len(dt.date(2000, 12, 31).strftime(fmt))
        if not (value.str.len_bytes() > width).any():  # nearly every night: no time anywhere
            continue
        naive = value.str.contains(NAIVE_TIME)
        local = _uk_dates(value, fmt)
        timed = naive | local.is_not_null()
        if timed.any():
            dropped += int(timed.sum())
            written = value.str.replace(NAIVE_TIME, "${1}")
            in_utc = uk_midnights_in_utc_text(value, fmt)
            dates = pl.select(
                pl.when(naive)
                .then(written if in_utc is None else in_utc.fill_null(written))
                .otherwise(local.fill_null(value))
            ).to_series()
            rows = rows.with_columns(dates.alias(col.name))
    if not dropped:
        return read
    return Read(rows, read.rejected, {**read.notices, "TIME_DROPPED": dropped})


def uk_midnights_in_utc(moments: pl.Series) -> pl.Series | None:
    """Naive date-times that are dates kept at midnight in the UK, converted to UTC and written
    without the zone (a database or Spark session in UTC, pandas' tz_convert then
    tz_localize(None)): each value is UK midnight when read as UTC, and some are 23:00, the
    day before, on the summer's dates. Then each value's date in the UK (a day later in summer
    than written); None for any other column, whose dates are the writer's own. Winter's
    values are midnight either way; a column with one time that is not UK midnight in UTC (a
    23:00 in winter, a midnight in summer) is not such a column, and is read as written."""
    present = moments.drop_nulls()
    if present.is_empty() or not bool((present.dt.hour() == 23).any()):
        return None
    uk = moments.dt.replace_time_zone("UTC").dt.convert_time_zone(UK_TIME_ZONE)
    if not bool((uk.drop_nulls().dt.time() == dt.time(0)).all()):
        return None
    return uk.dt.date()


def uk_midnights_in_utc_text(value: pl.Series, fmt: str) -> pl.Series | None:
    """uk_midnights_in_utc on dates written as text with a naive time (schemas.formats): the
    UK date written in `fmt` where a value has such a time, null elsewhere; None when the
    column's naive times are not all midnight or 23:00, or are not UK midnights in UTC."""
    eleven = value.str.contains(NAIVE_ELEVEN_PM)
    if not eleven.any():
        return None
    midnight = value.str.contains(NAIVE_MIDNIGHT)
    if (value.str.contains(NAIVE_TIME) & ~midnight & ~eleven).any():
        return None
    day = value.str.replace(NAIVE_TIME, "${1}").str.to_date(fmt, strict=False)
    moments = pl.select(
        pl.when(eleven)
        .then(day.cast(pl.Datetime("us")) + pl.duration(hours=23))
        .when(midnight)
        .then(day.cast(pl.Datetime("us")))
    ).to_series()
    uk = uk_midnights_in_utc(moments)
    return None if uk is None else uk.dt.strftime(fmt)


def _uk_dates(value: pl.Series, fmt: str) -> pl.Series:
    """Each zoned date-time's date in the UK, written in `fmt`; null where there is none."""
    parts = value.str.extract_groups(ZONED_PARTS)
    part = parts.struct.field
    zone = part("7")
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    digits = zone.str.replace_all(r"[^0-9]", "")
    offset = (
        pl.when(zone.is_in(["Z", "UTC", "GMT"]))
        .then(0)
        .otherwise(
            sign
            * (
                digits.str.head(2).cast(pl.Int64, strict=False) * 60
                + digits.str.slice(2, 2).cast(pl.Int64, strict=False).fill_null(0)  # "+01"
            )
        )
    )
    hours, minutes = part("2").cast(pl.Int64, strict=False), part("3").cast(pl.Int64, strict=False)
    seconds = part("5").cast(pl.Int64, strict=False).fill_null(0)
    moment = part("1").str.to_date(fmt, strict=False).cast(pl.Datetime("us")) + pl.duration(
        hours=hours, minutes=minutes - offset, seconds=seconds
    )
    clock = (hours < 24) & (minutes < 60) & (seconds < 60) & (offset.abs() <= 14 * 60)
    uk = moment.dt.replace_time_zone("UTC").dt.convert_time_zone(UK_TIME_ZONE).dt.date()
    # Midnight in any zone is a date kept where it was written (schemas.formats): as written.
    fraction = part("6").str.strip_chars_start(".").str.strip_chars("0")
    midnight = (hours == 0) & (minutes == 0) & (seconds == 0) & fraction.fill_null("").eq("")
    written = part("1").str.to_date(fmt, strict=False).dt.strftime(fmt)
    return pl.select(
        pl.when(clock & midnight).then(written).when(clock).then(uk.dt.strftime(fmt))
    ).to_series()


def _ends(source: Path | bytes) -> tuple[bytes, bytes, int]:
    if isinstance(source, bytes):
        return source[:4], source[-4:], len(source)
    size = source.stat().st_size
    with source.open("rb") as handle:
        head = handle.read(4)
        handle.seek(max(size - 4, 0))
        return head, handle.read(4), size
