"""A build hashes each staged file once (flows.staging.digest_memo) and parses the very bytes
it verified (flows.cohort_build._read_verified): an insider who alters a staged file during a
build gets it refused, not read."""

from __future__ import annotations

import secrets

import polars as pl
import pytest

from flows.cohort_build import _read_verified
from flows.config import Zones
from flows.staging import digest_memo, staged_files, write_staged
from governance.errors import StagingError
from governance.keys import SecretKey
from schemas.registry import partner_extracts

EX = partner_extracts()[0]


@pytest.fixture
def staged(tmp_path):
    zones = Zones(tmp_path)
    key = SecretKey.from_hex(secrets.token_hex(32), "t")
    path = zones.staged / EX.partner / EX.name / "a.parquet"
    path.parent.mkdir(parents=True)
    write_staged(path, pl.DataFrame({"record_key": ["k1", "k2"]}), {"extract_date": "x"}, key)
    return zones, key, path


def test_a_file_altered_inside_the_memo_is_hashed_again_and_refused(staged):
    zones, key, path = staged
    with digest_memo():
        assert len(staged_files(zones, EX, key)) == 1
        assert len(staged_files(zones, EX, key)) == 1  # from the memo
        other = pl.DataFrame({"record_key": ["k1", "k9"]})  # the same size, other rows
        other.write_parquet(path)
        assert staged_files(zones, EX, key) == []


def test_a_file_swapped_after_it_was_verified_is_not_read(staged):
    zones, key, path = staged
    (verified,) = staged_files(zones, EX, key)
    assert _read_verified(zones, verified)["record_key"].to_list() == ["k1", "k2"]
    pl.DataFrame({"record_key": ["k1", "k9"]}).write_parquet(path)
    with pytest.raises(StagingError) as err:
        _read_verified(zones, verified)
    assert "changed while the build was reading it" in str(err.value)
    assert "k9" not in str(err.value) and "Fix:" in str(err.value)
