"""Flow smoke tests: the nightly flow on a small synthetic drop, under a temporary server."""

import datetime as dt
import json
import shutil

import polars as pl
import pytest
import yaml

from flows.config import Zones
from flows.nightly import nightly
from governance.errors import AgreementNotInForceError, KeyMissingError
from governance.keys import ENV_KEY_FILE
from schemas.registry import partner_names
from tests.conftest import RUN_DATE, sign_optout, sign_policies

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture
def drop(tmp_path, synthetic_dir, dev_keys):
    shutil.copytree(synthetic_dir, tmp_path / "data")
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
    # A surname that is part of a declared rule code (a police surname VALUE, in the code
    # VALUE_TOO_LONG the night records by name) is not a leak when the code appears.
    from schemas.codes import CODES

    return {v for v in values if not any(v in code for code in CODES)}


def test_nightly_stages_every_partner_and_publishes_a_cohort(drop, monkeypatch):
    from governance import pseudonymise

    reused = []  # per-distinct tables a later extract found made (Prefect's task threads)
    known = pseudonymise.DistinctMemo.known

    def spy(self, signature):
        table = known(self, signature)
        reused.append(table is not None)
        return table

    monkeypatch.setattr(pseudonymise.DistinctMemo, "known", spy)
    result = nightly(data_dir=str(drop), run_date=RUN_DATE)
    assert sum(reused) >= 10 and not all(reused)
    for extracts in result["ingest"].values():
        for c in extracts:
            assert (
                c["rows_in"] == c["rows_staged"] + c["rows_quarantined"] + c["rows_opted_out"] > 0
            )
            assert c["key_id"].startswith("k-")
    assert sum(c["rows_opted_out"] for c in result["ingest"]["nhs"]) > 0
    assert sum(c["rows_opted_out"] for c in result["ingest"]["police"]) == 0
    cohort = pl.read_parquet(Zones(drop).cohort)
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
        df = pl.read_parquet(Zones(drop).current / f"{table}.parquet")
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
    monkeypatch.delenv(ENV_KEY_FILE)
    with pytest.raises(KeyMissingError):
        nightly(data_dir=str(drop), run_date=RUN_DATE, partners=["dwp"])
    assert not (drop / "staged").exists()


def test_expired_agreement_blocks_that_partner_only(drop, monkeypatch):
    from flows.nightly import NightFailed
    from governance import policy as policy_module

    nightly(data_dir=str(drop), run_date=RUN_DATE)
    policies = drop / "policies"
    shutil.copytree(policy_module.POLICY_DIR, policies)
    text = yaml.safe_load((policies / "police.yaml").read_text())
    text["agreement"]["valid_to"] = "2026-06-30"
    text["agreement"]["review_date"] = "2026-06-01"
    (policies / "police.yaml").write_text(yaml.safe_dump(text))
    monkeypatch.setenv("MCN_APPROVERS_DIR", str(sign_policies(policies, drop.parent)))
    monkeypatch.setenv(policy_module.ENV_POLICY_DIR, str(policies))
    with pytest.raises(NightFailed) as failed:
        nightly(data_dir=str(drop), run_date=RUN_DATE)
    assert failed.value.exit_code == AgreementNotInForceError.exit_code
    assert list(failed.value.result["failed"]) == ["police"]
    assert "DSA-POLICE" in failed.value.result["failed"]["police"]
    assert sorted(failed.value.result["ingest"]) == sorted(set(partner_names()) - {"police"})
    cohort = pl.read_parquet(Zones(drop).cohort)  # built without police
    assert cohort.height and not cohort["partners"].str.contains("police").any()


def _edit_police_policy(drop, monkeypatch):
    """Copy the shipped policies beside the drop and change one byte of police.yaml."""
    from governance import policy as policy_module

    policies = drop.parent / "policies"
    shutil.copytree(policy_module.POLICY_DIR, policies)
    path = policies / "police.yaml"
    path.write_bytes(
        path.read_bytes()
        .replace(b"retention_days", b"retention_days")
        .replace(b"landing: 30", b"landing: 31")
    )
    monkeypatch.setenv(policy_module.ENV_POLICY_DIR, str(policies))


def test_one_byte_edit_of_a_signed_policy_stops_run_before_any_read(drop, monkeypatch, capsys):
    from flows.cli import main

    _edit_police_policy(drop, monkeypatch)
    assert main(["run", "--data-dir", str(drop), "--run-date", str(RUN_DATE)]) == 4
    assert "police.yaml" in capsys.readouterr().err
    assert not (drop / "staged" / "police").exists()
    assert not (drop / "quarantine" / "police").exists()
    assert (drop / "staged" / "dwp").exists()  # the other partners went on


def test_edited_policy_is_refused_inside_the_flow_too_and_audited(drop, monkeypatch):
    from governance.audit import read_entries
    from governance.errors import PolicyError

    _edit_police_policy(drop, monkeypatch)
    with pytest.raises(PolicyError, match="POL031"):
        nightly(data_dir=str(drop), run_date=RUN_DATE, partners=["police"])
    assert not (drop / "staged" / "police").exists()
    refused = [e for e in read_entries(drop / "audit") if e["event"] == "ingest_refused"]
    assert [(e["partner"], e["reason"]) for e in refused] == [("police", "PolicyError")]


def test_stale_opt_out_list_stops_nhs_ingest(drop):
    from governance.errors import OptOutError
    from governance.optout import write_optout

    numbers = pl.read_csv(drop / "optout" / "nhs_numbers.csv", infer_schema=False)
    write_optout(drop / "optout", numbers["nhs_number"].to_list(), dt.date(2026, 9, 1))
    sign_optout(drop)
    with pytest.raises(OptOutError, match="days old"):
        nightly(data_dir=str(drop), run_date=RUN_DATE, partners=["nhs"])
    assert not (drop / "staged" / "nhs").exists() and not (drop / "quarantine" / "nhs").exists()


def test_key_ids_travel_with_every_output(drop):
    import pyarrow.parquet as pq

    from governance.keys import load_linkage_key

    key_id = load_linkage_key().key_id
    result = nightly(data_dir=str(drop), run_date=RUN_DATE, partners=["dwp"])
    assert result["cohort"]["key_ids"] == {"linkage": [key_id]}
    for table in ("cohort", "links"):
        footer = pq.read_metadata(Zones(drop).current / f"{table}.parquet").metadata
        assert footer[b"mcn.linkage_key_ids"] == key_id.encode()
    sidecar = next((drop / "staged" / "dwp").rglob("*.json"))
    assert json.loads(sidecar.read_text())["key_id"] == key_id
