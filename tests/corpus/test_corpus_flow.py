"""The nightly flow on a drop with a broken file and a few bad lines: the broken file stops its
partner only, the bad lines are quarantined and the rest staged, and the same night run twice
publishes identical outputs."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

from flows.config import Zones
from flows.io import sha256_file
from flows.nightly import NightFailed, nightly
from schemas.registry import partner_names
from tests.conftest import RUN_DATE

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _reseal(folder, name: str, rows: int | None = None) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"][name]["sha256"] = sha256_file(folder / name)
    if rows is not None:
        manifest["files"][name]["rows"] = rows
    path.write_text(json.dumps(manifest))


@pytest.fixture
def drop(tmp_path, synthetic_dir, dev_keys):
    root = tmp_path / "data"
    shutil.copytree(synthetic_dir, root)
    police = root / "landing" / "police"
    data = (police / "crimes.csv").read_bytes()
    (police / "crimes.csv").write_bytes(data[: len(data) * 2 // 3])  # cut short at the source
    _reseal(police, "crimes.csv")
    dwp = root / "landing" / "dwp"
    lines = (dwp / "uc_claims.csv").read_bytes().splitlines(keepends=True)
    for i in (5, 50):
        lines[i] = lines[i].rstrip(b"\n") + b"|spare\n"
    (dwp / "uc_claims.csv").write_bytes(b"".join(lines))
    _reseal(dwp, "uc_claims.csv")
    return root


def _night(root) -> dict:
    with pytest.raises(NightFailed) as failed:
        nightly(data_dir=str(root), run_date=RUN_DATE)
    return failed.value.result


def _published(root) -> dict[str, pl.DataFrame]:
    zones = Zones(root)
    return {p.name: pl.read_parquet(p) for p in (zones.cohort, zones.links, zones.link_pairs)}


def test_a_broken_file_stops_its_partner_only_and_a_second_night_publishes_the_same(drop):
    first = _night(drop)
    assert list(first["failed"]) == ["police"]
    assert first["failed"]["police"].startswith("FILE_TRUNCATED")
    assert sorted(first["ingest"]) == sorted(set(partner_names()) - {"police"})
    [uc] = first["ingest"]["dwp"]
    assert uc["reasons"].get("EXTRA_FIELDS") == 2
    assert uc["rows_in"] == uc["rows_staged"] + uc["rows_quarantined"] + uc["rows_opted_out"]
    assert not (drop / "staged" / "police").exists()
    before = _published(drop)
    assert before["cohort.parquet"].height > 0
    assert not before["cohort.parquet"]["partners"].str.contains("police").any()
    second = _night(drop)
    assert list(second["failed"]) == ["police"]
    assert all(c["already_staged"] for cs in second["ingest"].values() for c in cs)
    after = _published(drop)
    for name, frame in before.items():
        differ = [c for c in frame.columns if not frame[c].equals(after[name][c])]
        assert not differ, f"{name}: {differ}"
