"""flows.storage on a local folder (fsspec's local filesystem; the S3 path is tested against
moto in tests/acceptance/test_scale_out.py)."""

import json

import pytest

from flows import storage
from flows.config import Zones
from flows.errors import StorageError, UsageError


@pytest.fixture
def store(tmp_path):
    drop = tmp_path / "store" / "landing" / "police"
    (drop / "sub").mkdir(parents=True)
    (drop / "crimes.csv").write_text("a,b\n1,2\n")
    (drop / "sub" / "manifest.json").write_text("{}")
    return str(tmp_path / "store")


def test_location_is_the_one_given_else_the_environment(monkeypatch):
    monkeypatch.delenv(storage.ENV_STORAGE, raising=False)
    assert storage.location(None) is None
    monkeypatch.setenv(storage.ENV_STORAGE, "s3://bucket/prefix/")
    assert storage.location(None) == "s3://bucket/prefix"
    assert storage.location("s3://other/x") == "s3://other/x"
    with pytest.raises(UsageError, match="AWS_"):
        storage.location("s3://KEY:SECRET@bucket/x")


def test_a_partners_drop_is_copied_into_its_landing_folder(store, tmp_path):
    zones = Zones(tmp_path / "data")
    assert storage.fetch_landing(store, "police", zones) == 2
    assert (zones.landing / "police" / "crimes.csv").read_text() == "a,b\n1,2\n"
    assert (zones.landing / "police" / "sub" / "manifest.json").exists()


def test_a_missing_drop_or_location_is_a_storage_error_naming_it(store, tmp_path):
    with pytest.raises(StorageError, match="landing/probation does not exist.*Fix:"):
        storage.fetch_landing(store, "probation", Zones(tmp_path / "data"))
    with pytest.raises(StorageError, match="nowhere/landing does not exist"):
        storage.check(str(tmp_path / "nowhere"))
    storage.check(store)


def test_the_set_is_published_then_the_pointer(store, tmp_path):
    zones = Zones(tmp_path / "data")
    folder = zones.published / "RUN1"
    folder.mkdir(parents=True)
    (folder / "cohort.parquet").write_bytes(b"PAR1")
    files = {"published/RUN1/cohort.parquet": "abc"}
    (folder / "manifest.json").write_text(json.dumps({"files": files}))
    outputs = storage.publish_set(store, zones, "RUN1")
    assert outputs == {"published/RUN1/cohort.parquet": "abc"}
    published = tmp_path / "store" / "published"
    assert (published / "RUN1" / "cohort.parquet").read_bytes() == b"PAR1"
    assert (published / "RUN1" / "manifest.json").exists()
    assert (published / "current").read_text() == "RUN1"
