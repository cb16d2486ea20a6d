"""great-expectations checkpoints: results and Data Docs carry no value from a row."""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import polars as pl
import pytest

from flows import checks, gx_project
from flows.config import Zones
from flows.io import read_extract, read_manifest
from flows.reader import SOURCE_ROW
from flows.stages import _check_staged
from governance.errors import LeakError
from governance.policy import POLICY_DIR, load_policy
from governance.pseudonymise import apply_policy
from schemas.formats import POSTCODE_PATTERN
from schemas.registry import partner
from tests.conftest import RUN_DATE
from tests.leak_scan import hits, landing_identifiers, scanned_files
from transforms.quality import split_rows

COUNCIL = partner("council").extract("homelessness_cases")


@pytest.fixture(scope="module")
def identifiers(synthetic_dir) -> set[str]:
    values = landing_identifiers(synthetic_dir / "landing")
    assert len(values) > 1000
    skipped = landing_identifiers(synthetic_dir / "landing", skip_markup=False) - values
    assert len(skipped) <= 10, skipped  # lower-case names such as `white` (CSS `white-space`)
    return values


@pytest.fixture(scope="module")
def frames(synthetic_dir, identifiers, tmp_path_factory):
    """A raw and a staged frame of one extract, each with rows that break its suite by holding
    another identifier: a surname where the NHS number goes, a postcode in a staged column."""
    from governance.keys import SecretKey

    landing = synthetic_dir / "landing" / "council"
    raw = read_extract(landing, COUNCIL, read_manifest(landing))[0].rows.drop(SOURCE_ROW)
    long = pl.col("surname").str.len_chars() >= 5  # the scanner skips shorter values
    bad = long & (long.cast(pl.Int32).cum_sum() <= 5)
    raw = raw.with_columns(nhs_number=pl.when(bad).then(pl.col("surname")).otherwise("nhs_number"))
    good, _ = split_rows(raw, COUNCIL)
    key = SecretKey.from_hex("11" * 32, "test")
    staged = apply_policy(good, COUNCIL, load_policy("council", POLICY_DIR), key, RUN_DATE)
    shaped = good["postcode"].filter(good["postcode"].str.contains(POSTCODE_PATTERN)).head(5)
    planted = pl.concat([shaped, staged["postcode_district"].slice(5)])
    staged = staged.with_columns(postcode_district=planted)
    assert set(raw.filter(bad)["nhs_number"]) <= identifiers
    assert set(staged["postcode_district"].head(5)) <= identifiers
    return raw, staged, good


def _run(raw, staged, run_dir) -> tuple[list, list]:
    """Both checkpoints, then the run's Data Docs (built once per run, as a night does)."""
    results = (
        checks.validate(raw, COUNCIL, "raw", run_dir),
        checks.validate(staged, COUNCIL, "staged", run_dir),
    )
    assert gx_project.build_data_docs(run_dir) == gx_project.data_docs_index(run_dir)
    return results


def test_checkpoints_store_results_and_build_data_docs_without_values(
    frames, identifiers, tmp_path
):
    raw, staged, _ = frames
    run_dir = tmp_path / "runs" / "r1"
    raw_results, staged_results = _run(raw, staged, run_dir)
    assert any(
        s["column"] == "nhs_number" and s["unexpected_count"] >= 5
        for s in checks.failures(raw_results)
    )
    assert {s["rule"] for s in checks.failures(staged_results)} >= {"postcode_shape"}
    assert gx_project.data_docs_index(run_dir).is_file()
    results = list((run_dir / "gx" / "validations").rglob("*.json"))
    assert len(results) == 2
    files = scanned_files(run_dir / "gx")
    assert len(files) >= 5  # two results, the index, two validation pages, the suites
    assert hits(files, identifiers) == {}


def test_the_scanner_catches_a_leaky_result_format(frames, identifiers, tmp_path, monkeypatch):
    """The same run with a result format that lists unexpected values: the scanner finds them."""
    raw, staged, _ = frames
    monkeypatch.setattr(gx_project, "SAFE_RESULT", {"result_format": "COMPLETE"})
    run_dir = tmp_path / "runs" / "leaky"
    _run(raw, staged, run_dir)
    found = hits(scanned_files(run_dir / "gx"), identifiers)
    assert any(p.endswith(".json") for p in found)  # the stored results
    assert any(p.endswith(".html") for p in found)  # and the Data Docs pages


def test_leak_gate_still_raises_and_names_no_value(frames, identifiers, tmp_path):
    raw, staged, good = frames
    ctx = types.SimpleNamespace(zones=Zones(tmp_path), run_id="r2")
    with pytest.raises(LeakError) as err:
        _check_staged(ctx, COUNCIL, staged, good, [])
    message = str(err.value)
    assert "leak:postcode_district" in message
    assert not any(v in message for v in identifiers)
    record = json.loads(
        (tmp_path / "runs" / "r2" / f"checks.council.{COUNCIL.name}.json").read_text()
    )
    assert record["leak_scan"]["postcode_district"] == 5
    assert record["gx"]["project"] == "repository gx/"
    assert record["gx"]["results"] and record["gx"]["data_docs"] == "gx/data_docs/index.html"
    assert hits(scanned_files(tmp_path / "runs"), identifiers) == {}


def test_an_agreement_other_than_the_shipped_one_gets_its_own_project_in_the_run(
    frames, tmp_path, monkeypatch
):
    """Dropping a staged column changes the staged suite: the run generates a project for the
    agreement in force in its own folder and leaves the committed one alone."""
    _, staged, _ = frames
    before = {p: p.read_bytes() for p in gx_project.REPO_GX.rglob("*") if p.is_file()}
    monkeypatch.chdir(tmp_path)
    run_dir = Path("runs") / "r3"  # a relative data directory, as `mcn demo` uses
    results = checks.validate(staged.drop("sex"), COUNCIL, "staged", run_dir)
    assert not any(s["column"] == "sex" for s in results)
    name = gx_project.suite_name("council", COUNCIL.name, "staged")
    assert (run_dir / "gx" / "project" / "checkpoints" / f"{name}.json").is_file()
    assert checks.gx_record(run_dir, COUNCIL)["project"] == "gx/project"
    after = {p: p.read_bytes() for p in gx_project.REPO_GX.rglob("*") if p.is_file()}
    assert after == before


def test_two_runs_keep_their_results_apart(frames, tmp_path):
    raw, _, _ = frames
    for run in ("a", "b"):
        checks.validate(raw, COUNCIL, "raw", tmp_path / run / "runs" / "r")
    for run in ("a", "b"):
        assert (
            len(list((tmp_path / run / "runs" / "r" / "gx" / "validations").rglob("*.json"))) == 1
        )


def test_frame_for_gx_has_only_the_columns_the_suite_names(frames):
    raw, _, _ = frames
    suite = checks.raw_suite(COUNCIL)
    frame = checks.gx_frame(raw, suite)
    assert set(frame.columns) == {e.column for e in suite} < set(raw.columns)
    assert frame.height == raw.height


def test_no_expectation_in_any_suite_reports_an_observed_value():
    """Map expectations report counts only; aggregate ones (min, max, mean, value sets seen)
    would put a value from a row into the result and the Data Docs."""
    allowed = {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
    }
    used = {e.expectation_type for s in checks.shipped_suites().values() for e in s}
    assert used <= allowed, used - allowed


def test_copy_of_the_committed_project_runs_as_gx_users_run_it(frames, tmp_path):
    """Open the project with plain GX, get a checkpoint by name, run it on a frame (shown to GX
    as its asset's table in the process's DuckDB, as the pipeline does)."""
    import great_expectations as gx

    from flows.gx_engine import frame_as_table

    raw, _, _ = frames
    project = tmp_path / "gx"
    shutil.copytree(gx_project.REPO_GX, project)
    ctx = gx.get_context(
        mode="file",
        context_root_dir=str(project),
        runtime_environment={
            gx_project.RESULTS_VAR: str(tmp_path / "results"),
            gx_project.DOCS_VAR: str(tmp_path / "docs"),
        },
    )
    name = gx_project.suite_name("council", COUNCIL.name, "raw")
    with frame_as_table(name, raw):
        result = ctx.checkpoints.get(name).run()
    assert not result.success  # the five surnames where NHS numbers go
    assert list((tmp_path / "results").rglob("*.json"))
    ctx.build_data_docs()  # as a GX user builds the site (the pipeline: once per run)
    assert (tmp_path / "docs" / "index.html").is_file()
