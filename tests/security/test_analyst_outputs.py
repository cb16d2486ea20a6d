"""The default analyst, through the real `mcn query`, in every format: never a row, never a
count between 1 and the threshold, every count a multiple of the rounding base; refusals are
audited. The accredited analyst may read rows, and the audit log says so."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest

from flows.cli import main
from governance.audit import read_entries
from governance.disclosure import DEFAULT_RULES
from tests.conftest import RUN_DATE, grant_user, set_dev_keys, sign_optout

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
FINE = "select age_band, postcode_district, count(*) as n from cohort group by 1, 2"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("analyst")
    data, work = root / "data", root / "work"
    mp = pytest.MonkeyPatch()
    set_dev_keys(work / "keys", mp)
    synth = ["synth", "--people", "800", "--seed", "5", "--out", str(data)]
    assert main([*synth, "--as-of", str(RUN_DATE)]) == 0
    sign_optout(data)
    assert main(["run", "--data-dir", str(data), "--run-date", str(RUN_DATE)]) == 0
    analyst = grant_user(data, work, mp, "analyst", ["service_planning"], "Test Analyst")
    accredited = grant_user(
        data, work, mp, "accredited_analyst", ["service_planning"], "Accredited Analyst"
    )
    yield data, analyst, accredited, root
    mp.undo()


def _query(data, key, sql, *extra):
    return main(["query", sql, "--data-dir", str(data), "--key", str(key), *extra])


def _counts(frame: pl.DataFrame, column: str = "n") -> pl.Series:
    return frame[column].drop_nulls()


def _assert_controlled(counts: pl.Series) -> None:
    assert counts.len() > 0
    assert not counts.is_between(1, DEFAULT_RULES.threshold).any()
    assert (counts % DEFAULT_RULES.rounding == 0).all()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "table"])
def test_every_format_is_disclosure_controlled(world, fmt, tmp_path, capsys):
    data, analyst, _, _ = world
    out = tmp_path / f"result.{fmt}"
    assert _query(data, analyst, FINE, "--format", fmt, "-o", str(out)) == 0
    if fmt == "csv":
        frame = pl.read_csv(out)
    elif fmt == "json":
        frame = pl.DataFrame(json.loads(out.read_text()))
    elif fmt == "parquet":
        frame = pl.read_parquet(out)
    else:
        text = out.read_text()
        cells = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("|")]
        header, *rows = [[c.strip() for c in row] for row in cells]
        rows = [r for r in rows if not set(r[0]) <= {"-", ":"}]
        frame = pl.DataFrame(
            {"n": [None if r[-1] == "null" else int(r[-1]) for r in rows]},
            schema={"n": pl.Int64},
        )
    counts = _counts(frame)
    _assert_controlled(counts)
    assert frame["n"].null_count() > 0  # small cells there were, and they are redacted
    finished = read_entries(data / "audit")[-1]
    assert finished["event"] == "query_finished"
    assert finished["disclosure"]["redacted_primary"] > 0


@pytest.mark.parametrize(
    "sql",
    [
        "select * from cohort",
        "select person_id, count(*) from cohort group by 1",
        "select p, count(*) from (select person_id as p from cohort) group by p",
        "select first_need_date, count(*) from cohort group by 1",
        "select max(need_count) from cohort",
    ],
)
@pytest.mark.parametrize("fmt", ["table", "csv", "json", "parquet"])
def test_row_level_results_are_refused_in_every_format(world, sql, fmt, tmp_path, capsys):
    data, analyst, _, _ = world
    out = tmp_path / "result"
    before = len(read_entries(data / "audit"))
    assert _query(data, analyst, sql, "--format", fmt, "-o", str(out)) == 13
    err = capsys.readouterr().err
    assert "query refused" in err and "Fix:" in err and "Traceback" not in err
    assert not out.exists()
    refused = read_entries(data / "audit")[before:]
    assert [e["event"] for e in refused] == ["query_refused"]
    assert refused[0]["reason"].startswith("SQL01")


def test_the_accredited_analyst_reads_rows_and_the_audit_says_so(world, capsys):
    data, _, accredited, _ = world
    sql = "select person_id, need_count from cohort order by person_id limit 5"
    assert _query(data, accredited, sql, "--format", "csv") == 0
    rows = pl.read_csv(io.StringIO(capsys.readouterr().out))
    assert rows.height == 5 and rows.columns == ["person_id", "need_count"]
    started, finished = read_entries(data / "audit")[-2:]
    assert started["row_level"] is True and started["grant"]["role"] == "accredited_analyst"
    assert finished["rows_returned"] == 5


def test_parquet_needs_a_file_and_an_existing_file_is_kept(world, tmp_path, capsys):
    data, analyst, _, _ = world
    assert _query(data, analyst, FINE, "--format", "parquet") == 2
    kept = tmp_path / "kept.csv"
    kept.write_text("mine\n")
    assert _query(data, analyst, FINE, "--format", "csv", "-o", str(kept)) == 18
    assert kept.read_text() == "mine\n"
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Fix:" in err
