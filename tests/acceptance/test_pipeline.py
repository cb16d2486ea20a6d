"""Acceptance: the whole pipeline on synthetic data, judged against the ground truth."""

import datetime as dt
import json
import re
import shutil

import polars as pl
import pytest
import yaml

from flows.cli import main
from flows.cohort_build import build_context, evaluate_links, load_staged, records_frame
from flows.config import Zones
from flows.nightly import nightly
from flows.synth import synthesise
from governance.policy import POLICY_DIR
from schemas.cohort import DEFAULT_LOOKBACK_DAYS
from schemas.registry import partner
from tests.conftest import RUN_DATE, grant_user, set_dev_keys, sign_optout
from transforms import framework
from transforms.cohort import cohort_table
from transforms.needs import need_events

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def zones(tmp_path_factory):
    root = tmp_path_factory.mktemp("acceptance")
    synthesise(8000, 5, root, RUN_DATE)
    sign_optout(root)
    mp = pytest.MonkeyPatch()
    work = root.parent / f"{root.name}-keys"
    set_dev_keys(work, mp)
    nightly(data_dir=str(root), run_date=RUN_DATE)
    USERS["analyst"] = grant_user(root, work, mp, "analyst", ["service_planning"], "Test Analyst")
    USERS["worker"] = grant_user(root, work, mp, "mcn_caseworker", ["safeguarding"], "Test Worker")
    yield Zones(root)
    mp.undo()


USERS: dict = {}


@pytest.fixture(scope="module")
def realistic_zones(tmp_path_factory):
    """The same pipeline on the realistic noise model (no fixed abode, missing DOBs, aliases,
    titles, typos anywhere, twins and namesakes)."""
    root = tmp_path_factory.mktemp("acceptance-realistic")
    synthesise(8000, 5, root, RUN_DATE, noise="realistic")
    sign_optout(root)
    mp = pytest.MonkeyPatch()
    set_dev_keys(root.parent / f"{root.name}-keys", mp)
    try:
        nightly(data_dir=str(root), run_date=RUN_DATE)
    finally:
        mp.undo()  # the other fixture's keys are back for the tests that use them
    return Zones(root)


def test_linkage_against_ground_truth(zones):
    q = evaluate_links(zones.links, zones.ground_truth)
    assert q["precision"] >= 0.995 and q["recall"] >= 0.99 and q["f1"] >= 0.995
    assert q["cluster_precision"] >= 0.98


def test_linkage_on_realistic_noise_against_ground_truth(realistic_zones):
    q = evaluate_links(realistic_zones.links, realistic_zones.ground_truth)
    assert q["precision"] >= 0.97 and q["recall"] >= 0.93 and q["f1"] >= 0.95


def test_run_reports_the_fitted_model_and_its_chart(zones):
    summary = json.loads(next(zones.runs.glob("*/cohort.json")).read_text())
    model = summary["linkage"]["model"]
    assert 0.5 <= model["threshold"] < 1 and 0 < model["expected"]["precision"] <= 1
    chart = summary["linkage_chart_path"]
    assert chart.endswith(".svg") and "<svg" in open(chart).read()


def test_every_check_in_the_committed_list_ran_on_every_extract(zones):
    """No check was dropped: what the night recorded per extract (GX results of both suites and
    the row rules the quarantine evaluated) is exactly tests/data/checks_per_extract.json."""
    from tests.check_list import committed

    ran = {}
    for path in zones.runs.glob("*/checks.*.json"):
        report = json.loads(path.read_text())
        ran[path.name.removeprefix("checks.").removesuffix(".json").replace(".", "/", 1)] = {
            "raw_expectations": sorted(s["check"] for s in report["raw"]),
            "row_rules": sorted(report["row_rules"]),
            "staged_expectations": sorted(s["check"] for s in report["staged"]),
        }
    # the night ingests every partner; a list (the intervention list) only when one is dropped
    from schemas.registry import partner_names

    expected = {k: v for k, v in committed().items() if k.split("/")[0] in partner_names()}
    expected |= {k: v for k, v in committed().items() if k in ran}
    assert ran == expected


def test_every_link_explains_itself_without_values(zones):
    pairs = pl.read_parquet(zones.link_pairs)
    assert set(pairs.columns) == {
        "record_key_l",
        "record_key_r",
        "rule",
        "match_weight",
        "match_probability",
    }
    scored = pairs.filter(pl.col("rule") == "fs")
    summary = json.loads(next(zones.runs.glob("*/cohort.json")).read_text())
    threshold = summary["linkage"]["model"]["threshold"]
    assert scored.height > 0 and (scored["match_probability"] >= threshold).all()
    assert pairs.filter(pl.col("rule") != "fs")["match_weight"].is_null().all()
    links = pl.read_parquet(zones.links)
    assert links["link_rule"].drop_nulls().is_in(pairs["rule"].unique().implode()).all()


def test_cohort_matches_the_cohort_true_identities_would_give(zones):
    ctx = build_context(zones, RUN_DATE)
    staged = load_staged(zones, ctx.bindings, ctx.key)
    records = records_frame(staged)
    default = framework.load()
    events = need_events({k: v.lazy() for k, v in staged.items()}, RUN_DATE, default.rules())
    truth = pl.read_parquet(zones.ground_truth)
    true_links = records.join(truth, on=["partner", "extract", "record_ref"]).select(
        "record_key", pl.col("person").alias("person_id"), pl.lit(None, pl.Int8).alias("link_rank")
    )
    expected = cohort_table(records.lazy(), true_links.lazy(), events, default.threshold).collect()
    got = pl.read_parquet(zones.cohort)
    assert expected["mcn_flag"].sum() > 50
    assert (
        abs(got["mcn_flag"].sum() - expected["mcn_flag"].sum()) <= 0.05 * expected["mcn_flag"].sum()
    )
    # every truly-MCN person's records should mostly sit in a flagged linked person
    links = pl.read_parquet(zones.links)
    flagged = got.filter("mcn_flag").select("person_id")
    true_mcn = expected.filter("mcn_flag").select(pl.col("person_id").alias("person"))
    rec = (
        links.join(truth, on=["partner", "extract", "record_ref"])
        .join(true_mcn, on="person")
        .join(flagged, on="person_id", how="semi")
    )
    found = rec["person"].n_unique() / true_mcn.height
    assert found >= 0.95


def test_probation_needs_match_the_ground_truth(zones):
    """Every need a probation record flags is a need its true person has, and a probation
    record inside the lookback flags each need its person truly has that probation assesses."""
    ctx = build_context(zones, RUN_DATE)
    staged = load_staged(zones, ctx.bindings, ctx.key)
    probation = {k: v for k, v in staged.items() if k[0] == "probation"}
    assert probation, "probation was not staged"
    rules = framework.load().rules()
    events = need_events({k: v.lazy() for k, v in probation.items()}, RUN_DATE, rules).collect()
    truth = pl.read_parquet(zones.ground_truth)
    people = pl.read_parquet(zones.true_needs)
    records = records_frame(probation).join(truth, on=["partner", "extract", "record_ref"])
    flagged = events.join(records, on="record_key").join(people, on="person")
    assert set(flagged["need"]) == {"offending", "homelessness", "substance_misuse"}
    for need in ("offending", "homelessness", "substance_misuse"):
        rows = flagged.filter(pl.col("need") == need)
        assert rows.height > 20 and rows[f"need_{need}"].all(), need
    start = RUN_DATE - dt.timedelta(days=DEFAULT_LOOKBACK_DAYS)
    inside = records.filter(pl.col("event_date").is_between(start, RUN_DATE)).join(
        people, on="person"
    )
    for need in ("offending", "homelessness", "substance_misuse"):
        expected = inside.filter(pl.col(f"need_{need}"))["record_key"]
        got = flagged.filter(pl.col("need") == need)["record_key"]
        assert expected.is_in(got.implode()).mean() >= 0.97, need


def test_query_prints_a_table(zones, capsys):
    code = main(
        [
            "query",
            "select need_count, count(*) as persons from cohort group by 1 order by 1",
            "--data-dir",
            str(zones.root),
            "--key",
            str(USERS["analyst"]),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "| need_count | persons |" in out and "| Total" in out
    counts = [line.split("|")[2].strip() for line in out.splitlines() if line.startswith("| ")]
    numbers = [int(c) for c in counts[1:] if c.isdigit()]  # the analyst's counts, controlled
    assert numbers and all(n % 5 == 0 and not 1 <= n <= 7 for n in numbers)


def test_query_without_a_cohort_is_a_clear_error(tmp_path, capsys):
    assert main(["query", "select 1", "--data-dir", str(tmp_path)]) == 9
    assert "mcn run" in capsys.readouterr().err


def test_broken_policy_gives_a_clear_error_and_exit_code(tmp_path, capsys):
    shutil.copytree(POLICY_DIR, tmp_path / "p")
    path = tmp_path / "p" / "police.yaml"
    data = yaml.safe_load(path.read_text())
    data["extracts"]["crimes"]["shoe_size"] = "keep"
    data["extracts"]["crimes"]["role"] = None
    path.write_text(yaml.safe_dump(data))
    assert main(["policy", "check", "--policy-dir", str(tmp_path / "p")]) == 4
    captured = capsys.readouterr()
    out = captured.out
    assert "POL012" in out and "extracts.crimes.shoe_size" in out and "extracts.crimes.role" in out
    assert "POL031" in out  # and the edit broke the signed approval
    assert "3 problem(s)" in captured.err


def test_linkage_score_prints_precision_and_recall(zones, capsys):
    assert main(["linkage", "score", "--data-dir", str(zones.root)]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "recall" in out and "F1" in out


def test_opt_out_removes_exactly_the_listed_numbers_records(zones):
    from governance import canonical as canon

    listed = pl.read_csv(zones.optout / "nhs_numbers.csv", infer_schema=False)["nhs_number"]
    links = pl.read_parquet(zones.links)
    quarantined = pl.concat(
        [
            pl.read_parquet(f).select("record_ref")
            for f in (zones.quarantine / "nhs").rglob("*.parquet")
        ]
    )["record_ref"]
    for ex in partner("nhs").extracts:
        raw = pl.read_parquet(zones.landing / "nhs" / ex.file).with_columns(
            canon.nhs_number_canonical(pl.col("nhs_number")).alias("nhs")
        )
        on_list = raw.filter(pl.col("nhs").is_in(listed.implode()))["record_ref"]
        staged = links.filter(pl.col("extract") == ex.name)["record_ref"]
        assert on_list.len() > 0 and not on_list.is_in(staged.implode()).any()
        others = raw.filter(~pl.col("nhs").is_in(listed.implode()).fill_null(False))
        expected = others.filter(~pl.col("record_ref").is_in(quarantined.implode()))["record_ref"]
        assert staged.is_in(expected.implode()).all()
        # what else is gone belongs to a person linked to a listed number (opt-out at build)
        missing = expected.filter(~expected.is_in(staged.implode()))
        truth = pl.read_parquet(zones.ground_truth)
        opted = truth.join(
            raw.filter(pl.col("nhs").is_in(listed.implode())).select("record_ref"),
            on="record_ref",
        ).filter(pl.col("partner") == "nhs", pl.col("extract") == ex.name)["person"]
        owners = truth.filter(
            pl.col("partner") == "nhs",
            pl.col("extract") == ex.name,
            pl.col("record_ref").is_in(missing.implode()),
        )["person"]
        assert owners.is_in(opted.implode()).mean() >= 0.95 if owners.len() else True


def test_reidentify_opens_only_what_is_allowed_and_audits_without_identity(zones, capsys):
    from governance.audit import read_entries

    cohort = pl.read_parquet(zones.cohort)
    person = cohort.filter(pl.col("n_partners") >= 2)["person_id"][0]
    args = ["reidentify", "--data-dir", str(zones.root), "--person-id", person]
    args += ["--key", str(USERS["worker"])]
    ok = main([*args, "--purpose", "safeguarding"])
    out = capsys.readouterr().out
    assert ok == 0 and "record_ref" in out and "surname" in out
    assert main([*args, "--role", "analyst", "--purpose", "curiosity"]) == 12
    entries = read_entries(zones.audit)
    events = [e for e in entries if e["event"].startswith("reidentify")]
    assert [e["event"] for e in events][-2:] == ["reidentify", "reidentify_refused"]
    names = {line.split()[4] for line in out.splitlines()[2:] if len(line.split()) > 5}
    # Whole words, any case: a surname such as "Reid" is inside the event name "reidentify".
    logged = json.dumps(events)
    shown = [
        n for n in names if re.search(rf"(?<![0-9a-z]){re.escape(n)}(?![0-9a-z])", logged, re.I)
    ]
    assert names and not shown


def test_reidentify_without_the_vault_key_reverses_nothing(zones, monkeypatch, capsys):
    from governance.vault import ENV_VAULT_KEY_FILE

    monkeypatch.delenv(ENV_VAULT_KEY_FILE)
    person = pl.read_parquet(zones.cohort)["person_id"][0]
    code = main(
        [
            "reidentify",
            "--data-dir",
            str(zones.root),
            "--person-id",
            person,
            "--key",
            str(USERS["worker"]),
            "--purpose",
            "safeguarding",
        ]
    )
    assert code == 12 and ENV_VAULT_KEY_FILE in capsys.readouterr().err
    from governance.audit import read_entries

    last = read_entries(zones.audit)[-1]
    assert last["event"] == "reidentify_refused" and last["reason"] == "R04"


def test_audit_verifies_and_names_a_flipped_entry(zones, tmp_path, capsys):
    copy = tmp_path / "data"
    shutil.copytree(zones.audit, copy / "audit")
    assert main(["audit", "verify", "--data-dir", str(copy)]) == 0
    lines = (copy / "audit" / "audit.jsonl").read_text().splitlines()
    entry = json.loads(lines[2])
    entry["rows_staged"] = entry.get("rows_staged", 0) + 1
    lines[2] = json.dumps(entry, sort_keys=True)
    (copy / "audit" / "audit.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["audit", "verify", "--data-dir", str(copy)]) == 10
    assert "entry 2 (line 3)" in capsys.readouterr().err


def test_audit_report_records_processing_without_row_values(zones, tmp_path):
    assert (
        main(
            [
                "audit",
                "report",
                "--data-dir",
                str(zones.root),
                "--from",
                "2000-01-01",
                "--to",
                "2100-01-01",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    md = next(tmp_path.glob("*.md")).read_text()
    page = next(tmp_path.glob("*.html")).read_text()
    assert "Audit log verified" in md and "DSA-NHS-2026-01" in md and "<table>" in page
    raw = pl.read_csv(zones.landing / "police" / "crimes.csv", infer_schema=False)
    surnames = set(raw["surname"].drop_nulls().str.strip_chars()) - {""}
    assert not any(f" {s} " in md or f">{s}<" in page for s in surnames)


def test_retention_deletes_what_is_too_old_with_receipts(zones, tmp_path, capsys):
    from governance.audit import read_entries

    copy = tmp_path / "data"
    shutil.copytree(zones.root, copy, symlinks=True)
    args = ["retention", "apply", "--data-dir", str(copy), "--today", "2027-01-01"]
    assert main([*args, "--dry-run"]) == 0
    planned = capsys.readouterr().out
    assert "would delete landing" in planned and (copy / "landing" / "police").exists()
    assert main(args) == 0
    assert not list((copy / "landing").rglob("*.csv"))  # 30-day landing retention
    assert not (copy / "landing" / "police").exists()  # no empty folders left behind
    assert list((copy / "staged").rglob("*.parquet"))  # 730-day staged retention
    assert list((copy / "vault").rglob("*.parquet"))  # 730-day vault retention
    assert not list((copy / "optout").glob("*"))  # a list 14 months old is unusable: gone
    receipts = [e for e in read_entries(copy / "audit") if e["event"] == "retention_delete"]
    assert len(receipts) == sum(line.startswith("would delete") for line in planned.splitlines())
    assert main(["audit", "verify", "--data-dir", str(copy)]) == 0


# Evidence for the business case (issue 15): on this module's night, with an intervention list
# ingested under its own agreement (people at a crisis peak, supported from the month after;
# the synthetic data hold no effect of support).


@pytest.fixture(scope="module")
def evidence(zones):
    from flows.ingest import ingest_partner
    from flows.partners.interventions import demo_starts, write_drop

    cohort, use = pl.read_parquet(zones.cohort), pl.read_parquet(zones.service_use)
    write_drop(zones.landing, demo_starts(cohort, use, 6, 1.0, 5), RUN_DATE)
    ingest_partner("interventions", str(zones.root), RUN_DATE, "evidence-run")
    return zones


def _evidence(zones, *args) -> int:
    return main([*args, "--data-dir", str(zones.root), "--key", str(USERS["analyst"])])


def _people_controlled(values) -> None:
    from governance.disclosure import DEFAULT_RULES

    values = [v for v in values if v is not None]
    assert values
    assert not any(1 <= v <= DEFAULT_RULES.threshold for v in values)
    assert all(v % DEFAULT_RULES.rounding == 0 for v in values)


def test_service_use_is_published_for_linked_people_and_the_list_under_its_agreement(evidence):
    from governance.audit import read_entries

    use, cohort = pl.read_parquet(evidence.service_use), pl.read_parquet(evidence.cohort)
    assert use.height > 1000 and use["events"].min() >= 1
    assert set(use["person_id"]) <= set(cohort["person_id"])
    ingests = [e for e in read_entries(evidence.audit) if e["event"] == "ingest"]
    listed = [e for e in ingests if e["partner"] == "interventions"]
    assert listed and listed[-1]["agreement_id"] == "DSA-INTERVENTIONS-2026-01"


def test_costs_in_json_are_controlled_labelled_and_audited(evidence, tmp_path):
    from governance.audit import read_entries

    out = tmp_path / "costs.json"
    assert _evidence(evidence, "costs", "--format", "json", "-o", str(out)) == 0
    doc = json.loads(out.read_text())
    assert "ILLUSTRATIVE" in doc["labels"]["illustrative"]
    for rows in doc["tables"].values():
        _people_controlled([r["people"] for r in rows])
        assert all(r["total_cost"] is None or r["total_cost"] % 1000 == 0 for r in rows)
    assert any(r["people"] is None for r in doc["tables"]["need_combination"])
    last = read_entries(evidence.audit)[-1]
    assert last["event"] == "evidence_output" and last["output"] == "costs"


def test_impact_never_shows_the_before_after_without_the_comparison(evidence, tmp_path):
    out = tmp_path / "impact.json"
    assert _evidence(evidence, "impact", "--format", "json", "-o", str(out)) == 0
    total = json.loads(out.read_text())["all_agencies"]
    _people_controlled([total["supported"], total["comparison_people"]])
    assert isinstance(total["did_per_person_month"], int | float)  # enough people matched
    assert len(total["ci"]) == 2 and "not an effect" in total["naive_warning"]
    csv_out = tmp_path / "impact.csv"
    assert _evidence(evidence, "impact", "--format", "csv", "-o", str(csv_out)) == 0
    assert csv_out.read_text().startswith("measure,all agencies")


def test_the_workbook_is_labelled_and_every_people_count_controlled(evidence, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "case.xlsx"
    assert _evidence(evidence, "business-case", "--format", "xlsx", "-o", str(out)) == 0
    book = load_workbook(out)
    assert {"Read me", "Cost by agency", "Impact", "Business case"} <= set(book.sheetnames)
    assert all(
        "ILLUSTRATIVE" in str(book[s]["A1"].value) for s in book.sheetnames if s != "Read me"
    )
    readme = list(book["Read me"].iter_rows(values_only=True))
    assert any(r[0] == "discount_rate" and r[1] == 0.035 for r in readme)
    rows = list(book["Cost by need combination"].iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "need_combination")
    people = [r[1] for r in rows[header + 1 :]]
    assert "redacted" in people
    _people_controlled([p for p in people if p != "redacted"])
    case = list(book["Business case"].iter_rows(values_only=True))
    assert any(r[0] == "All agencies" for r in case)
    assert _evidence(evidence, "business-case", "--format", "xlsx", "-o", str(out)) == 18


def test_no_grant_no_figures(evidence, tmp_path):
    from governance.audit import read_entries
    from governance.signing import keygen

    stranger, _ = keygen("Stranger", tmp_path, kind="u")
    assert main(["costs", "--data-dir", str(evidence.root), "--key", str(stranger)]) == 12
    assert read_entries(evidence.audit)[-1]["event"] == "evidence_refused"
