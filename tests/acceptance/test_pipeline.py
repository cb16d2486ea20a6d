"""Acceptance: the whole pipeline on synthetic data, judged against the ground truth."""

import shutil

import polars as pl
import pytest
import yaml

from flows.cli import main
from flows.cohort_build import evaluate_links, load_staged, records_frame
from flows.config import Zones
from flows.nightly import nightly
from flows.synth import synthesise
from governance.keys import ENV_KEY
from governance.policy import POLICY_DIR
from tests.conftest import RUN_DATE
from transforms.cohort import cohort_table
from transforms.needs import need_events

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def zones(tmp_path_factory):
    import secrets

    root = tmp_path_factory.mktemp("acceptance")
    synthesise(8000, 5, root, RUN_DATE)
    mp = pytest.MonkeyPatch()
    mp.setenv(ENV_KEY, secrets.token_hex(32))
    nightly(data_dir=str(root), run_date=RUN_DATE)
    yield Zones(root)
    mp.undo()


def test_linkage_against_ground_truth(zones):
    q = evaluate_links(zones.links, zones.ground_truth)
    assert q["precision"] >= 0.99 and q["recall"] >= 0.95 and q["f1"] >= 0.97


def test_cohort_matches_the_cohort_true_identities_would_give(zones):
    staged = load_staged(zones)
    records = records_frame(staged)
    events = need_events({k: v.lazy() for k, v in staged.items()}, RUN_DATE)
    truth = pl.read_parquet(zones.ground_truth)
    true_links = records.join(truth, on=["partner", "extract", "record_ref"]).select(
        "record_key", pl.col("person").alias("person_id"), pl.lit(None, pl.Int8).alias("link_rank")
    )
    expected = cohort_table(records.lazy(), true_links.lazy(), events).collect()
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


def test_query_prints_a_table(zones, capsys):
    code = main(
        [
            "query",
            "select need_count, count(*) as persons from cohort group by 1 order by 1",
            "--data-dir",
            str(zones.root),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "need_count" in out and "persons" in out and "─" in out


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
    assert "2 problem(s)" in captured.err


def test_linkage_score_prints_precision_and_recall(zones, capsys):
    assert main(["linkage", "score", "--data-dir", str(zones.root)]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "recall" in out and "F1" in out
