import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from flows.cli import main

PAIR = Path(__file__).resolve().parents[2] / "data" / "linkage_pair"


def test_hand_made_pair_links_across_formats_and_countries(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert (
        main(["linkage", "evaluate", "--config", str(PAIR / "config.yaml"), "--json", str(out)])
        == 0
    )
    result = json.loads(out.read_text())
    assert result["records"] == 11 and result["true_pairs"] == 5
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    assert set(result["seconds"]) == {"read", "pseudonymise", "link", "total"}
    printed = capsys.readouterr().out
    assert "precision" in printed and "seconds:" in printed
    # no raw value reaches the report
    assert "Garcia" not in printed + out.read_text() and "90210" not in out.read_text()


def test_a_wrong_truth_lowers_the_score(tmp_path):
    shutil.copytree(PAIR, tmp_path / "pair")
    right = tmp_path / "pair" / "right.csv"
    right.write_text(right.read_text().replace(";A2\n", ";A3\n"))  # B2 claimed to be A3
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "linkage",
                "evaluate",
                "--config",
                str(tmp_path / "pair" / "config.yaml"),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["precision"] < 1.0 and result["recall"] < 1.0


def test_a_column_missing_from_a_file_is_a_clear_error(tmp_path, capsys):
    shutil.copytree(PAIR, tmp_path / "pair")
    config = tmp_path / "pair" / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["files"][0]["columns"]["dob"] = "birthday"
    config.write_text(yaml.safe_dump(data))
    assert main(["linkage", "evaluate", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "birthday" in err and "left.csv" in err and "Fix:" in err


def test_link_only_scores_pairs_across_the_two_files(tmp_path, capsys):
    """The hand-made pair as a link-only evaluation: no pair inside one file counts, and a
    config with one file is refused with a message saying what to change."""
    shutil.copytree(PAIR, tmp_path / "pair")
    config = tmp_path / "pair" / "config.yaml"
    doc = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**doc, "link_type": "link_only"}))
    every = json.loads(_evaluate(PAIR / "config.yaml", tmp_path / "every.json").read_text())
    across = json.loads(_evaluate(config, tmp_path / "across.json").read_text())
    assert across["link_type"] == "link_only" and every["link_type"] == "dedupe_and_link"
    assert 0 < across["true_pairs"] <= every["true_pairs"]
    assert across["precision"] == 1.0 and across["recall"] == 1.0
    config.write_text(yaml.safe_dump({**doc, "files": doc["files"][:1], "link_type": "link_only"}))
    capsys.readouterr()
    assert main(["linkage", "evaluate", "--config", str(config)]) != 0
    err = capsys.readouterr().err
    assert "link_only" in err and "Traceback" not in err


def _evaluate(config: Path, out: Path) -> Path:
    assert main(["linkage", "evaluate", "--config", str(config), "--json", str(out)]) == 0
    return out


def test_a_one_word_full_name_is_a_surname_not_also_a_forename(tmp_path):
    """A one-word "Clarke" is a surname with no forename: were its word also taken as the forename,
    every one-word "Clarke" would share a rare forename and the linker would chain them."""
    from flows.linkage_evaluate import load_config, standard_rows

    (tmp_path / "f.csv").write_text("id,name\n1,Ann Clarke\n2,Clarke\n3,Ann Mary Clarke\n")
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {"files": [{"path": "f.csv", "truth": "id", "columns": {"full_name": "name"}}]}
        )
    )
    rows = standard_rows(load_config(config).files[0], "f0").sort("truth")
    assert rows["surname"].str.to_lowercase().to_list() == ["clarke"] * 3
    forenames = rows["forename"].to_list()
    assert forenames[1] is None
    assert [f.lower() for f in (forenames[0], forenames[2])] == ["ann", "ann"]


# Files as analysts get them (found by feeding `mcn linkage evaluate` files written by pandas,
# spreadsheets and FEBRL, session 28): each forgiveness below is counted, never silent, and
# each refusal says what to change without quoting a row.


def _rows(tmp_path, text: str | bytes, name="f.csv", **source):
    from flows.linkage_evaluate import load_config, standard_rows_counted

    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    source = {"path": name, "truth": "id", "columns": {"surname": "sn"}, **source}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"files": [source]}))
    return standard_rows_counted(load_config(config).files[0], "f0")


def test_blank_markers_are_blanks_unless_the_config_says_otherwise(tmp_path):
    text = "id,sn\n1,NULL\n2, nan \n3,None\n4,N/A\n5,Smith\n6,\n"
    rows, _ = _rows(tmp_path, text)
    assert rows["surname"].to_list() == [None] * 4 + ["Smith", None]
    rows, _ = _rows(tmp_path, text, null_values=["N/A"])
    assert rows["surname"].to_list() == ["NULL", "nan", "None", None, "Smith", None]


def test_dates_of_birth_as_spreadsheets_and_pandas_write_them(tmp_path):
    import datetime as dt

    import polars as pl

    text = "id,sn,dob\n1,A,1980-01-31 00:00:00\n2,B,1980-01-31T00:00:00.000Z\n3,C,1980-01-31\n"
    rows, counts = _rows(tmp_path, text, columns={"surname": "sn", "dob": "dob"})
    assert rows["date_of_birth"].to_list() == ["1980-01-31"] * 3
    assert counts["dob_read"] == counts["dob_values"] == 3
    floats = 'id,sn,dob\n1,A,19800131.0\n2,B,19800131\n3,C,"19800131,0"\n'
    rows, _ = _rows(
        tmp_path, floats, columns={"surname": "sn", "dob": "dob", "dob_format": "%Y%m%d"}
    )
    assert rows["date_of_birth"].to_list() == ["1980-01-31"] * 3
    born = dt.datetime(1980, 1, 31)
    for column in (pl.Series([born, born]), pl.Series([born.date(), born.date()])):
        pl.DataFrame({"id": ["1", "2"], "sn": ["A", "B"], "dob": column}).write_parquet(
            tmp_path / "f.pq"
        )
        rows, _ = _rows(  # a typed date is a date, whatever dob_format says
            tmp_path,
            (tmp_path / "f.pq").read_bytes(),
            name="f.pq",
            columns={"surname": "sn", "dob": "dob", "dob_format": "%d/%m/%Y"},
        )
        assert rows["date_of_birth"].to_list() == ["1980-01-31"] * 2


def test_a_dob_format_that_reads_under_half_the_dates_is_refused(tmp_path):
    from schemas.errors import SchemaError

    text = "id,sn,dob\n1,A,31/01/1980\n2,B,28/02/1979\n3,C,01/03/1990\n"
    with pytest.raises(SchemaError) as caught:
        _rows(tmp_path, text, columns={"surname": "sn", "dob": "dob", "dob_format": "dd/mm/yyyy"})
    message = str(caught.value)
    assert "dob_format 'dd/mm/yyyy' reads 0 of the 3" in message and "Fix:" in message
    assert "1980" not in message and "31/01" not in message
    rows, _ = _rows(
        tmp_path, text, columns={"surname": "sn", "dob": "dob", "dob_format": "%d/%m/%Y"}
    )
    assert rows["date_of_birth"].null_count() == 0


def test_truth_values_written_differently_name_one_entity(tmp_path):
    text = "id,sn\n12.0,A\n0012,A\n 12 ,A\n,A\nNULL,A\nrec-7-org,B\nrec-7-dup-0,B\n"
    rows, counts = _rows(tmp_path, text)
    assert rows["truth"].to_list()[:3] == ["12"] * 3
    assert counts["rows"] == 7 and counts["rows_without_truth"] == 2 and rows.height == 5
    rows, _ = _rows(tmp_path, text, truth_pattern=r"rec-(\d+)")
    assert rows["truth"].to_list() == ["7", "7"]  # rows the pattern does not match are left out
    # a decimal comma, as a spreadsheet in a comma-decimal locale writes a number column; a
    # thousands group (",000") is not one: "12,000" is another entity
    text = "id;sn\n12,0;A\n12,00;A\n12;A\n12,000;B\n12000;B\n"
    rows, counts = _rows(tmp_path, text, delimiter=";")
    assert rows["truth"].to_list() == ["12", "12", "12", "12,000", "12000"]
    assert counts["whole_floats"] == 2


def test_headers_encodings_and_delimiters_files_really_have(tmp_path):
    rows, _ = _rows(tmp_path, "id, sn\n1, Smith\n2, Jones\n")  # FEBRL's ", " separators
    assert rows["surname"].to_list() == ["Smith", "Jones"]
    accented = "id;sn\n1;Zoë\n2;Müller\n"
    rows, _ = _rows(tmp_path, accented.encode("utf-16"), delimiter=";")  # found by its BOM
    assert rows["surname"].to_list() == ["Zoë", "Müller"]
    rows, _ = _rows(tmp_path, ("\ufeff" + accented).encode(), delimiter=";")
    assert rows["surname"].to_list() == ["Zoë", "Müller"]
    rows, _ = _rows(
        tmp_path, accented.replace(";", "\t").encode("cp1252"), delimiter="\\t", encoding="cp1252"
    )
    assert rows["surname"].to_list() == ["Zoë", "Müller"]


def test_what_cannot_be_read_or_scored_is_refused_with_the_fix(tmp_path, capsys):
    def refused(files: list[dict], **config) -> str:
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump({"files": files, **config}))
        capsys.readouterr()
        assert main(["linkage", "evaluate", "--config", str(path)]) == 3
        err = capsys.readouterr().err
        assert "Fix:" in err and "Traceback" not in err
        return err

    (tmp_path / "win.csv").write_bytes("id,sn\n1,Zoë\n1,Zoe\n".encode("cp1252"))
    (tmp_path / "two.csv").write_text("id,sn,pc\n1,Olsen,AB1 2CD\n1,Olsen,AB1 2CD\n")
    (tmp_path / "pc.csv").write_text("id,pc\n1,AB1 2CD\n2,EF3 4GH\n")
    (tmp_path / "empty.csv").write_text("id,sn\n")
    (tmp_path / "ragged.csv").write_text('id,sn\n1,"Ol\nsen"\n2,Olsen\n3,Olsen,extra\n')
    surname = {"surname": "sn"}
    err = refused([{"path": "win.csv", "truth": "id", "columns": surname}])
    assert "not utf-8 text" in err and "encoding" in err and "Zo" not in err
    err = refused([{"path": "empty.csv", "truth": "id", "columns": surname}])
    assert "no rows" in err
    err = refused([{"path": "ragged.csv", "truth": "id", "columns": surname}])
    assert "more fields than the header (the first at line 5)" in err and "extra" not in err
    err = refused(
        [
            {"path": "two.csv", "truth": "id", "columns": surname},
            {"path": "pc.csv", "truth": "id", "columns": {"postcode": "pc"}},
        ]
    )
    assert "shares no identity field" in err and "AB1" not in err
    (tmp_path / "unique.csv").write_text("id,sn\n1,Olsen\n2,Olsen\n")
    err = refused([{"path": "unique.csv", "truth": "id", "columns": surname}])
    assert "no two records have the same truth value" in err
    err = refused([{"path": "two.csv", "truth": "id", "columns": surname, "delimiter": ";;"}])
    assert "one character" in err


def test_a_json_path_in_a_missing_folder_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "missing" / "result.json"
    code = main(["linkage", "evaluate", "--config", str(PAIR / "config.yaml"), "--json", str(out)])
    err = capsys.readouterr()
    assert code == 9 and "does not exist" in err.err and "precision" not in err.out


def test_a_time_that_may_move_a_date_of_birth_is_not_read_as_that_date(tmp_path):
    import datetime as dt

    import polars as pl

    from schemas.errors import SchemaError

    text = (
        "id,sn,dob\n1,A,1967-04-22T23:00:00Z\n2,B,1967-04-23 00:00:00+00:00\n"
        "3,C,1967-04-23 12:00:00 AM\n4,D,23/04/67\n5,E,1967-04-23 00:00:00.0000000 +00:00\n"
        "6,F,1967-04-23 00:00:00+00\n7,G,1967-04-22 23:00:00 UTC\n"
        "8,H,1967-04-23 00:00:00.0000000 +01:00\n9,I,1967-04-23 00:00:00+00:99\n"
        "10,J,1967-04-23 0:00:00+01:00\n"
    )
    rows, counts = _rows(tmp_path, text, columns={"surname": "sn", "dob": "dob"})
    assert rows["date_of_birth"].to_list() == [
        None,
        "1967-04-23",
        "1967-04-23",
        None,
        "1967-04-23",
        "1967-04-23",
        None,
        "1967-04-23",  # midnight where it was kept (east of the UK): its own date
        None,  # no such offset
        "1967-04-23",  # midnight with a one-digit hour, as the ingest reads it
    ]
    assert counts["times_dropped"] == 6 and counts["dob_read"] == 6
    naive = "id,sn,dob\n1,A,1967-04-23 14:30\n"  # no zone: the writer's own date
    rows, _ = _rows(tmp_path, naive, columns={"surname": "sn", "dob": "dob"})
    assert rows["date_of_birth"].to_list() == ["1967-04-23"]
    two_digit = "id,sn,dob\n1,A,23/04/67\n2,B,01/01/05\n"
    rows, _ = _rows(
        tmp_path, two_digit, columns={"surname": "sn", "dob": "dob", "dob_format": "%d/%m/%y"}
    )
    assert rows["date_of_birth"].to_list() == ["1967-04-23", "2005-01-01"]  # never in the future
    # midnight in the UK kept as a moment in UTC (23:00 in summer): the UK's date
    uk = [dt.datetime(1967, 4, 22, 23, tzinfo=dt.UTC), dt.datetime(1967, 1, 5, 0, tzinfo=dt.UTC)]
    pl.DataFrame({"id": ["1", "2"], "sn": ["A", "B"], "dob": uk}).write_parquet(tmp_path / "f.pq")
    rows, _ = _rows(
        tmp_path,
        (tmp_path / "f.pq").read_bytes(),
        name="f.pq",
        columns={"surname": "sn", "dob": "dob"},
    )
    assert rows["date_of_birth"].to_list() == ["1967-04-23", "1967-01-05"]
    late = dt.datetime(1967, 4, 22, 10, 30, tzinfo=dt.UTC)  # midnight nowhere it could be
    pl.DataFrame({"id": ["1"], "sn": ["A"], "dob": [late]}).write_parquet(tmp_path / "f.pq")
    with pytest.raises(SchemaError, match="at midnight neither in that zone nor in the UK"):
        _rows(
            tmp_path,
            (tmp_path / "f.pq").read_bytes(),
            name="f.pq",
            columns={"surname": "sn", "dob": "dob"},
        )


def test_truths_and_mappings_that_cannot_be_meant_are_refused(tmp_path):
    from schemas.errors import SchemaError

    with pytest.raises(SchemaError, match="mapped as both forename and surname"):
        _rows(tmp_path, "id,sn\n1,A\n", columns={"forename": "sn", "surname": "sn"})
    with pytest.raises(SchemaError, match="also mapped as other_id"):
        _rows(tmp_path, "id,sn\n1,A\n", columns={"surname": "sn", "other_id": "id"})
    with pytest.raises(SchemaError, match="names 2 columns sn"):
        _rows(tmp_path, "id,sn, sn\n1,A,B\n")
    rows, _ = _rows(tmp_path, "id,sn, sn\n1,A,A\n")  # the same column twice is one column
    assert rows["surname"].to_list() == ["A"]
    with pytest.raises(SchemaError, match="valid identifiers"):
        _rows(
            tmp_path,
            "id,sn,nhs\n1,A,9.99E+09\n2,B,9990000019\n3,C,9990000018\n",
            columns={"surname": "sn", "nhs_number": "nhs"},
        )
    rows, counts = _rows(
        tmp_path,
        "id,sn,nhs\n1,A,9990000018.0\n2,B,999 000 0026\n",
        columns={"surname": "sn", "nhs_number": "nhs"},
    )
    assert (
        counts["nhs_number_valid"] == counts["nhs_number_values"] == 2
        and counts["whole_floats"] == 1
    )
    rows, _ = _rows(tmp_path, "id,sn\nrec-,A\nrec-7,B\n", truth_pattern=r"rec-(\d*)")
    assert rows["truth"].to_list() == ["7"]  # an empty group names no one


def test_files_that_are_not_what_their_names_say(tmp_path, capsys):
    import polars as pl

    frame = pl.DataFrame({"id": ["1", "1"], "sn": ["Olsen", "Olsen"]})
    frame.write_parquet(tmp_path / "data.csv")  # Parquet by its first bytes, whatever its name
    rows, _ = _rows(tmp_path, (tmp_path / "data.csv").read_bytes(), name="data.csv")
    assert rows["surname"].to_list() == ["Olsen", "Olsen"]
    rows, _ = _rows(tmp_path, b"\xef\xbb\xbfid,sn\r1,Olsen\r1,Olsen\r", encoding="cp1252")
    assert rows["surname"].to_list() == ["Olsen", "Olsen"]  # the BOM decides; CR-only lines
    from schemas.errors import SchemaError

    with pytest.raises(SchemaError, match="spreadsheet"):
        _rows(tmp_path, b"PK\x03\x04 not a csv", name="people.xlsx")
    (tmp_path / "a.csv").write_text("id,sn\n1,Olsen\n1,Olsen\n")
    config = tmp_path / "twice.yaml"
    entry = {"truth": "id", "columns": {"surname": "sn"}}
    config.write_text(
        yaml.safe_dump({"files": [{"path": "a.csv", **entry}, {"path": "./a.csv", **entry}]})
    )
    assert main(["linkage", "evaluate", "--config", str(config)]) == 3
    assert "lists one file twice" in capsys.readouterr().err
    config.write_text(yaml.safe_dump({"files": [{"path": "a.csv", **entry}]}))
    assert main(["linkage", "evaluate", "--config", str(config), "--json", str(tmp_path)]) == 9
    bad = {**entry, "truth_pattern": r"(?<=rec-)\d+"}
    config.write_text(yaml.safe_dump({"files": [{"path": "a.csv", **bad}]}))
    assert main(["linkage", "evaluate", "--config", str(config)]) == 3
    assert "polars runs" in capsys.readouterr().err
    many = "id,sn\n" + "".join(f"1,N{i}\n" for i in range(30)) + "2,A\n2,A\n"
    (tmp_path / "one.csv").write_text(many)
    config.write_text(yaml.safe_dump({"files": [{"path": "one.csv", **entry}]}))
    assert main(["linkage", "evaluate", "--config", str(config)]) == 3
    assert "one truth value names 30 of the 32 records" in capsys.readouterr().err


def test_the_file_whose_fields_are_all_blank_is_the_one_named(tmp_path, capsys):
    (tmp_path / "left.csv").write_text("id,sn\n1,Olsen\n2,Berg\n")
    (tmp_path / "right.csv").write_text("id,sn\n1,\n2,NULL\n")
    config = tmp_path / "c.yaml"
    entry = {"truth": "id", "columns": {"surname": "sn"}}
    config.write_text(
        yaml.safe_dump({"files": [{"path": "left.csv", **entry}, {"path": "right.csv", **entry}]})
    )
    assert main(["linkage", "evaluate", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "every one is blank" in err and "right.csv" in err and "left.csv" not in err


def test_unidentified_strangers_born_the_same_day_are_not_one_person(tmp_path):
    """Six different people recorded as "UNKNOWN UNKNOWN" with one estimated date of birth, as
    A&E records the unidentified: before, the names-and-DOB match keys made them one person."""
    rows = ["id,fn,sn,dob,pc"]
    for i, (fn, sn, dob) in enumerate(
        [
            ("Ann", "Olsen", "1971-03-04"),
            ("Bob", "Berg", "1965-11-20"),
            ("Cat", "Hale", "1990-07-01"),
        ]
    ):
        rows += [f"P{i},{fn},{sn},{dob},AB{i} 1CD"] * 2
    rows += [f"U{j},UNKNOWN,Unknown,1980-01-01,EF{j} 2GH" for j in range(6)]
    (tmp_path / "f.csv").write_text("\n".join(rows) + "\n")
    config = tmp_path / "c.yaml"
    columns = {"forename": "fn", "surname": "sn", "dob": "dob", "postcode": "pc"}
    config.write_text(
        yaml.safe_dump({"files": [{"path": "f.csv", "truth": "id", "columns": columns}]})
    )
    result = json.loads(_evaluate(config, tmp_path / "r.json").read_text())
    assert result["true_pairs"] == 3 and result["precision"] == 1.0 and result["recall"] == 1.0


def test_parquet_and_csv_files_as_analysts_tools_write_them(tmp_path):
    """From an outside attack (session 32): each of these gave a wrong score without a word,
    or a misleading refusal, where the same data written plainly scored right."""
    import datetime as dt
    import decimal
    import uuid

    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.errors import SchemaError

    def parquet(table: pa.Table, **kw) -> bytes:
        pq.write_table(table, tmp_path / "w.pq", **kw)
        return (tmp_path / "w.pq").read_bytes()

    # Spark's INT96 (no Arrow schema kept) from a London-zone source: midnight in British
    # Summer Time is 23:00 UTC the day before; the UK's date is the date of birth
    moments = [dt.datetime(1980, 6, 14, 23), dt.datetime(1980, 1, 15, 0)]
    spark = pa.table(
        {"id": ["1", "2"], "sn": ["A", "B"], "dob": pa.array(moments, pa.timestamp("us"))}
    )
    data = parquet(spark, use_deprecated_int96_timestamps=True, store_schema=False)
    rows, _ = _rows(tmp_path, data, name="f.pq", columns={"surname": "sn", "dob": "dob"})
    assert rows["date_of_birth"].to_list() == ["1980-06-15", "1980-01-15"]
    # a 32-bit float cannot keep 8-digit ids or yyyymmdd dates: neighbours become one
    ids = pa.table({"id": pa.array([23456789.0, 23456790.0], pa.float32()), "sn": ["A", "B"]})
    with pytest.raises(SchemaError, match="too large for a float"):
        _rows(tmp_path, parquet(ids), name="f.pq")
    born = pa.table({"id": ["1"], "sn": ["A"], "dob": pa.array([19800115.0], pa.float32())})
    with pytest.raises(SchemaError, match="32-bit float"):
        _rows(
            tmp_path,
            parquet(born),
            name="f.pq",
            columns={"surname": "sn", "dob": "dob", "dob_format": "%Y%m%d"},
        )
    # an unmapped decimal256 column and a name written twice are not the analyst's fault; a
    # mapped decimal256 is read as its digits; a UUID entity id as hex text
    ids = [
        uuid.UUID(int=(0xABC << 100) + 7).bytes,
        uuid.UUID(int=(0xABC << 100) + 7).bytes,
        uuid.UUID(int=(0xABC << 100) + 9).bytes,
    ]
    nhs = [decimal.Decimal("9990000018")] * 3
    odd = pa.table(
        [
            pa.ExtensionArray.from_storage(pa.uuid(), pa.array(ids, pa.binary(16))),
            pa.array(["A", "A", "B"]),
            pa.array(nhs, pa.decimal256(20, 0)),
            pa.array(nhs, pa.decimal256(40, 2)),
            pa.array(["x", "y", "z"]),
            pa.array(["x", "y", "z"]),
        ],
        names=["id", "sn", "nhs", "extra", "note", "note"],
    )
    rows, counts = _rows(
        tmp_path, parquet(odd), name="f.pq", columns={"surname": "sn", "nhs_number": "nhs"}
    )
    assert rows["nhs_number"].to_list() == ["9990000018"] * 3 and counts["nhs_number_valid"] == 3
    assert rows["truth"].n_unique() == 2 and counts["uuids_as_text"] == 1
    assert rows["truth"].to_list()[0] == str(uuid.UUID(int=(0xABC << 100) + 7))
    # a typed date far in the future is a placeholder, as it is in text
    typed = pa.table(
        {"id": ["1", "2"], "sn": ["A", "B"], "dob": [dt.date(9999, 12, 31), dt.date(1980, 1, 2)]}
    )
    rows, counts = _rows(
        tmp_path, parquet(typed), name="f.pq", columns={"surname": "sn", "dob": "dob"}
    )
    assert rows["date_of_birth"].to_list() == [None, "1980-01-02"] and counts["dob_future"] == 1
    # "SMITH, John" puts the surname first; "John Smith, Jr" does not
    text = 'id,name\n1,"SMITH, Mr John"\n2,"John Smith, Jr"\n3,"Van Der Berg, Anna"\n4,Clarke\n'
    rows, counts = _rows(tmp_path, text, columns={"full_name": "name"})
    assert rows["forename"].to_list() == ["JOHN", "JOHN", "ANNA", None]
    assert rows["surname"].to_list() == ["SMITH", "SMITH", "BERG", "CLARKE"]
    assert counts["surname_first"] == 2
    # names in another case (DuckDB, pandas upper-case them) are named in the refusal
    upper = pa.table({"ID": ["1"], "SN": ["A"]})
    with pytest.raises(SchemaError, match="another case: sn -> SN, id -> ID"):
        _rows(tmp_path, parquet(upper), name="f.pq", truth="id", columns={"surname": "sn"})
    # Excel's first line naming the delimiter
    rows, counts = _rows(tmp_path, "sep=;\nid;sn\n1;Smith\n")
    assert rows["surname"].to_list() == ["Smith"] and counts["excel_sep_line"] == 1


def test_the_readers_new_rules_hold_against_a_second_attack(tmp_path):
    """From a second outside attack on the rules above (session 32)."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.linkage_evaluate import evaluate, load_config
    from schemas.errors import SchemaError

    def parquet(table: pa.Table, **kw) -> bytes:
        pq.write_table(table, tmp_path / "w.pq", **kw)
        return (tmp_path / "w.pq").read_bytes()

    # a GUID is one entity whatever its case, dashes or braces
    guid = "3F2B8C9E-1A2B-4C3D-8E9F-0A1B2C3D4E5F"
    text = f"id,sn\n{{{guid}}},A\n{guid.lower()},A\n{guid.replace('-', '')},B\n"
    rows, _ = _rows(tmp_path, text)
    assert rows["truth"].n_unique() == 1 and rows["truth"][0] == guid.lower()
    # post-nominal letters after a comma do not make the name surname-first; empty parts
    # between commas are skipped
    text = 'id,name\n1,"Anne Smith, MD"\n2,"Smith,, Anne"\n3,"Smith, , Anne"\n4,"Jo Smith, 3rd"\n'
    rows, _ = _rows(tmp_path, text, columns={"full_name": "name"})
    assert rows["forename"].to_list() == ["ANNE", "ANNE", "ANNE", "JO"]
    assert rows["surname"].to_list() == ["SMITH"] * 4
    # Excel's sep= line as other tools pad or quote it
    for line in ('"sep=;"', "SEP=;;;;", "sep=; "):
        rows, counts = _rows(tmp_path, f"{line}\r\nid;sn\r\n1;Smith\r\n")
        assert rows["surname"].to_list() == ["Smith"] and counts["excel_sep_line"] == 1
    # each zoned value is the date it is midnight on, in its zone or in the UK
    mixed = [dt.datetime(1980, 6, 14, 23, tzinfo=dt.UTC), dt.datetime(1980, 1, 15, tzinfo=dt.UTC)]
    table = pa.table({"id": ["1", "2"], "sn": ["A", "B"], "dob": mixed})
    rows, _ = _rows(tmp_path, parquet(table), name="f.pq", columns={"surname": "sn", "dob": "dob"})
    assert rows["date_of_birth"].to_list() == ["1980-06-15", "1980-01-15"]
    # INT96 written by pyarrow keeps its own (naive) type; an offset zone is its local date
    noon = pa.table({"id": ["1"], "sn": ["A"], "dob": [dt.datetime(1980, 6, 14, 12)]})
    data = parquet(noon, use_deprecated_int96_timestamps=True)
    rows, _ = _rows(tmp_path, data, name="f.pq", columns={"surname": "sn", "dob": "dob"})
    assert rows["date_of_birth"].to_list() == ["1980-06-14"]
    india = pa.array([dt.datetime(1980, 6, 13, 18, 30)], pa.timestamp("us", tz="+05:30"))
    table = pa.table({"id": ["1"], "sn": ["A"], "dob": india})
    rows, _ = _rows(tmp_path, parquet(table), name="f.pq", columns={"surname": "sn", "dob": "dob"})
    assert rows["date_of_birth"].to_list() == ["1980-06-14"]
    # two files sharing no truth value cannot be scored as one linkage
    (tmp_path / "a.csv").write_text("id,sn\n1,A\n1,A\n")
    (tmp_path / "b.csv").write_text("id,sn\n1,000,A\n1,000,A\n".replace("1,000,A", '"1,000",A'))
    files = [{"path": f, "truth": "id", "columns": {"surname": "sn"}} for f in ("a.csv", "b.csv")]
    (tmp_path / "two.yaml").write_text(yaml.safe_dump({"files": files}))
    with pytest.raises(SchemaError, match="share no truth value"):
        evaluate(load_config(tmp_path / "two.yaml"))
    # "1,0" from a comma-decimal export is the number 1 (session 34): now they share it
    (tmp_path / "b.csv").write_text('id,sn\n"1,0",A\n"1,0",A\n')
    assert evaluate(load_config(tmp_path / "two.yaml"))["true_pairs"] == 6


def test_uk_midnights_written_in_utc_are_read_as_the_uk_date(tmp_path):
    """Dates of birth kept at midnight in the UK, converted to UTC and written without the zone
    (a database or Spark session in UTC; pandas' tz_convert then tz_localize(None)): 23:00 the
    day before on every summer date. Read as written, half the dates were a day early without
    a word; read as the UK dates now, in Parquet and in text, and counted. A column with one
    time that is no UK midnight in UTC is read as written, as before."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    uk = [dt.date(1980, 6, 14), dt.date(1980, 1, 15), dt.date(1999, 10, 31), dt.date(1975, 3, 1)]
    in_utc = [
        dt.datetime(1980, 6, 13, 23),  # British Summer Time: 23:00 UTC the day before
        dt.datetime(1980, 1, 15),  # Greenwich Mean Time: midnight either way
        dt.datetime(1999, 10, 30, 23),  # the night the clocks go back: still summer time
        dt.datetime(1975, 3, 1),
    ]
    expected = [d.isoformat() for d in uk]
    ids, names = [str(i) for i in range(4)], ["A", "B", "C", "D"]
    columns = {"surname": "sn", "dob": "dob"}
    table = pa.table({"id": ids, "sn": names, "dob": pa.array(in_utc, pa.timestamp("us"))})
    pq.write_table(table, tmp_path / "w.pq")
    rows, counts = _rows(tmp_path, (tmp_path / "w.pq").read_bytes(), "f.pq", columns=columns)
    assert rows["date_of_birth"].to_list() == expected and counts["uk_midnights_in_utc"] == 2
    # as text, as pandas writes the same column, and on a 12-hour clock
    for written, fmt in (("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"), ("%d/%m/%Y %I:%M %p", "%d/%m/%Y")):
        lines = [
            f"{i},{n},{m.strftime(written)}" for i, n, m in zip(ids, names, in_utc, strict=True)
        ]
        text = "id,sn,dob\n" + "\n".join(lines) + "\n"
        rows, counts = _rows(tmp_path, text, columns={**columns, "dob_format": fmt})
        assert rows["date_of_birth"].to_list() == expected, written
        assert counts["uk_midnights_in_utc"] == 2 and counts["times_dropped"] == 4
    # one 23:00 in winter (or a midnight in summer): not UK midnights in UTC; read as written
    for odd in (dt.datetime(1980, 1, 20, 23), dt.datetime(1980, 7, 20)):
        table = pa.table(
            {
                "id": [*ids, "4"],
                "sn": [*names, "E"],
                "dob": pa.array([*in_utc, odd], pa.timestamp("us")),
            }
        )
        pq.write_table(table, tmp_path / "w.pq")
        data = (tmp_path / "w.pq").read_bytes()
        rows, counts = _rows(tmp_path, data, "f.pq", columns=columns)
        written = [m.date().isoformat() for m in [*in_utc, odd]]
        assert rows["date_of_birth"].to_list() == written and not counts["uk_midnights_in_utc"]


def test_a_parquet_file_is_read_for_its_mapped_columns_only(tmp_path):
    """An export with a damaged column nobody mapped (a free-text or binary field a tool wrote
    badly) used to be refused whole, since every column was read first; only the mapped
    columns are read now. A damaged mapped column is still refused, naming the file."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.errors import SchemaError

    rng = np.random.default_rng(5)
    blobs = [bytes(rng.integers(0, 256, 2000, dtype=np.uint8)) for _ in range(50)]
    table = pa.table({"id": [str(i // 2) for i in range(50)], "sn": ["A"] * 50, "blob": blobs})
    pq.write_table(table, tmp_path / "w.pq", compression="none")
    data = bytearray((tmp_path / "w.pq").read_bytes())
    page = pq.ParquetFile(tmp_path / "w.pq").metadata.row_group(0).column(2).data_page_offset
    data[page : page + 8] = b"\xff" * 8  # the unmapped column's page header is garbage
    with pytest.raises(OSError):
        pq.read_table(pa.BufferReader(bytes(data)))  # as every column was read before
    rows, _ = _rows(tmp_path, bytes(data), name="f.pq")
    assert rows.height == 50 and rows["surname"].to_list() == ["A"] * 50
    with pytest.raises(SchemaError, match="could not be read as Parquet"):
        _rows(tmp_path, bytes(data), name="f.pq", columns={"surname": "sn", "other_id": "blob"})


def test_link_only_links_each_twin_to_their_own_record(tmp_path):
    """Two files each free of duplicates (what link_only is for): twins, in both files, agree
    on all but the forename, so every cross pair of them scores high; one record a file per
    person keeps each twin with their own record (an outside two-file set with households
    and twins: F1 0.936 -> 0.986; docs/linkage.md section 10)."""
    rng = np.random.default_rng(4)
    syllables = ["ka", "lo", "mi", "ren", "tas", "vo", "ul", "bri", "sen", "dor", "fi", "gan"]

    def word() -> str:
        return "".join(rng.choice(syllables, 3)).title()

    people = [
        (word(), word(), f"19{rng.integers(40, 99)}-0{rng.integers(1, 9)}-1{rng.integers(0, 9)}")
        for _ in range(300)
    ]
    people += [("Ada", "Quarrington", "1990-03-04"), ("Lena", "Quarrington", "1990-03-04")]
    lines = [f"{i},{f},{s},{d},LS6 {i % 9}AB" for i, (f, s, d) in enumerate(people)]
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("id,fn,sn,dob,pc\n" + "\n".join(lines) + "\n")
    columns = {"forename": "fn", "surname": "sn", "dob": "dob", "postcode": "pc"}
    files = [{"path": n, "truth": "id", "columns": columns} for n in ("a.csv", "b.csv")]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"files": files, "link_type": "link_only"}))
    result = json.loads(_evaluate(tmp_path / "c.yaml", tmp_path / "r.json").read_text())
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    assert result["persons_split_one_record_per_file"] >= 1


def test_a_full_name_with_a_style_after_its_comma_is_not_surname_first(tmp_path):
    """Peerage and historical records write a style after the name ("Thomas Clifford, 1st Baron
    Clifford of Chudleigh"): read as a whole, not as "SMITH, John" (forename "ST" before), and
    an ordinal is no word of a name. Surname first is the column's convention: a few names
    with a comma among many without one are read first word to last, as the rest are."""
    text = (
        "id,name\n"
        '1,"thomas clifford, 1st baron clifford of chudleigh"\n'
        "2,tom 1st baron clifford of chudleigh\n"
        '3,"Mary, Queen of Scots"\n'
        "4,Henry Smith 2nd\n"
        '5,"thomas clifford, baron chudleigh"\n'
        '6,"tom clifford, chudleigh"\n'
        "7,thomas of chudleigh\n"
    )
    rows, counts = _rows(tmp_path, text, columns={"full_name": "name"})
    assert rows["forename"].to_list() == [
        *("THOMAS", "TOM", "MARY", "HENRY", "THOMAS", "TOM", "THOMAS")
    ]
    assert (
        rows["surname"].to_list()
        == ["CHUDLEIGH", "CHUDLEIGH", "SCOTS", "SMITH"] + ["CHUDLEIGH"] * 3
    )
    assert counts["surname_first"] == 0 and counts["comma_names_read_whole"] == 2
    # a column written surname first keeps its convention, styles and all
    text = (
        'id,name\n1,"SMITH, Mr John"\n2,"Smith, John, 21st Baronet"\n3,"JONES, Ann"\n'
        '4,"Clifford, 1st Baron"\n5,Ann Jones\n6,"BROWN, Mary (née Jones of Leeds)"\n'
    )
    rows, counts = _rows(tmp_path, text, columns={"full_name": "name"})
    assert rows["forename"].to_list() == ["JOHN", "JOHN", "ANN", "CLIFFORD", "ANN", "MARY"]
    assert rows["surname"].to_list() == ["SMITH", "SMITH", "JONES", "BARON", "JONES", "BROWN"]
    assert counts["surname_first"] == 4 and counts["comma_names_read_whole"] == 0


def test_asides_in_brackets_and_the_before_a_title_are_no_words_of_a_full_name(tmp_path):
    """From an outside attack (session 35): the last word in brackets was read as the surname
    ("Mary Tolley (née Jones)" -> JONES) and "the" before a title as the forename."""
    text = (
        "id,name\n"
        "1,Mary Tolley (née Jones)\n"
        "2,John Smith (aka Jack Jones)\n"
        "3,John Barker [deceased]\n"
        "4,The Rev. John Smith\n"
        "5,the Rt Hon Ann Jones\n"
        "6,Theo Smith (\n"
        "7,Thea Lord\n"
    )
    rows, _ = _rows(tmp_path, text, columns={"full_name": "name"})
    assert rows["forename"].to_list() == ["MARY", "JOHN", "JOHN", "JOHN", "ANN", "THEO", "THEA"]
    assert rows["surname"].to_list() == ["TOLLEY", "SMITH", "BARKER", "SMITH", "JONES", "SMITH"] + [
        "LORD"
    ]
