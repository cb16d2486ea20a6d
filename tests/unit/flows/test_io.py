import json
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.io import read_extract, read_manifest, sha256_file, write_parquet_atomic
from flows.reader import REASON, SOURCE_ROW
from schemas.errors import ExtractError
from schemas.partners import council, dwp

SECRET = "Zebedee"  # a value that must never appear in an error


def _drop(folder, ex, text: str | bytes, rows: int | None = None, **extra):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ex.file
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(data)
    entry = {
        "rows": rows if rows is not None else data.count(b"\n") - 1,
        "sha256": sha256_file(path),
        **extra,
    }
    (folder / "manifest.json").write_text(json.dumps({"files": {ex.file: entry}}))
    return read_manifest(folder)


def _csv(ex, sep=None, bom=False, extra_line=""):
    sep = sep or ex.delimiter
    header = sep.join(ex.column_names)
    row = sep.join(SECRET if c == "surname" else "x" for c in ex.column_names)
    return ("\ufeff" if bom else "") + f"{header}\n{row}\n{extra_line}"


def _code(info) -> str:
    assert SECRET not in str(info.value)
    return info.value.code


def test_reads_csv_with_bom_as_text(tmp_path):
    manifest = _drop(tmp_path, council.SOCIAL_CARE, _csv(council.SOCIAL_CARE, bom=True))
    read, content = read_extract(tmp_path, council.SOCIAL_CARE, manifest)
    assert read.rows.columns == [*council.SOCIAL_CARE.column_names, SOURCE_ROW]
    assert read.rows.height == 1 and read.rejected.height == 0
    assert read.notices == {"BOM_REMOVED": 1}
    assert read.rows.drop(SOURCE_ROW).schema == {
        c: pl.String for c in council.SOCIAL_CARE.column_names
    }
    assert len(content) == 64


def test_a_utf16_file_is_refused_with_a_fix_that_can_be_followed(tmp_path):
    """SSMS's and Excel's "Unicode" export is UTF-16, which no manifest can declare: the fix
    asks for UTF-8, not for a declaration the manifest would refuse."""
    ex = council.SOCIAL_CARE
    manifest = _drop(tmp_path, ex, _csv(ex).encode("utf-16"), rows=1)
    with pytest.raises(ExtractError) as info:
        read_extract(tmp_path, ex, manifest)
    assert _code(info) == "BAD_ENCODING"
    assert "UTF-8" in str(info.value) and "cannot be declared" in str(info.value)


def test_wrong_delimiter_names_the_file_and_the_fix_but_no_value(tmp_path):
    manifest = _drop(tmp_path, dwp.UC_CLAIMS, _csv(dwp.UC_CLAIMS, sep=","))
    with pytest.raises(ExtractError) as info:
        read_extract(tmp_path, dwp.UC_CLAIMS, manifest)
    message = str(info.value)
    assert _code(info) == "WRONG_DELIMITER"
    assert "uc_claims.csv" in message and "Fix:" in message and "'|'" in message


def test_ragged_line_is_quarantined_as_a_line_and_the_rest_is_read(tmp_path):
    ex = council.SOCIAL_CARE
    too_many = ",".join([SECRET] * (len(ex.column_names) + 3))
    manifest = _drop(tmp_path, ex, _csv(ex, extra_line=too_many + "\n"), rows=2)
    read, _ = read_extract(tmp_path, ex, manifest)
    assert read.rows.height == 1 and read.records == 2
    assert read.rejected.select(SOURCE_ROW, "quarantine_reason").rows() == [(3, "EXTRA_FIELDS")]
    assert read.rejected["raw_line"][0] == too_many.encode()


def test_fewer_records_than_the_manifest_is_a_truncated_file(tmp_path):
    manifest = _drop(tmp_path, council.SOCIAL_CARE, _csv(council.SOCIAL_CARE), rows=5)
    with pytest.raises(ExtractError, match="says 5") as info:
        read_extract(tmp_path, council.SOCIAL_CARE, manifest)
    assert _code(info) == "FILE_TRUNCATED"


def test_more_rows_than_the_manifest_is_a_count_mismatch(tmp_path):
    manifest = _drop(tmp_path, council.SOCIAL_CARE, _csv(council.SOCIAL_CARE), rows=0)
    with pytest.raises(ExtractError) as info:
        read_extract(tmp_path, council.SOCIAL_CARE, manifest)
    assert _code(info) == "ROW_COUNT_MISMATCH"


def test_altered_file_fails_its_checksum(tmp_path):
    manifest = _drop(tmp_path, council.SOCIAL_CARE, _csv(council.SOCIAL_CARE))
    (tmp_path / council.SOCIAL_CARE.file).write_text(_csv(council.SOCIAL_CARE) + "\n")
    with pytest.raises(ExtractError, match="checksum") as info:
        read_extract(tmp_path, council.SOCIAL_CARE, manifest)
    assert _code(info) == "CHECKSUM_MISMATCH"


def test_missing_manifest_is_named(tmp_path):
    with pytest.raises(ExtractError, match="manifest.json is missing") as info:
        read_manifest(tmp_path)
    assert info.value.code == "MANIFEST_MISSING"


def test_manifest_may_declare_an_allowed_encoding_and_an_extract_date(tmp_path):
    ex = council.SOCIAL_CARE
    text = _csv(ex).replace(SECRET, "Zoë").encode("cp1252")
    manifest = _drop(tmp_path, ex, text, encoding="windows-1252")
    assert manifest[ex.file]["encoding"] == "cp1252"
    read, _ = read_extract(tmp_path, ex, manifest)
    assert read.rows["surname"].to_list() == ["Zoë"]
    assert read.notices == {"DECLARED_ENCODING": 1}


@pytest.mark.parametrize(
    "entry",
    [
        {"rows": 1, "sha256": "0" * 64, "encoding": "utf-16"},
        {"rows": 1, "sha256": "0" * 64, "encoding": "no-such-codec"},
        {"rows": -1, "sha256": "0" * 64},
        {"rows": "many", "sha256": "0" * 64},
        {"sha256": "0" * 64},
        {"rows": 1, "sha256": "0" * 64, "blank_values": "NULL"},
        {"rows": 1, "sha256": "0" * 64, "blank_values": [None]},
        {"rows": 1, "sha256": "0" * 64, "blank_values": ["x"] * 21},
    ],
)
def test_bad_manifest_entries_are_refused(tmp_path, entry):
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {"a.csv": entry}}))
    with pytest.raises(ExtractError) as info:
        read_manifest(tmp_path)
    assert info.value.code == "MANIFEST_INVALID"


def test_bad_extract_date_is_refused(tmp_path):
    entry = {"rows": 1, "sha256": "0" * 64}
    text = json.dumps({"extract_date": "31/10/2026", "files": {"a.csv": entry}})
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ExtractError, match="extract_date"):
        read_manifest(tmp_path)


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    write_parquet_atomic(pl.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.one_of(
        st.binary(max_size=200).map(lambda b: b),
        _JSON.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(st.text(max_size=6), _JSON, max_size=2).map(
            lambda files: json.dumps({"files": files, "extract_date": "2026-10-31"}).encode()
        ),
    )
)
def test_any_manifest_is_read_or_refused_with_a_documented_code(data):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "manifest.json").write_bytes(data)
        try:
            manifest = read_manifest(Path(folder))
        except ExtractError as error:
            assert error.code == "MANIFEST_INVALID"
            return
    for entry in manifest.values():
        assert isinstance(entry["rows"], int) and entry["rows"] >= 0
        assert isinstance(entry["sha256"], str)


def _social_care_rows(values: dict[str, str], rows: int = 3) -> str:
    """A social care extract whose every row holds `values` (column: text), "x" elsewhere."""
    ex = council.SOCIAL_CARE
    row = ",".join(values.get(c, "x") for c in ex.column_names)
    return ",".join(ex.column_names) + "\n" + (row + "\n") * rows


def test_declared_blank_values_read_as_blank_and_are_counted(tmp_path):
    """A database export writes NULL for an empty field: once the manifest declares it, the
    field is blank (so a required column is MISSING, an optional one just empty), trimmed of
    spaces, compared exactly (case and all); other text is untouched."""
    ex = council.SOCIAL_CARE
    optional = next(c.name for c in ex.columns if not c.required and c.name != "surname")
    text = _social_care_rows({optional: " NULL ", "surname": "Null"})
    manifest = _drop(tmp_path, ex, text, blank_values=["NULL", "#N/A"])
    assert manifest[ex.file]["blank_values"] == ("NULL", "#N/A")
    read, _ = read_extract(tmp_path, ex, manifest)
    assert read.rows[optional].null_count() == 3
    assert read.rows["surname"].to_list() == ["Null"] * 3  # not declared: a (rare) surname
    assert read.notices == {"BLANK_VALUES": 3, "BLANK_LIKE_VALUES": 3}


@pytest.mark.parametrize(
    ("declared", "kind"),
    [
        (["NULL", " 999 000 0018 "], "a valid NHS number"),  # an opted-out person's number
        (["nan", "ab123456c"], "a valid National Insurance number"),
        (["NULL", "y"], "an allowed code of column"),  # erases every need flag "Y"
        # as pandas writes a number: blank values apply before the ".0" goes (flows.reader)
        (["9990000018.0"], "a valid NHS number"),
        (["-9990000018.00"], "a valid NHS number"),
        (["1.0"], "an allowed code of column"),  # sex "1", written as a float
    ],
)
def test_blank_values_that_are_data_are_refused_without_quoting_them(tmp_path, declared, kind):
    """An insider who can edit the manifest declares opted-out people's NHS numbers blank (so
    the opt-out no longer matches them), or a need flag's "Y" (so the need vanishes): the file
    is refused, and the message names the kind of value and the column, never the text."""
    from schemas.partners import nhs

    ex = nhs.AE
    flag = next(c for c in ex.columns if c.allowed and "Y" in c.allowed)
    pl.DataFrame({c: ["x"] for c in ex.column_names}).write_parquet(tmp_path / ex.file)
    entry = {"rows": 1, "sha256": sha256_file(tmp_path / ex.file), "blank_values": declared}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {ex.file: entry}}))
    manifest = read_manifest(tmp_path)
    with pytest.raises(ExtractError) as info:
        read_extract(tmp_path, ex, manifest)
    message = str(info.value)
    assert info.value.code == "BLANK_VALUE_REFUSED" and kind in message
    assert (flag.name in message or "sex" in message) == ("code" in kind)
    numbers = [d.strip() for d in declared if any(ch.isdigit() for ch in d)]
    assert not any(n in message or n.replace(" ", "") in message for n in numbers)


def test_the_contracts_blank_values_apply_unless_the_manifest_declares_its_own(tmp_path):
    import dataclasses

    ex = dataclasses.replace(council.SOCIAL_CARE, blank_values=("NULL",))
    text = _social_care_rows({"surname": "NULL"}, rows=2)
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, text))
    assert read.rows["surname"].null_count() == 2 and read.notices == {"BLANK_VALUES": 2}
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, text, blank_values=[]))
    assert read.rows["surname"].to_list() == ["NULL"] * 2
    assert read.notices == {"BLANK_LIKE_VALUES": 2}
    # data in the contract's own list: refused, and the fix points at the contract
    bad = dataclasses.replace(ex, blank_values=("NULL", "9990000018"))
    with pytest.raises(ExtractError) as info:
        read_extract(tmp_path, bad, _drop(tmp_path, bad, text))
    assert info.value.code == "BLANK_VALUE_REFUSED"
    assert "the contract of" in str(info.value) and "in its contract" in str(info.value)


def test_undeclared_blank_markers_are_kept_and_counted_so_they_can_be_declared(tmp_path):
    ex = council.SOCIAL_CARE
    text = _social_care_rows({"surname": "N/A", "forename": "nan"}, rows=2)
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, text))
    assert read.rows["surname"].to_list() == ["N/A"] * 2
    assert read.notices == {"BLANK_LIKE_VALUES": 4}


def test_blank_values_apply_to_parquet_extracts_too(tmp_path):
    from schemas.partners import nhs

    ex = nhs.AE
    col = next(c.name for c in ex.columns if c.identity == "nhs_number")
    df = pl.DataFrame({c: ["NULL" if c == col else "x"] * 2 for c in ex.column_names})
    tmp_path.mkdir(exist_ok=True)
    df.write_parquet(tmp_path / ex.file)
    entry = {"rows": 2, "sha256": sha256_file(tmp_path / ex.file), "blank_values": ["NULL"]}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {ex.file: entry}}))
    read, _ = read_extract(tmp_path, ex, read_manifest(tmp_path))
    assert read.rows[col].null_count() == 2 and read.notices == {"BLANK_VALUES": 2}


def test_nan_in_a_parquet_float_column_is_a_gap_and_the_rest_are_still_numbers(tmp_path):
    """pandas writes a gap in a column of numbers as NaN: read as blank, and the column's other
    fields as the whole numbers they are (one NaN used to leave every number as "...0")."""
    from schemas.partners import nhs

    ex = nhs.AE
    col = next(c.name for c in ex.columns if c.identity == "nhs_number")
    sent = [9990000018.0, float("nan"), 9990000026.0, float("inf"), -float("inf"), 12.5, 1e300]
    sent += [9990000018.0] * 3
    numbers = pl.Series(col, sent, dtype=pl.Float64)
    df = pl.DataFrame({c: ["x"] * len(sent) for c in ex.column_names}).with_columns(numbers)
    df.write_parquet(tmp_path / ex.file)
    entry = {"rows": len(sent), "sha256": sha256_file(tmp_path / ex.file)}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {ex.file: entry}}))
    read, _ = read_extract(tmp_path, ex, read_manifest(tmp_path))
    # infinity is no number either; a broken value (12.5, 1e300) is its own row's fault only
    assert read.rows[col].to_list() == [
        "9990000018",
        None,
        "9990000026",
        None,
        None,
        "12.5",
        "1e+300",  # polars writes a float so
        *["9990000018"] * 3,
    ]
    assert read.notices == {"NAN_VALUES": 3, "WHOLE_FLOATS": 1}


def test_the_nights_summary_names_notices_that_need_someone_to_act_with_their_fix():
    from flows.report import notice_lines
    from schemas.codes import CODES

    ingested = {
        "dwp": [{"extract": "uc_claims", "notices": {"BLANK_LIKE_VALUES": 485, "BOM_REMOVED": 1}}],
        "police": [{"extract": "crimes", "notices": {"BLANK_LIKE_VALUES": 2}}],
        "nhs": [{"extract": "ae_attendances", "notices": {}}],
    }
    assert notice_lines(ingested) == [
        "notice BLANK_LIKE_VALUES: dwp/uc_claims 485, police/crimes 2",
        f"  fix: {CODES['BLANK_LIKE_VALUES'].fix}",
    ]
    assert (
        notice_lines({"nhs": [{"extract": "ae_attendances", "notices": {"BOM_REMOVED": 1}}]}) == []
    )


def test_the_nights_summary_names_extracts_that_quarantined_a_tenth_or_more_with_reasons():
    from flows.report import QUARANTINE_WARN_SHARE, quarantine_lines

    reasons = {"BAD_DATE:claim_end": 468, "BAD_DATE:claim_start": 1, "MISSING:record_ref": 2}
    ingested = {
        "dwp": [
            {"extract": "uc_claims", "rows_in": 468, "rows_quarantined": 468, "reasons": reasons}
        ],
        "police": [{"extract": "crimes", "rows_in": 1000, "rows_quarantined": 99, "reasons": {}}],
        "nhs": [{"extract": "ae_attendances", "rows_in": 0, "rows_quarantined": 0}],
    }
    assert QUARANTINE_WARN_SHARE == 0.10
    assert quarantine_lines(ingested) == [
        "warning: dwp/uc_claims quarantined 468 of 468 rows (100%): BAD_DATE:claim_end 468, "
        "MISSING:record_ref 2, BAD_DATE:claim_start 1 (codes: docs/schemas.md#extract-codes)"
    ]
    ingested["police"][0]["rows_quarantined"] = 100
    assert [line.split(" quarantined")[0] for line in quarantine_lines(ingested)] == [
        "warning: dwp/uc_claims",
        "warning: police/crimes",
    ]


def test_a_column_mostly_of_whole_floats_is_read_as_numbers_and_its_broken_fields_as_sent(
    tmp_path,
):
    """pandas writes a column of numbers with a gap as floats: read as the numbers. One broken
    field among them (12.5, 1e300, inf) is that row's fault only, and a text column where
    "2.0" is the odd one out is left as it is."""
    ex = council.SOCIAL_CARE
    text = _social_care_rows({"nhs_number": "9990000018.0", "surname": "Flat 2.0"}, rows=4)
    for nhs, surname in (("12.5", "2.0"), ("inf", "x"), ("1e300", "x"), ("", "x")):
        other = {"nhs_number": nhs, "surname": surname}
        text += ",".join(other.get(c, "x") for c in ex.column_names) + "\n"
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, text))
    assert read.rows["nhs_number"].to_list() == [
        *["9990000018"] * 4,
        "12.5",
        "inf",
        "1e300",
        None,
    ]
    assert read.rows["surname"].to_list() == [*["Flat 2.0"] * 4, "2.0", "x", "x", "x"]
    assert read.notices == {"WHOLE_FLOATS": 1}
    # a decimal comma (a spreadsheet in a comma-decimal locale), quoted in a comma file
    comma = _social_care_rows({"nhs_number": '"9990000018,0"'}, rows=3)
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, comma))
    assert read.rows["nhs_number"].to_list() == ["9990000018"] * 3
    assert read.notices == {"WHOLE_FLOATS": 1}
    # fewer than half of its given fields: not a column of numbers, nothing changed
    few = _social_care_rows({"nhs_number": "9990000018.0"}, rows=2)
    few += _social_care_rows({"nhs_number": "abc"}, rows=2).split("\n", 1)[1]
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, few))
    assert read.rows["nhs_number"].to_list() == ["9990000018.0"] * 2 + ["abc"] * 2
    assert "WHOLE_FLOATS" not in read.notices


def test_numbers_written_as_decimals_padded_or_signed_are_read_as_the_numbers(tmp_path):
    """A database's decimal(12,2) writes "9990000018.00", a fixed-width export pads it, and a
    sign may lead: all read as the number, in CSV and in Parquet float32 and decimal columns."""
    from decimal import Decimal

    from schemas.partners import nhs

    ex = council.SOCIAL_CARE
    sent = ["9990000018.00", " 9990000026.0", "9990000018.0 ", "+9990000026.000"]
    text = ",".join(ex.column_names) + "\n"
    for number in sent:
        text += ",".join(number if c == "nhs_number" else "x" for c in ex.column_names) + "\n"
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, text))
    expected = ["9990000018", "9990000026", "9990000018", "+9990000026"]
    assert read.rows["nhs_number"].to_list() == expected
    assert read.notices == {"WHOLE_FLOATS": 1}
    ae = nhs.AE
    col = next(c.name for c in ae.columns if c.identity == "nhs_number")
    df = pl.DataFrame({c: ["x"] * 3 for c in ae.column_names}).with_columns(
        pl.Series("sex", [1.0, 2.0, None], dtype=pl.Float32),  # exact to 2^24: codes are
        pl.Series(col, [Decimal(9990000018), Decimal(9990000026), None], pl.Decimal(38, 10)),
    )
    df.write_parquet(tmp_path / ae.file)
    entry = {"rows": 3, "sha256": sha256_file(tmp_path / ae.file)}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {ae.file: entry}}))
    read, _ = read_extract(tmp_path, ae, read_manifest(tmp_path))
    assert read.rows["sex"].to_list() == ["1", "2", None]
    assert read.rows[col].to_list() == ["9990000018", "9990000026", None]
    assert read.notices == {"WHOLE_FLOATS": 2}


@pytest.mark.parametrize("counted", [2, 7])  # the manifest counts records, or every line
def test_lines_exports_add_that_hold_no_record_are_quarantined_as_lines_not_rows(tmp_path, counted):
    """sqlcmd's rule of dashes under the header, a spreadsheet's empty formatted rows, spaces
    and DOS's end-of-file mark, and the header again where two extracts were joined: each is a
    NOT_A_RECORD line, so the records are read whichever way the manifest counted."""
    ex = council.SOCIAL_CARE
    header, row = _csv(ex).splitlines()
    dashes = ",".join("-" * len(c) for c in ex.column_names)
    empty = "," * (len(ex.column_names) - 1)
    text = "\n".join([header, dashes, row, empty, "   ", "\ufeff" + header, row, "\x1a"]) + "\n"
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, text, rows=counted))
    assert read.rows["surname"].to_list() == [SECRET, SECRET]
    assert read.rejected[REASON].to_list() == ["NOT_A_RECORD"] * 5
    assert read.records == 7


def test_a_header_in_another_case_is_read_by_name_unless_two_names_claim_one_column(tmp_path):
    ex = council.SOCIAL_CARE
    upper = _csv(ex).replace("record_ref", "RECORD_REF", 1).replace("surname", "Surname", 1)
    read, _ = read_extract(tmp_path, ex, _drop(tmp_path, ex, upper))
    assert read.rows["surname"].to_list() == [SECRET] and read.notices == {"HEADER_CASE": 2}
    header, row = _csv(ex).splitlines()
    both = f"{header.replace('surname', 'SURNAME')},Surname\n{row},x\n"
    with pytest.raises(ExtractError) as info:
        read_extract(tmp_path, ex, _drop(tmp_path, ex, both))
    assert _code(info) == "HEADER_MISMATCH"


def test_dates_written_with_a_time_are_read_as_the_date_in_the_uk():
    from flows.reader import Read, read_date_times, rejected_frame

    ex = council.SOCIAL_CARE  # dates as dd/mm/yyyy
    sent = [
        "01/10/2026 00:00:00",  # a SQL Server datetime at midnight
        "01/10/2026 14:30",  # a time with no zone: the writer's own date
        "01/10/2026 12:00:00 AM",
        "22/04/1967 23:00:00Z",  # midnight on 23 April in British Summer Time
        "15/01/2026T23:30:00+00:00",  # Greenwich Mean Time: the same day
        "01/07/2026T00:30:00-05:00",  # 05:30 in London
        "01/10/2026 25:00Z",  # no such time: left for the date rule (BAD_DATE)
        "01/10/2026",
        "01/10/2026 00:00:00.0000000 +00:00",  # SQL Server datetimeoffset
        "01/07/2026 23:30:00+00",  # PostgreSQL timestamptz: 00:30 on 2 July in London
        "01/07/2026 23:30:00 +01",  # 23:30 in London
        "15/01/2026 23:30:00 UTC",
        "15/01/1980 00:00:00.0000000 +01:00",  # midnight where it was kept: its own date
        "15/01/1980T00:00:00+14:00",
        "15/01/2026T00:30:00+01:00",  # not midnight: 23:30 on 14 January in London
        "15/09/2026 25:00",  # no such time, with no zone either
        "15/09/2026 24:00:00",
        "15/09/2026 13:00 PM",
        "15/09/2026T00:00:00+00:99",  # no such offset
        "15/09/2026T00:00:00+0075",
        "15/09/2026T00:00:00+15:00",
        "15/09/2026 00:00 PM",  # a 12-hour clock has no hour 0
        "15/09/2026  00:00:00",  # two spaces before the time
        "15/09/2026 0:00:00+02:00",  # midnight with a one-digit hour
    ]
    rows = pl.DataFrame(
        {c: sent if c == "contact_date" else ["x"] * len(sent) for c in ex.column_names}
    )
    read = read_date_times(Read(rows, rejected_frame([], [], [])), ex)
    assert read.rows["contact_date"].to_list() == [
        "01/10/2026",
        "01/10/2026",
        "01/10/2026",
        "23/04/1967",
        "15/01/2026",
        "01/07/2026",
        "01/10/2026 25:00Z",
        "01/10/2026",
        "01/10/2026",
        "02/07/2026",
        "01/07/2026",
        "15/01/2026",
        "15/01/1980",
        "15/01/1980",
        "14/01/2026",
        *sent[-9:-2],  # left for the date rule (BAD_DATE)
        "15/09/2026",
        "15/09/2026",
    ]
    assert read.notices == {"TIME_DROPPED": 15}


def _parquet_drop(tmp_path, ex, table) -> dict:
    import pyarrow.parquet as pq

    pq.write_table(table, tmp_path / ex.file, use_deprecated_int96_timestamps=True)
    entry = {"rows": table.num_rows, "sha256": sha256_file(tmp_path / ex.file)}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {ex.file: entry}}))
    return read_manifest(tmp_path)


def test_parquet_files_as_spark_and_pandas_write_them_are_read_as_sent(tmp_path):
    """Spark's INT96 timestamps (the UTC moment, and dates pandas' nanoseconds cannot hold),
    numbers pandas wrote as text ("9990000018.0"), and a column outside the contract of a type
    polars cannot read: each read, not a silently wrong date, a lost extract or a stopped
    partner."""
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa

    from schemas.partners import nhs

    ex = nhs.AE
    n = 3
    columns = {c: pa.array(["x"] * n) for c in ex.column_names}
    columns["nhs_number"] = pa.array(["9990000018.0", "9990000026.0", "9990000018.0"])
    columns["date_of_birth"] = pa.array(  # 23:00 UTC is midnight in British Summer Time
        [dt.datetime(1980, 6, 14, 23), dt.datetime(1, 1, 1), dt.datetime(1980, 1, 15)],
        pa.timestamp("us"),
    )
    columns["audit_amount"] = pa.array([Decimal(1)] * n, pa.decimal256(40, 2))
    read, _ = read_extract(tmp_path, ex, _parquet_drop(tmp_path, ex, pa.table(columns)))
    assert read.rows["date_of_birth"].to_list() == ["1980-06-15", "0001-01-01", "1980-01-15"]
    assert read.rows["nhs_number"].to_list() == ["9990000018", "9990000026", "9990000018"]
    assert read.notices["EXTRA_COLUMNS"] == 1 and read.notices["WHOLE_FLOATS"] == 1


def test_parquet_columns_that_cannot_be_read_right_are_refused_with_a_fix(tmp_path):
    """A float32 column rounds ten-digit numbers to other numbers (an opted-out person's
    could no longer be matched); Spark's output folder is not the file: both refused, saying
    what to send instead."""
    import pyarrow as pa

    from schemas.partners import nhs

    ex = nhs.AE
    columns = {c: pa.array(["x"]) for c in ex.column_names}
    columns["nhs_number"] = pa.array([9990000077.0], pa.float32())
    with pytest.raises(ExtractError) as info:
        read_extract(tmp_path, ex, _parquet_drop(tmp_path, ex, pa.table(columns)))
    assert info.value.code == "WRONG_TYPE" and "float32" in str(info.value)
    (tmp_path / ex.file).unlink()
    (tmp_path / ex.file).mkdir()
    (tmp_path / ex.file / "_SUCCESS").write_text("")
    with pytest.raises(ExtractError) as info:
        read_extract(tmp_path, ex, read_manifest(tmp_path))
    assert info.value.code == "FILE_UNREADABLE" and "folder" in str(info.value)


def test_a_column_of_uk_midnights_in_utc_is_read_as_the_uk_dates(tmp_path):
    """A partner's dates kept at midnight in the UK and exported from a session in UTC without
    the zone: 23:00 the day before on summer dates. Read as the UK dates (not a day early),
    in text and in a Parquet datetime column; one other time in the column and every date is
    read as written."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.reader import Read, read_date_times, rejected_frame
    from schemas.partners import nhs

    ex = council.SOCIAL_CARE  # dates as dd/mm/yyyy
    sent = ["13/06/1980 23:00:00", "15/01/1980 00:00:00", "30/10/1999 23:00:00", "01/03/1975"]

    def read(values: list[str]) -> pl.Series:
        rows = pl.DataFrame(
            {c: values if c == "contact_date" else ["x"] * len(values) for c in ex.column_names}
        )
        return read_date_times(Read(rows, rejected_frame([], [], [])), ex).rows["contact_date"]

    assert read(sent).to_list() == ["14/06/1980", "15/01/1980", "31/10/1999", "01/03/1975"]
    for odd in ("20/01/1980 23:00:00", "20/07/1980 00:00:00", "20/07/1980 14:30"):
        assert read([*sent, odd]).to_list() == [
            "13/06/1980",
            "15/01/1980",
            "30/10/1999",
            "01/03/1975",
            "20/" + odd[3:10],
        ]
    ae = nhs.AE
    moments = [dt.datetime(1980, 6, 13, 23), dt.datetime(1980, 1, 15)]
    columns = {c: pa.array(["x"] * 2) for c in ae.column_names}
    columns["date_of_birth"] = pa.array(moments, pa.timestamp("us"))
    pq.write_table(pa.table(columns), tmp_path / ae.file)  # no INT96: a naive datetime
    entry = {"rows": 2, "sha256": sha256_file(tmp_path / ae.file)}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {ae.file: entry}}))
    rows, _ = read_extract(tmp_path, ae, read_manifest(tmp_path))
    assert rows.rows["date_of_birth"].to_list() == ["1980-06-14", "1980-01-15"]
    assert rows.notices["TIME_DROPPED"] == 2
