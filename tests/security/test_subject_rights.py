"""Subject access (Article 15) and objection (Article 21) through the real CLI, on a real night.

A demo person's identifiers go in on standard input; the pack must name every zone holding their
records and none of another person's; no typed identifier may appear in any log, audit entry,
artifact or report; an objection removes them from the next cohort, links and pairs.
"""

import io
import re
import shutil
import sys

import polars as pl
import pytest

from flows.cli import main
from flows.config import Zones
from governance import canonical as canon
from governance.audit import read_entries
from tests.browser import chromium, console_errors
from tests.conftest import RUN_DATE, set_dev_keys, sign_optout

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
NEXT_NIGHT = "2026-11-02"


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    root = tmp_path_factory.mktemp("subject")
    data, mp = root / "data", pytest.MonkeyPatch()
    set_dev_keys(root / "keys", mp)
    assert (
        main(
            [
                "synth",
                "--people",
                "2000",
                "--seed",
                "5",
                "--out",
                str(data),
                "--as-of",
                str(RUN_DATE),
            ]
        )
        == 0
    )
    sign_optout(data)
    assert main(["run", "--data-dir", str(data), "--run-date", str(RUN_DATE)]) == 0
    yield data
    mp.undo()


@pytest.fixture
def data(night, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(night, copy, symlinks=True)
    from tests.conftest import keep_operator_head

    keep_operator_head(night, copy)
    return copy


def _person(data):
    """A person the night linked correctly across partners, with their NHS number and name."""
    zones = Zones(data)
    truth = pl.read_parquet(zones.ground_truth)
    links = pl.read_parquet(zones.links).join(truth, on=["partner", "extract", "record_ref"])
    pure = links.group_by("person_id").agg(
        pl.col("person").n_unique().alias("truths"), pl.col("partner").n_unique().alias("n")
    )
    whole = truth.group_by("person").len().rename({"len": "records"})
    linked = links.group_by("person").agg(pl.len().alias("linked"))
    good = (
        links.join(pure.filter((pl.col("truths") == 1) & (pl.col("n") >= 2)), on="person_id")
        .join(whole, on="person")
        .join(linked, on="person")
        .filter((pl.col("records") == pl.col("linked")) & (pl.col("partner") == "nhs"))
    )
    landing = pl.read_parquet(data / "landing" / "nhs" / "ae_attendances.parquet")
    row = (
        good.join(landing, on="record_ref")
        .filter(canon.nhs_number_canonical(pl.col("nhs_number")).is_not_null())
        .sort("record_ref")
        .row(0, named=True)
    )
    given = {
        "nhs_number": row["nhs_number"],
        "forename": row["forename"],
        "surname": row["surname"],
        "dob": row["date_of_birth"],
    }
    refs = set(truth.filter(pl.col("person") == row["person"])["record_ref"].to_list())
    return row["person_id"], given, refs


def _stdin(monkeypatch, given: dict) -> None:
    text = "".join(f"{k}: {v}\n" for k, v in given.items())
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_subject_access_finds_the_person_in_every_zone_and_no_one_else(data, monkeypatch, capsys):
    person_id, given, refs = _person(data)
    _stdin(monkeypatch, given)
    assert main(["ig", "subject-access", "--data-dir", str(data)]) == 0
    pack = capsys.readouterr().out
    for zone in ("landing", "staged", "vault", "published links", "published cohort"):
        assert f"| {zone} |" in pack, zone
    assert person_id in pack
    listed = set(re.findall(r"[A-Z]{2,3}-?[0-9A-Za-z-]{4,}", pack))
    found = {r for r in listed if r in refs}
    assert found, "the pack lists the person's record references"
    zones = Zones(data)
    others = set(pl.read_parquet(zones.ground_truth)["record_ref"].to_list()) - refs
    assert not (listed & others), "a record of someone else is in the pack"
    entry = [e for e in read_entries(data / "audit") if e["event"] == "subject_access"][-1]
    assert "landing" in entry["zones"] and entry["persons"] == 1


def test_no_typed_identifier_appears_in_any_log_audit_entry_artifact_or_report(
    data, monkeypatch, capsys
):
    _, given, _ = _person(data)
    _stdin(monkeypatch, given)
    assert (
        main(
            [
                "ig",
                "subject-access",
                "--data-dir",
                str(data),
                "--out",
                str(data / "reports" / "sar.md"),
            ]
        )
        == 0
    )
    _stdin(monkeypatch, given)
    assert main(["ig", "object", "--data-dir", str(data)]) == 0
    assert main(["audit", "report", "--data-dir", str(data), "--from", "2020-01-01"]) == 0
    assert (
        main(
            ["ig", "register", "--out", str(data / "reports" / "register.html"), "--format", "html"]
        )
        == 0
    )
    said = capsys.readouterr()
    typed = {v for v in given.values() if v} | {v.replace(" ", "") for v in given.values() if v}
    raw_zones = {"landing", "quarantine", "ground_truth", "staged", "vault", "published"}
    scanned = [
        p for p in data.rglob("*") if p.is_file() and p.relative_to(data).parts[0] not in raw_zones
    ]
    assert any(p.name == "audit.jsonl" for p in scanned)
    assert any(p.name == "sar.md" for p in scanned)
    pattern = re.compile("|".join(re.escape(v) for v in sorted(typed, key=len, reverse=True)))
    leaks = [str(p) for p in scanned if pattern.search(p.read_text(errors="replace"))]
    assert leaks == []
    assert not pattern.search(said.out + said.err)


def test_an_objection_removes_the_person_from_the_next_cohort_links_and_pairs(
    data, monkeypatch, capsys
):
    person_id, given, _ = _person(data)
    zones = Zones(data)
    record_keys = pl.read_parquet(zones.links).filter(pl.col("person_id") == person_id)[
        "record_key"
    ]
    _stdin(monkeypatch, given)
    assert main(["ig", "object", "--data-dir", str(data)]) == 0
    assert main(["run", "--data-dir", str(data), "--run-date", NEXT_NIGHT]) == 0
    cohort = pl.read_parquet(zones.cohort)
    links, pairs = pl.read_parquet(zones.links), pl.read_parquet(zones.link_pairs)
    assert person_id not in cohort["person_id"].to_list()
    assert not links["record_key"].is_in(record_keys.implode()).any()
    keys = record_keys.implode()
    assert not (pairs["record_key_l"].is_in(keys) | pairs["record_key_r"].is_in(keys)).any()
    entry = [e for e in read_entries(data / "audit") if e["event"] == "cohort"][-1]
    assert entry["objections"]["persons_removed"] == 1


def test_a_removed_objection_stops_the_build(data, monkeypatch, capsys):
    _, given, _ = _person(data)
    _stdin(monkeypatch, given)
    assert main(["ig", "object", "--data-dir", str(data)]) == 0
    (data / "objections" / "objections.jsonl").write_text("")
    assert main(["run", "--data-dir", str(data), "--run-date", NEXT_NIGHT]) != 0


def test_the_report_loads_in_headless_chromium_withoutconsole_errors(data, tmp_path, capsys):
    """The IG report is one offline page: it loads, shows its sections, logs nothing to the
    console, and the test writes a screenshot (beside the report)."""
    out = tmp_path / "report"
    assert (
        main(
            ["audit", "report", "--data-dir", str(data), "--from", "2020-01-01", "--out", str(out)]
        )
        == 0
    )
    page = next(out.glob("*.html"))
    profile = str(tmp_path / "profile")
    control = tmp_path / "control.html"  # proves console messages would be seen
    control.write_text("<!doctype html><title>c</title><script>console.error('boom')</script>")
    seen = chromium(profile, "--dump-dom", control.as_uri())
    assert console_errors(seen.stderr), "the browser's console output is not captured"
    dom = chromium(profile, "--dump-dom", page.as_uri())
    assert dom.returncode == 0
    for heading in ("Agreements and their status", "Processing by night", "Subject requests"):
        assert heading in dom.stdout
    assert console_errors(dom.stderr) == []
    shot = out / "report.png"
    taken = chromium(profile, f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri())
    assert taken.returncode == 0 and shot.stat().st_size > 10_000
    assert console_errors(taken.stderr) == []


def test_policy_history_lists_the_version_in_force_with_every_signer(data, capsys):
    from governance.policy import load_approved

    _, approval = load_approved("police")
    assert main(["policy", "history", "police", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert approval.sha256[:12] in out and "DSA-POLICE-2026-01" in out
    assert "Example Constabulary DPO (demo approver)" in out
    assert "Example Information Governance Lead (demo approver)" in out


def test_subject_access_finds_a_quarantined_record_of_the_person(data, monkeypatch, capsys):
    """A record held back at quarantine (a bad date, say) is still about the person: the pack
    lists the quarantine zone for them."""
    truth = pl.read_parquet(Zones(data).ground_truth)
    held = pl.concat(
        [
            pl.read_parquet(f).select(
                "record_ref", "nhs_number", "forename", "surname", "date_of_birth"
            )
            for f in sorted((data / "quarantine").rglob("*.parquet"))
            if {"nhs_number", "date_of_birth"} <= set(pl.read_parquet_schema(f))
        ],
        how="vertical_relaxed",
    ).filter(
        canon.nhs_number_canonical(pl.col("nhs_number")).is_not_null()
        & pl.col("date_of_birth").str.contains(r"^\d{4}-\d{2}-\d{2}$")
    )
    row = held.join(truth, on="record_ref").sort("record_ref").row(0, named=True)
    _stdin(
        monkeypatch,
        {
            "nhs_number": row["nhs_number"],
            "forename": row["forename"],
            "surname": row["surname"],
            "dob": row["date_of_birth"],
        },
    )
    assert main(["ig", "subject-access", "--data-dir", str(data)]) == 0
    pack = capsys.readouterr().out
    assert "| quarantine |" in pack
    assert row["record_ref"] in pack
