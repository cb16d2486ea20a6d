"""Flow smoke tests: the nightly flow on a small synthetic drop, under a temporary server."""

import json
import shutil

import polars as pl
import pytest
import yaml

from flows.nightly import nightly
from governance.errors import AgreementNotInForceError, KeyMissingError
from governance.keys import ENV_KEY
from tests.conftest import RUN_DATE

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture
def drop(tmp_path, synthetic_dir, key, monkeypatch):
    shutil.copytree(synthetic_dir, tmp_path / "data")
    monkeypatch.setenv(ENV_KEY, key.material().decode())
    return tmp_path / "data"


def _raw_values(drop) -> set[str]:
    """Every raw surname, NHS number and postcode in the landing files."""
    frames = [
        pl.read_parquet(drop / "landing" / "nhs" / "ae_attendances.parquet"),
        pl.read_csv(drop / "landing" / "police" / "crimes.csv", infer_schema=False),
    ]
    values = set()
    for df in frames:
        for col in ("surname", "nhs_number", "postcode"):
            if col in df.columns:
                values |= {v for v in df[col].drop_nulls().to_list() if len(v) > 4}
    return values


def test_nightly_stages_every_partner_and_publishes_a_cohort(drop):
    result = nightly(data_dir=str(drop), run_date=RUN_DATE)
    for extracts in result["ingest"].values():
        for c in extracts:
            assert c["rows_in"] == c["rows_staged"] + c["rows_quarantined"] > 0
            assert c["key_id"].startswith("k-")
    cohort = pl.read_parquet(drop / "published" / "cohort.parquet")
    assert cohort.height == result["cohort"]["persons"] > 0
    assert cohort["person_id"].is_unique().all()
    assert 0 < cohort["mcn_flag"].sum() < cohort.height


def test_no_raw_value_in_run_records_results_or_published_tables(drop):
    result = nightly(data_dir=str(drop), run_date=RUN_DATE)
    raw = _raw_values(drop)
    assert len(raw) > 100
    texts = [json.dumps(result)] + [p.read_text() for p in (drop / "runs").rglob("*.json")]
    for text in texts:
        assert not any(v in text for v in raw)
    for table in ("cohort", "links"):
        df = pl.read_parquet(drop / "published" / f"{table}.parquet")
        for col, dtype in df.schema.items():
            if dtype == pl.String:
                assert not df[col].is_in(list(raw)).any(), f"{table}.{col}"


def test_second_run_on_the_same_drop_stages_nothing_twice(drop):
    first = nightly(data_dir=str(drop), run_date=RUN_DATE)
    second = nightly(data_dir=str(drop), run_date=RUN_DATE)
    assert all(c["already_staged"] for cs in second["ingest"].values() for c in cs)
    assert second["cohort"]["persons"] == first["cohort"]["persons"]
    assert len(list((drop / "staged" / "police" / "crimes").glob("*.parquet"))) == 1


def test_missing_key_stops_before_anything_is_staged(drop, monkeypatch):
    monkeypatch.delenv(ENV_KEY)
    with pytest.raises(KeyMissingError):
        nightly(data_dir=str(drop), run_date=RUN_DATE, partners=["dwp"])
    assert not (drop / "staged").exists()


def test_expired_agreement_blocks_that_partner_and_keeps_the_old_cohort(drop, monkeypatch):
    from governance import policy as policy_module

    nightly(data_dir=str(drop), run_date=RUN_DATE)
    published = (drop / "published" / "cohort.parquet").stat().st_mtime_ns
    policies = drop / "policies"
    shutil.copytree(policy_module.POLICY_DIR, policies)
    text = yaml.safe_load((policies / "police.yaml").read_text())
    text["agreement"]["valid_to"] = "2026-06-30"
    (policies / "police.yaml").write_text(yaml.safe_dump(text))
    monkeypatch.setenv(policy_module.ENV_POLICY_DIR, str(policies))
    with pytest.raises(AgreementNotInForceError, match="DSA-POLICE"):
        nightly(data_dir=str(drop), run_date=RUN_DATE)
    assert (drop / "published" / "cohort.parquet").stat().st_mtime_ns == published
