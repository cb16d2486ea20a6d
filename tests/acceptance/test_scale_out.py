"""Acceptance on a Dask cluster with object storage: the session's synthetic drop, put in a
bucket on moto's S3 server (127.0.0.1, started here), run by the nightly flow on a local Dask
cluster of two worker processes (started here), against the same drop run by the default
(local) runner under the same keys. One run per runner, shared by every test in the module.
"""

from __future__ import annotations

import hashlib
import shutil
import socket

import polars as pl
import pyarrow.parquet as pq
import pytest

from flows.cli import main
from flows.config import Zones
from flows.nightly import nightly
from schemas.errors import ExitCode
from tests.acceptance.test_pipeline import (  # noqa: F401  the acceptance checks, on `zones` below
    test_cohort_matches_the_cohort_true_identities_would_give,
    test_linkage_against_ground_truth,
    test_opt_out_removes_exactly_the_listed_numbers_records,
)
from tests.conftest import RUN_DATE, set_dev_keys

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

BUCKET, PREFIX = "mcn-drops", "county"
STORE = f"s3://{BUCKET}/{PREFIX}"
WORKERS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Keys for both runs, and credentials and endpoint for moto's S3 (set before the Dask
    workers start: they inherit the environment, as real workers are given it)."""
    mp = pytest.MonkeyPatch()
    set_dev_keys(tmp_path_factory.mktemp("scale-keys"), mp)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "NO_PROXY": "127.0.0.1,localhost",
    }.items():
        mp.setenv(name, value)
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def s3(env, synthetic_dir):
    """moto's S3 server on a free port, a bucket holding the session's drop under landing/."""
    import fsspec
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir(BUCKET)
    fs.put(str(synthetic_dir / "landing"), f"{BUCKET}/{PREFIX}/", recursive=True)
    yield fs
    server.stop()


def _data_dir(root, synthetic_dir, landing: bool) -> Zones:
    """A data directory with the session drop's signed opt-out list and ground truth, and its
    landing files when the drop is read locally (else an empty landing/, as an operator makes)."""
    for part in ("optout", "ground_truth", *(["landing"] if landing else [])):
        shutil.copytree(synthetic_dir / part, root / part)
    (root / "landing").mkdir(exist_ok=True)
    return Zones(root)


@pytest.fixture(scope="module")
def local(env, synthetic_dir, tmp_path_factory):
    zones = _data_dir(tmp_path_factory.mktemp("scale-local"), synthetic_dir, landing=True)
    result = nightly(data_dir=str(zones.root), run_date=RUN_DATE)
    return zones, result


@pytest.fixture(scope="module")
def on_dask(env, s3, synthetic_dir, tmp_path_factory):
    """The night on two Dask workers, drops read from and outputs published to S3."""
    from distributed import LocalCluster

    from flows.dask_runner import nightly_on_dask

    zones = _data_dir(tmp_path_factory.mktemp("scale-dask"), synthetic_dir, landing=False)
    with LocalCluster(
        n_workers=WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        flow = nightly_on_dask(cluster.scheduler_address)
        result = flow(data_dir=str(zones.root), run_date=RUN_DATE, storage_url=STORE)
        workers = {w["host"] + str(w["id"]) for w in cluster.scheduler_info["workers"].values()}
    return zones, result, workers


@pytest.fixture(scope="module")
def zones(on_dask) -> Zones:
    """The Dask run's data directory, for the acceptance checks imported above."""
    return on_dask[0]


def _frame(path) -> pl.DataFrame:
    return pl.read_parquet(path)


def test_the_cluster_had_two_workers_and_the_drop_came_from_storage(on_dask, synthetic_dir):
    zones, result, workers = on_dask
    assert len(workers) == WORKERS
    fetched = sorted(p.relative_to(zones.landing) for p in zones.landing.rglob("*") if p.is_file())
    sent = sorted(
        p.relative_to(synthetic_dir / "landing")
        for p in (synthetic_dir / "landing").rglob("*")
        if p.is_file()
    )
    assert fetched == sent and result["failed"] == {}


@pytest.mark.parametrize("table", ["cohort", "links", "link_pairs"])
def test_outputs_are_the_local_runners_row_for_row(local, on_dask, table):
    """Same rows, same order, same types; the parquet footers differ only by the run's id."""
    (lz, _), (dz, _, _) = local, on_dask
    a, b = lz.current / f"{table}.parquet", dz.current / f"{table}.parquet"
    assert _frame(a).height > 0
    assert _frame(a).equals(_frame(b))
    meta_a, meta_b = pq.read_metadata(a).metadata, pq.read_metadata(b).metadata
    differ = {k for k in meta_a.keys() | meta_b.keys() if meta_a.get(k) != meta_b.get(k)}
    assert differ == {b"mcn.run_id"}


def test_staged_and_vault_files_are_byte_for_byte_the_local_runners(local, on_dask):
    (lz, _), (dz, _, _) = local, on_dask

    def hashes(folder):
        return {
            str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*.parquet")
        }

    for zone in ("staged", "vault"):
        here, there = hashes(getattr(lz, zone)), hashes(getattr(dz, zone))
        assert here and here == there, zone


def test_the_published_set_in_storage_is_the_one_published_locally(on_dask, s3):
    zones, result, _ = on_dask
    run_id = result["run_id"]
    assert s3.cat_file(f"{BUCKET}/{PREFIX}/published/current").decode() == run_id
    local = zones.published / run_id
    names = sorted(p.name for p in local.iterdir())
    remote = sorted(p.rsplit("/", 1)[1] for p in s3.ls(f"{BUCKET}/{PREFIX}/published/{run_id}"))
    assert names == remote and "cohort.parquet" in names
    for name in names:
        body = s3.cat_file(f"{BUCKET}/{PREFIX}/published/{run_id}/{name}")
        assert body == (local / name).read_bytes(), name
    stored = result["cohort"]["storage"]["outputs"]
    cohort_sha = hashlib.sha256((local / "cohort.parquet").read_bytes()).hexdigest()
    assert stored[f"published/{run_id}/cohort.parquet"] == cohort_sha


def test_the_audit_log_records_the_storage_copy_and_verifies(on_dask):
    from governance.audit import read_entries

    zones, result, _ = on_dask
    [entry] = [e for e in read_entries(zones.audit) if e["event"] == "published_storage"]
    assert entry["run_id"] == result["run_id"] and entry["location"] == STORE
    assert main(["audit", "verify", "--data-dir", str(zones.root)]) == 0


def test_a_missing_bucket_is_one_clear_error_before_anything_runs(s3, tmp_path, capsys):
    (tmp_path / "data" / "landing").mkdir(parents=True)
    args = ["run", "--data-dir", str(tmp_path / "data"), "--storage", "s3://no-such-bucket/x"]
    assert main(args) == ExitCode.UNREACHABLE
    err = capsys.readouterr().err
    assert "s3://no-such-bucket/x" in err and "Fix:" in err and "Traceback" not in err
    assert not any((tmp_path / "data" / "landing").iterdir())


def test_missing_credentials_are_one_clear_error(s3, tmp_path, monkeypatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    (tmp_path / "data" / "landing").mkdir(parents=True)
    assert (
        main(["run", "--data-dir", str(tmp_path / "data"), "--storage", STORE])
        == ExitCode.UNREACHABLE
    )
    err = capsys.readouterr().err
    assert "AWS_ACCESS_KEY_ID" in err and "Traceback" not in err


def test_an_unreachable_scheduler_is_one_clear_error(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("flows.dask_runner.CONNECT_SECONDS", 1)
    (tmp_path / "data" / "landing").mkdir(parents=True)
    args = ["run", "--data-dir", str(tmp_path / "data"), "--runner", "dask"]
    assert (
        main([*args, "--dask-address", f"tcp://127.0.0.1:{_free_port()}"]) == ExitCode.UNREACHABLE
    )
    err = capsys.readouterr().err
    assert "no Dask scheduler answered" in err and "Traceback" not in err
