"""Two demo nights a month apart (`mcn synth --as-of`, `--events-until`), each built under two
needs frameworks with `mcn cohort build`: the frameworks give different cohorts, the history
holds both nights, and `mcn cohort diff` lists entries and exits as controlled counts (rows for
the accredited analyst only, audited). One shared run for the module; no Prefect server (the
ingest functions are called directly, as the partner-template test does)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from flows import history
from flows.cli import main
from flows.config import Zones
from flows.ingest import ingest_partner
from governance.audit import read_entries
from governance.disclosure import DEFAULT_RULES
from schemas.registry import partner_names
from tests.conftest import grant_user, set_dev_keys, sign_optout

pytestmark = pytest.mark.slow
OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
FRAMEWORKS = ["--framework", "mcn-default", "--framework", "changing-futures"]


def _night(data, as_of: dt.date, force: bool) -> None:
    synth = ["synth", "--people", "800", "--seed", "1", "--out", str(data)]
    synth += ["--as-of", str(as_of), "--events-until", str(NOV)] + (["--force"] if force else [])
    assert main(synth) == 0
    sign_optout(data)
    for name in partner_names():
        ingest_partner(name, str(data), as_of, f"night-{as_of}", data_docs=False)
    build = ["cohort", "build", "--as-of", str(as_of), "--data-dir", str(data), *FRAMEWORKS]
    assert main(build) == 0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    data, work = root / "data", root / "work"
    mp = pytest.MonkeyPatch()
    set_dev_keys(work / "keys", mp)
    _night(data, OCT, force=False)
    _night(data, NOV, force=True)
    analyst = grant_user(data, work, mp, "analyst", ["service_planning"], "Test Analyst")
    accredited = grant_user(
        data, work, mp, "accredited_analyst", ["service_planning"], "Accredited Analyst"
    )
    yield data, analyst, accredited
    mp.undo()


def _diff(data, key, *extra):
    return main(["cohort", "diff", "--data-dir", str(data), "--key", str(key), *extra])


def test_two_frameworks_give_two_cohorts_on_the_same_night(world):
    data, _, _ = world
    zones = Zones(data)
    default = pl.read_parquet(zones.cohort)
    changing = pl.read_parquet(zones.current / "cohort_changing_futures.parquet")
    assert default.height == changing.height  # the same linked persons
    a = set(default.filter("mcn_flag")["person_id"])
    b = set(changing.filter("mcn_flag")["person_id"])
    assert a and b and a != b
    rows = history.read(zones.history)
    per = rows.group_by("snapshot_date", "framework").len()
    assert per.height == 4  # two nights x two frameworks
    assert set(rows["framework_version"].str.split("@").list.first()) == {
        "mcn-default",
        "changing-futures",
    }


def test_the_diff_between_two_nights_matches_the_ground_truth(world):
    data, _, _ = world
    zones = Zones(data)
    rows = history.read(zones.history)
    found = history.diff(
        history.snapshot(rows, str(OCT), None), history.snapshot(rows, str(NOV), None)
    )
    moved = dict(found.movement.iter_rows())
    assert moved["entered"] > 0 and moved["left"] > 0 and moved["stayed"] > 0
    # the same count from the synthetic truth: the true person behind each history row
    truth = pl.read_parquet(zones.ground_truth).select("partner", "extract", "record_ref", "person")
    sets = sorted(p for p in zones.published.iterdir() if p.is_dir() and not p.is_symlink())
    people = []
    for folder, day in zip(sets, (OCT, NOV), strict=True):
        links = pl.read_parquet(folder / "links.parquet").join(
            truth, on=["partner", "extract", "record_ref"]
        )
        snap = history.snapshot(rows, str(day), None).rows.select("person_id")
        people.append(set(snap.join(links, on="person_id")["person"]))
    before, after = people
    assert abs(moved["entered"] - len(after - before)) <= 1
    assert abs(moved["left"] - len(before - after)) <= 1


def test_an_analyst_gets_controlled_counts_and_no_rows(world, capsys, tmp_path):
    data, analyst, _ = world
    out = tmp_path / "diff.json"
    assert _diff(data, analyst, "--from", str(OCT), "--to", str(NOV), "--json", "-o", str(out)) == 0
    answer = json.loads(out.read_text())
    counts = [r["persons"] for r in answer["movement"] + answer["needs"]]
    shown = [c for c in counts if c is not None]
    assert shown and all(c == 0 or c > DEFAULT_RULES.threshold for c in shown)
    assert all(c % DEFAULT_RULES.rounding == 0 for c in shown)
    entry = read_entries(data / "audit")[-1]
    assert entry["event"] == "query_finished" and entry["what"] == "cohort_diff"
    assert "disclosure" in entry
    capsys.readouterr()
    assert _diff(data, analyst, "--from", str(OCT), "--to", str(NOV), "--rows") != 0
    err = capsys.readouterr().err
    assert "SQL016" in err and "Traceback" not in err
    assert read_entries(data / "audit")[-1]["event"] == "query_refused"


def test_an_accredited_analyst_lists_persons_audited(world, capsys):
    data, _, accredited = world
    capsys.readouterr()
    assert _diff(data, accredited, "--from", str(OCT), "--to", str(NOV), "--rows") == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "person_id,change"
    changes = {line.split(",")[1] for line in listed[1:]}
    assert {"entered", "left"} <= changes
    entry = read_entries(data / "audit")[-1]
    assert entry["row_level"] is True and entry["rows_returned"] == len(listed) - 1


def test_two_framework_versions_compare_on_one_night(world, capsys):
    data, analyst, _ = world
    rows = history.read(Zones(data).history)
    versions = sorted(set(rows["framework_version"]))
    capsys.readouterr()
    assert _diff(data, analyst, "--from", versions[1], "--to", versions[0]) == 0
    text = capsys.readouterr().out
    assert "mcn-default@" in text and "changing-futures@" in text and "| left |" in text


BY_AGE = "select age_band, count(*) as n from cohort group by 1"
# the same table less one person: every cell it moves, moves by one
LESS_ONE = (
    "select age_band, count(*) as n from cohort "
    "where person_id <> (select min(person_id) from cohort) group by 1"
)


def test_publish_checks_records_and_refuses_a_differencing_attack(world, tmp_path, capsys):
    from flows.publication import verify_record

    data, analyst, _ = world
    approver = data.parent / "work" / "approver-keys" / "test-ig-officer.key"
    out = tmp_path / "pub"
    common = ["--data-dir", str(data), "--key", str(analyst), "--approver-key", str(approver)]
    assert main(["publish", "by_age", BY_AGE, *common, "--out", str(out)]) == 0
    record = json.loads((out / "by_age.output-check.json").read_text())
    assert record["status"] == "approved" and record["approver"] == "Test IG officer"
    assert verify_record(record)
    assert not verify_record({**record, "redacted_primary": 0})  # the signature binds it
    assert "Output check: by_age" in (out / "by_age.output-check.md").read_text()
    published = pl.read_csv(out / "by_age.csv")["n"].drop_nulls()
    assert published.len() and (published % DEFAULT_RULES.rounding == 0).all()
    entry = read_entries(data / "audit")[-1]
    assert entry["event"] == "publication" and entry["exact"]
    # the next publication of the same table, one person fewer: refused, nothing written
    capsys.readouterr()
    again = tmp_path / "again"
    assert main(["publish", "by_age", LESS_ONE, *common, "--out", str(again)]) != 0
    err = capsys.readouterr().err
    assert "subtraction" in err and "Traceback" not in err
    assert not again.exists()
    refused = read_entries(data / "audit")[-1]
    assert refused["event"] == "publication_refused"
    assert "differencing" in refused["record"]["rules_fired"]
    # an approver who is not trusted cannot approve
    from governance.signing import keygen

    stranger, _ = keygen("Stranger", tmp_path / "stranger")
    bad = [*common[:-1], str(stranger)]
    assert main(["publish", "other", BY_AGE, *bad, "--out", str(again)]) != 0
    assert "not a trusted IG approver" in capsys.readouterr().err


def test_the_board_report_renders_in_headless_chromium(world, tmp_path):
    """`mcn report`: one offline folder; Chromium loads it with no console message, every
    chart is laid out (the page marks each figure), a screenshot is written; every figure
    names its framework version."""
    from tests.browser import chromium, console_errors

    data, _, _ = world
    out = tmp_path / "report"
    assert main(["report", "--data-dir", str(data), "--on", str(NOV), "--out", str(out)]) == 0
    page = out / "index.html"
    text = page.read_text()
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text
    figures = json.loads((out / "figures.json").read_text())
    expected = {"size-over-time", "overlap-mcn-default", "overlap-changing-futures"}
    expected |= {"by-age-band", "by-sex", "by-postcode-district", "entries-exits"}
    assert expected | {"freshness", "linkage"} == set(figures)
    rows = history.read(Zones(data).history)
    for version in set(rows["framework_version"]):
        assert version in text
    profile = str(tmp_path / "profile")
    dom = chromium(profile, "--dump-dom", page.as_uri())
    assert dom.returncode == 0 and 'data-ready="yes"' in dom.stdout
    for fig in figures:
        assert f'id="{fig}" data-rendered="yes"' in dom.stdout, fig
    assert console_errors(dom.stderr) == []
    shot = out / "report.png"
    taken = chromium(profile, f"--screenshot={shot}", "--window-size=1400,3000", page.as_uri())
    assert taken.returncode == 0 and shot.stat().st_size > 10_000
    assert console_errors(taken.stderr) == []


def test_each_frameworks_cohort_is_registered_for_analysts(world, tmp_path):
    data, analyst, _ = world
    out = tmp_path / "cf.csv"
    sql = "select need_count, count(*) as n from cohort_changing_futures group by 1"
    args = ["query", sql, "--data-dir", str(data), "--key", str(analyst)]
    assert main([*args, "--format", "csv", "-o", str(out)]) == 0
    counts = pl.read_csv(out)["n"].drop_nulls()
    assert counts.len() and (counts % DEFAULT_RULES.rounding == 0).all()
    # not a catalogue of files: an unregistered name is still refused
    assert (
        main(
            [
                "query",
                "select count(*) from cohort_nothing",
                "--data-dir",
                str(data),
                "--key",
                str(analyst),
            ]
        )
        != 0
    )
