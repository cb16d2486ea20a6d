"""The cohort history (a Delta Lake table): snapshots by date and framework version, a person
removed by an opt-out or objection gone from every snapshot and from every file and log entry
(no time travel brings them back), retention, and diffs matched on records."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from deltalake import DeltaTable

from flows import history
from flows.errors import NothingThere
from governance.disclosure import DEFAULT_RULES
from schemas.cohort import COLUMN_NAMES, NEEDS
from transforms.framework import load

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


def _cohort(people: dict[str, list[str]]) -> pl.DataFrame:
    """person_id -> flagged needs, as cohort rows (everyone in the cohort)."""
    rows = []
    for pid, needs in people.items():
        row = {c: None for c in COLUMN_NAMES}
        row |= {f"need_{n}": n in needs for n in NEEDS}
        row |= {"person_id": pid, "need_count": len(needs), "mcn_flag": len(needs) >= 2}
        row |= {"n_records": 1, "n_partners": 1, "partners": "x"}
        rows.append(row)
    return pl.DataFrame(rows).with_columns(
        pl.col("first_need_date", "last_need_date").cast(pl.Date),
        pl.col("age_band", "sex", "postcode_district").cast(pl.String),
        pl.col("link_rank").cast(pl.Int64),
    )


def _links(members: dict[str, list[str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"person_id": p, "record_key": r} for p, recs in members.items() for r in recs]
    )


NONE = pl.DataFrame(schema={"person_id": pl.String, "record_key": pl.String})
TWO = ["homelessness", "offending"]


@pytest.fixture
def two_nights(tmp_path):
    path = tmp_path / "history"
    fw = load()
    oct_people = {"p-ann": TWO, "p-bob": TWO, "p-cat": [*TWO, "mental_health"], "p-dan": TWO}
    oct_links = {"p-ann": ["r1"], "p-bob": ["r2"], "p-cat": ["r3"], "p-dan": ["r4"]}
    history.record(path, "run-oct", OCT, {fw: _cohort(oct_people)}, _links(oct_links), NONE, None)
    # November: ann stays with a new record that changed her person_id, bob left, cat lost a
    # need, eve entered; dan stays
    nov_people = {"p-ann2": TWO, "p-cat": TWO, "p-dan": TWO, "p-eve": TWO}
    nov_links = {"p-ann2": ["r0", "r1"], "p-cat": ["r3"], "p-dan": ["r4"], "p-eve": ["r5"]}
    history.record(path, "run-nov", NOV, {fw: _cohort(nov_people)}, _links(nov_links), NONE, None)
    return path


def test_snapshots_by_date_and_a_diff_matched_on_records(two_nights):
    rows = history.read(two_nights)
    assert rows.height == 8 and set(rows["snapshot_date"]) == {OCT, NOV}
    before = history.snapshot(rows, OCT.isoformat(), None)
    after = history.snapshot(rows, NOV.isoformat(), None)
    found = history.diff(before, after)
    moved = dict(found.movement.iter_rows())
    assert moved == {"entered": 1, "left": 1, "stayed": 3}  # ann's new id is not an entry
    lost = found.needs.filter(pl.col("persons") > 0).rows()
    assert lost == [("mental_health", "lost", 1)]
    assert set(found.rows.rows()) == {
        ("p-eve", "entered"),
        ("p-bob", "left"),
        ("p-cat", "lost:mental_health"),
    }
    movement, needs = history.controlled(found, DEFAULT_RULES)
    shown = movement.published["persons"].drop_nulls()
    assert not shown.is_between(1, DEFAULT_RULES.threshold).any()
    assert movement.published["persons"].null_count() >= 2  # entered 1, left 1: redacted


def test_a_night_built_again_replaces_its_snapshot(two_nights):
    fw = load()
    again = {"p-dan": TWO}
    history.record(
        two_nights, "run-nov-2", NOV, {fw: _cohort(again)}, _links({"p-dan": ["r4"]}), NONE, None
    )
    rows = history.read(two_nights)
    assert rows.filter(pl.col("snapshot_date") == NOV)["person_id"].to_list() == ["p-dan"]
    assert rows.filter(pl.col("snapshot_date") == OCT).height == 4


def test_an_opted_out_person_leaves_every_snapshot_file_and_log(two_nights):
    fw = load()
    # tonight dan is removed by an opt-out (his record r4, under tonight's person_id)
    removed = pl.DataFrame({"person_id": ["p-dan-tonight"], "record_key": ["r4"]})
    nov_people = {"p-ann2": TWO, "p-eve": TWO}
    links = _links({"p-ann2": ["r0", "r1"], "p-eve": ["r5"]})
    dec = dt.date(2026, 12, 1)
    out = history.record(
        two_nights, "run-dec", dec, {fw: _cohort(nov_people)}, links, removed, None
    )
    assert out["rows_deleted_opted_out"] == 2  # October and November
    assert "p-dan" not in history.read(two_nights)["person_id"].to_list()
    # no file of the table, data or log, holds his id any more
    for f in two_nights.rglob("*"):
        if f.is_file():
            assert b"p-dan" not in f.read_bytes(), f.name
    # and time travel cannot bring him back: older versions are gone with their files
    table = DeltaTable(str(two_nights))
    for version in range(table.version()):
        try:
            old = pl.read_delta(str(two_nights), version=version)
        except Exception:  # noqa: BLE001 - the version's files or log are gone: as intended
            continue
        assert "p-dan" not in old["person_id"].to_list(), version


def test_rows_past_the_agreements_retention_are_deleted(two_nights):
    fw = load()
    dec = dt.date(2026, 12, 1)
    out = history.record(
        two_nights,
        "run-dec",
        dec,
        {fw: _cohort({"p-eve": TWO})},
        _links({"p-eve": ["r5"]}),
        NONE,
        45,
    )
    assert out["rows_deleted_retention"] == 4
    assert set(history.read(two_nights)["snapshot_date"]) == {NOV, dec}


def test_snapshots_by_framework_version_and_clear_errors(two_nights):
    rows = history.read(two_nights)
    version = load().version
    assert history.snapshot(rows, version, None).rows["snapshot_date"].unique().to_list() == [NOV]
    with pytest.raises(NothingThere, match="Snapshots: 2026-10-01, 2026-11-01"):
        history.snapshot(rows, "2026-09-01", None)
    with pytest.raises(NothingThere, match="no snapshot of"):
        history.snapshot(rows, "changing-futures@000000000000", None)
    with pytest.raises(Exception, match="neither a date"):
        history.snapshot(rows, "yesterday", None)
