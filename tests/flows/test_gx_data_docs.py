"""A small synthetic night: its GX results and Data Docs hold no raw identifier."""

import hashlib
import json
import shutil

import polars as pl
import pytest

from flows.gx_project import all_names, data_docs_index
from flows.nightly import nightly
from schemas.registry import partner_names
from tests.conftest import RUN_DATE
from tests.leak_scan import hits, landing_identifiers, scanned_files

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _plant_bad_rows(landing):
    """Five crimes whose offence category holds the surname and whose postcode holds the date
    of birth: raw expectations fail on identifiers, so a leaky result would show them."""
    path = landing / "police" / "crimes.csv"
    df = pl.read_csv(path, infer_schema=False)
    bad = pl.int_range(pl.len()) < 5
    df = df.with_columns(
        offence_category=pl.when(bad).then(pl.col("surname")).otherwise("offence_category"),
        postcode=pl.when(bad).then(pl.col("date_of_birth")).otherwise("postcode"),
    )
    df.write_csv(path)
    manifest = json.loads((landing / "police" / "manifest.json").read_text())
    manifest["files"]["crimes.csv"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (landing / "police" / "manifest.json").write_text(json.dumps(manifest))


def test_night_stores_gx_results_and_data_docs_with_no_identifier(
    tmp_path, synthetic_dir, dev_keys
):
    drop = tmp_path / "data"
    shutil.copytree(synthetic_dir, drop)
    _plant_bad_rows(drop / "landing")
    result = nightly(data_dir=str(drop), run_date=RUN_DATE)
    run_dir = drop / "runs" / result["run_id"]
    assert data_docs_index(run_dir).is_file()
    results = list((run_dir / "gx" / "validations").rglob("*.json"))
    # every partner extract, raw and staged (a list such as the intervention list only when
    # one is dropped: the synthetic drop has none)
    partners = [n for n in all_names() if n.split(".")[0] in partner_names()]
    assert len(results) == len(partners)
    records = [json.loads(p.read_text()) for p in run_dir.glob("checks.*.json")]
    assert records and all(r["gx"]["project"] == "repository gx/" for r in records)
    police = json.loads((run_dir / "checks.police.crimes.json").read_text())
    failed = {s["column"] for s in police["raw"] if not s["success"]}
    assert failed >= {"offence_category", "postcode"}  # values had a way in
    identifiers = landing_identifiers(drop / "landing")
    assert len(identifiers) > 5000
    files = scanned_files(run_dir / "gx")
    assert len(files) > 2 * len(all_names())  # results, their pages and the suites' pages
    assert hits(files, identifiers) == {}
