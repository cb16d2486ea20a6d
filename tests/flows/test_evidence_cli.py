"""`mcn costs`, `mcn impact`, `mcn business-case` end to end, on one shared night: the service
use published beside the cohort, the intervention list ingested by the nightly flow under its
own agreement, every output format disclosure-controlled and audited, the workbook labelled."""

from __future__ import annotations

import json

import polars as pl
import pytest

from flows.cli import main
from flows.config import Zones
from governance.audit import read_entries
from governance.disclosure import DEFAULT_RULES
from tests.conftest import RUN_DATE, grant_user, set_dev_keys, sign_optout

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from flows.partners.interventions import demo_starts, write_drop

    root = tmp_path_factory.mktemp("evidence")
    data, work = root / "data", root / "work"
    mp = pytest.MonkeyPatch()
    set_dev_keys(work / "keys", mp)
    synth = ["synth", "--people", "2500", "--seed", "7", "--out", str(data)]
    assert main([*synth, "--as-of", str(RUN_DATE)]) == 0
    sign_optout(data)
    run = ["run", "--data-dir", str(data), "--run-date", str(RUN_DATE)]
    assert main(run) == 0
    zones = Zones(data)
    cohort, use = pl.read_parquet(zones.cohort), pl.read_parquet(zones.service_use)
    write_drop(zones.landing, demo_starts(cohort, use, 6, 1.0, 7), RUN_DATE)
    assert main(run) == 0  # the second night ingests the list too
    analyst = grant_user(data, work, mp, "analyst", ["service_planning"], "Test Analyst")
    yield data, analyst, root
    mp.undo()


def _run(world, *args) -> int:
    data, analyst, _ = world
    return main([*args, "--data-dir", str(data), "--key", str(analyst)])


def _people_controlled(values) -> None:
    values = [v for v in values if v is not None]
    assert values
    assert not any(1 <= v <= DEFAULT_RULES.threshold for v in values)
    assert all(v % DEFAULT_RULES.rounding == 0 for v in values)


def test_service_use_is_published_beside_the_cohort_for_linked_people_only(world):
    zones = Zones(world[0])
    use, cohort = pl.read_parquet(zones.service_use), pl.read_parquet(zones.cohort)
    assert use.height > 100 and use["events"].min() >= 1
    assert set(use["person_id"]) <= set(cohort["person_id"])
    ingests = [e for e in read_entries(zones.audit) if e["event"] == "ingest"]
    assert any(e["partner"] == "interventions" for e in ingests)  # under its own agreement


def test_costs_in_json_are_controlled_labelled_and_audited(world, tmp_path):
    out = tmp_path / "costs.json"
    assert _run(world, "costs", "--format", "json", "-o", str(out)) == 0
    doc = json.loads(out.read_text())
    assert "ILLUSTRATIVE" in doc["labels"]["illustrative"]
    for rows in doc["tables"].values():
        _people_controlled([r["people"] for r in rows])
        assert all(r["total_cost"] is None or r["total_cost"] % 1000 == 0 for r in rows)
    assert any(r["people"] is None for r in doc["tables"]["need_combination"])
    last = read_entries(world[0] / "audit")[-1]
    assert last["event"] == "evidence_output" and last["output"] == "costs"


def test_impact_never_shows_the_before_after_without_the_comparison(world, tmp_path):
    out = tmp_path / "impact.json"
    assert _run(world, "impact", "--format", "json", "-o", str(out)) == 0
    doc = json.loads(out.read_text())
    total = doc["all_agencies"]
    _people_controlled([total["supported"], total["comparison_people"]])
    if "naive_before_after_per_person_month" in total:
        assert isinstance(total["did_per_person_month"], int | float)
        assert len(total["ci"]) == 2 and "not an effect" in total["naive_warning"]
    csv_out = tmp_path / "impact.csv"
    assert _run(world, "impact", "--format", "csv", "-o", str(csv_out)) == 0
    assert csv_out.read_text().startswith("measure,all agencies")


def test_the_workbook_is_labelled_and_every_people_count_controlled(world, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "case.xlsx"
    assert _run(world, "business-case", "--format", "xlsx", "-o", str(out)) == 0
    book = load_workbook(out)
    assert {"Read me", "Cost by agency", "Impact", "Business case"} <= set(book.sheetnames)
    assert all(
        "ILLUSTRATIVE" in str(book[s]["A1"].value or book[s]["A2"].value)
        for s in book.sheetnames
        if s != "Read me"
    )
    readme = [r for r in book["Read me"].iter_rows(values_only=True)]
    assert any(r[0] == "discount_rate" and r[1] == 0.035 for r in readme)
    sheet = book["Cost by need combination"]
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "need_combination")
    people = [r[1] for r in rows[header + 1 :]]
    assert "redacted" in people
    _people_controlled([p for p in people if p != "redacted"])
    assert _run(world, "business-case", "--format", "xlsx", "-o", str(out)) == 18  # kept


def test_no_grant_no_figures(world, tmp_path):
    from governance.signing import keygen

    stranger, _ = keygen("Stranger", tmp_path, kind="u")
    data = world[0]
    code = main(["costs", "--data-dir", str(data), "--key", str(stranger)])
    assert code == 12
    assert read_entries(data / "audit")[-1]["event"] == "evidence_refused"
