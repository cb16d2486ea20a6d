"""The tolerant reader: examples, then hypothesis property and fuzz tests. Whatever the bytes,
only ExtractError (a documented file-level code) escapes, every record is a row or a rejected line
exactly once, and no value from the file appears in an error."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.reader import RAW_LINE, REASON, SOURCE_ROW, parse_csv, parse_parquet
from schemas.codes import CODES
from schemas.errors import ExtractError
from schemas.partners import dwp, nhs, police

EX = police.CRIMES
SECRET = "Zebedee"
FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _csv(rows: list[list[str]], ex=EX, terminator="\n") -> bytes:
    """A CSV file as a careful writer makes it: fields holding CR or LF quoted (csv.writer quotes
    only its own line terminator's characters, so each record is written with CRLF and then
    ended with `terminator`)."""
    records = []
    for row in [ex.column_names, *rows]:
        buf = io.StringIO()
        csv.writer(buf, delimiter=ex.delimiter, lineterminator="\r\n").writerow(row)
        records.append(buf.getvalue().removesuffix("\r\n") + terminator)
    return "".join(records).encode("utf-8")


def _row(**changes) -> list[str]:
    base = {c: "x" for c in EX.column_names} | {"surname": SECRET}
    return list((base | changes).values())


def _accounted(read, data: bytes) -> None:
    """Every record once: distinct start lines after the header, no more records than lines."""
    starts = pl.concat([read.rows[SOURCE_ROW], read.rejected[SOURCE_ROW]])
    assert starts.is_unique().all() and (starts >= 2).all()
    lines = [line for line in data.splitlines() if line]
    assert read.records <= max(len(lines) - 1, 0)
    assert set(read.rejected[REASON]) <= {c for c, v in CODES.items() if v.level == "line"}
    assert read.rejected[RAW_LINE].is_not_null().all()
    assert read.rows.columns == [*EX.column_names, SOURCE_ROW]


def _only_documented(error: ExtractError) -> None:
    assert CODES[error.code].level == "file"
    assert SECRET not in str(error)


def test_quoted_fields_with_delimiters_quotes_and_newlines_come_back_whole():
    rows = [_row(surname='Le, "Fox"\r\nJr'), _row(record_ref="R2"), _row(postcode="A\n\nB")]
    read = parse_csv(_csv(rows), EX, "utf-8", "t.csv")
    assert read.rows["surname"].to_list()[0] == 'Le, "Fox"\r\nJr'
    assert read.rows[SOURCE_ROW].to_list() == [2, 4, 5]
    assert read.rejected.is_empty() and read.notices == {"QUOTED_NEWLINES": 2}


def test_one_stray_quote_costs_one_line_not_the_rest_of_the_file():
    data = _csv([_row(record_ref=f"R{i}") for i in range(6)])
    lines = data.splitlines(keepends=True)
    lines[2] = lines[2].replace(b",", b',"', 1)
    read = parse_csv(b"".join(lines), EX, "utf-8", "t.csv")
    assert read.rows.height == 5 and read.rejected.rows() == [
        (3, "LINE_UNPARSEABLE", lines[2][:-1])
    ]


def test_empty_fields_are_missing_and_spaces_are_kept():
    read = parse_csv(_csv([_row(forename="", postcode=" LS1 ")]), EX, "utf-8", "t.csv")
    assert read.rows["forename"].to_list() == [None]
    assert read.rows["postcode"].to_list() == [" LS1 "]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "FILE_EMPTY"),
        (b"\r\n\n  \n", "FILE_EMPTY"),
        (b"\xff\xfer\x00e\x00", "BAD_ENCODING"),
        ("record_ref,é\n".encode("cp1252"), "BAD_ENCODING"),
        (b'"record_ref,event_date\n', "BAD_HEADER"),
        (f"{SECRET},1,2\n{SECRET},1,2\n".encode(), "HEADER_MISMATCH"),
        (b"record_ref,event_date\nR1,01/01/2026\n", "MISSING_COLUMNS"),
    ],
)
def test_file_level_problems_have_their_code(data, code):
    with pytest.raises(ExtractError) as info:
        parse_csv(data, EX, "utf-8", "t.csv")
    assert info.value.code == code and SECRET not in str(info.value)


def test_a_header_that_is_really_a_data_line_is_not_quoted_back():
    names = [SECRET if c == "surname" else c for c in EX.column_names]
    with pytest.raises(ExtractError) as info:
        parse_csv(",".join(names).encode() + b"\n", EX, "utf-8", "t.csv")
    assert info.value.code == "HEADER_MISMATCH" and "surname" in str(info.value)
    assert SECRET not in str(info.value) and "position(s) 8" in str(info.value)


def test_a_bom_with_another_declared_encoding_is_refused():
    with pytest.raises(ExtractError, match="byte-order mark"):
        parse_csv(b"\xef\xbb\xbf" + _csv([_row()]), EX, "cp1252", "t.csv")


def _field():
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@FUZZ
@given(
    st.lists(st.lists(_field(), min_size=11, max_size=11), max_size=8),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_any_rows_written_by_a_csv_writer_are_read_back_exactly(rows, terminator):
    rows = [r for r in rows if any(r)]  # a row of empty fields is a line of commas: still a row
    read = parse_csv(_csv(rows, terminator=terminator), EX, "utf-8", "t.csv")
    assert read.rejected.is_empty()
    expected = [[v if v != "" else None for v in r] for r in rows]
    assert [list(r) for r in read.rows.drop(SOURCE_ROW).rows()] == expected


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_rows_and_rejected_lines_or_a_documented_error(data):
    for ex, encoding in ((EX, "utf-8"), (dwp.UC_CLAIMS, "cp1252")):
        try:
            read = parse_csv(data, ex, encoding, "t.csv")
        except ExtractError as error:
            _only_documented(error)
        else:
            assert read.records <= len(data.splitlines())


_MUTATIONS = st.sampled_from(
    [b"", b",", b'"', b"\n", b"\r", b"\x00", b"\xff", b"\xe9", b",,", b'""', b"\xef\xbb\xbf"]
)


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), _MUTATIONS), max_size=6),
    st.integers(1, 6),
)
def test_mutated_valid_files_give_exact_accounting_or_a_documented_error(mutations, n):
    data = bytearray(_csv([_row(record_ref=f"R{i}", forename=f"F{i}") for i in range(n)]))
    for at, cut, insert in mutations:
        at %= len(data) + 1
        data[at : at + cut] = insert
    data = bytes(data)
    try:
        read = parse_csv(data, EX, "utf-8", "t.csv")
    except ExtractError as error:
        _only_documented(error)
        return
    _accounted(read, data)
    if b'"' not in data:  # without quotes every non-blank line after the header is one record
        bodies = [line for line in data.removeprefix(b"\xef\xbb\xbf").splitlines() if line]
        assert read.records == len(bodies) - 1


def _parquet() -> bytes:
    rows = {c.name: [f"{c.name}-{i}" for i in range(5)] for c in nhs.AE.columns}
    buf = io.BytesIO()
    pl.DataFrame(rows | {"surname": [SECRET] * 5}).write_parquet(buf)
    return buf.getvalue()


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, 100_000), st.binary(min_size=1, max_size=4)), max_size=4),
    st.integers(0, 100_000),
)
def test_damaged_parquet_gives_rows_or_a_documented_error(flips, cut):
    data = bytearray(_parquet())
    for at, value in flips:
        at %= len(data)
        data[at : at + len(value)] = value
    if cut % 3 == 0:
        data = data[: cut % len(data)]
    try:
        read = parse_parquet(bytes(data), nhs.AE, "t.parquet")
    except ExtractError as error:
        _only_documented(error)
        return
    assert read.rejected.is_empty() and read.rows.height <= 5
    assert read.rows.columns == [*nhs.AE.column_names, SOURCE_ROW]


def _both_ways(data: bytes, monkeypatch) -> tuple:
    """parse_csv's answer with quoted lines split by polars, and by Python's csv module alone."""
    answers = []
    for fast in (True, False):
        monkeypatch.setattr("flows.reader.FAST_QUOTED", fast)
        try:
            read = parse_csv(data, EX, "utf-8", "t.csv")
            answers.append((read.rows.rows(), read.rejected.rows(), read.notices))
        except ExtractError as error:
            answers.append(error.code)
    return tuple(answers)


@FUZZ
@given(
    st.lists(st.lists(_field(), min_size=11, max_size=11), max_size=6),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), _MUTATIONS), max_size=4),
    st.booleans(),
)
def test_quoted_lines_split_by_polars_read_as_pythons_csv_module_reads_them(rows, mutations, every):
    """Exports that quote every field are split by polars (five times faster): whatever the
    fields, quotes and damage, the rows, rejected lines and notices are the csv module's."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        quoting = csv.QUOTE_ALL if every else csv.QUOTE_MINIMAL
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=EX.delimiter, lineterminator="\n", quoting=quoting)
        writer.writerows([EX.column_names, *rows])
        data = bytearray(buf.getvalue().encode("utf-8"))
        for at, cut, insert in mutations:
            at %= len(data) + 1
            data[at : at + cut] = insert
        fast, careful = _both_ways(bytes(data), monkeypatch)
        assert fast == careful


def test_a_quoted_field_holding_the_delimiter_is_never_cut_by_the_fast_split(monkeypatch):
    row = ",".join(f'"{v}"' for v in ["a,b", *["x"] * 9])  # one field short, one comma quoted
    data = (",".join(EX.column_names) + "\n" + row + "\n").encode()
    fast, careful = _both_ways(data, monkeypatch)
    assert fast == careful and fast[1][0][1] == "SHORT_ROW"
