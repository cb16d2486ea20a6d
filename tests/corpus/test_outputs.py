"""What malformed deliveries do to the published outputs: an extract with a header and no rows
builds (an empty cohort when it is all there is), and the same extract delivered twice changes
nothing that is staged or published. GX validation is stubbed (see test_corpus.py)."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from flows.cohort_build import build
from flows.config import Zones
from flows.ingest import ingest_context
from flows.io import read_manifest, sha256_file
from flows.stages import process_extract
from governance.audit import service_log
from schemas.registry import partner as partner_schema
from schemas.registry import partner_names
from tests.corpus.kinds import RUN_DATE, Sample


@pytest.fixture
def drop(tmp_path, synthetic_dir, dev_keys, monkeypatch):
    monkeypatch.setattr("flows.checks.validate", lambda *args, **kwargs: [])
    shutil.copytree(synthetic_dir, tmp_path / "data")
    return tmp_path / "data"


def ingest_all(root, run_id: str, partners=None) -> list:
    counts = []
    for name in partners or partner_names():
        manifest = read_manifest(root / "landing" / name)
        ctx = ingest_context(str(root), name, RUN_DATE, run_id)
        counts += [process_extract(ctx, ex, manifest) for ex in partner_schema(name).extracts]
    return counts


def build_night(root, run_id: str) -> dict:
    zones = Zones(root)
    return build(zones, RUN_DATE, run_id, 365, 2, service_log(zones.audit))


def published(root) -> dict[str, pl.DataFrame]:
    zones = Zones(root)
    return {p.name: pl.read_parquet(p) for p in (zones.cohort, zones.links, zones.link_pairs)}


def test_a_header_only_extract_on_its_own_builds_an_empty_cohort(drop):
    ex = partner_schema("police").extract("crimes")
    sample = Sample(drop, ex, pl.DataFrame(schema={c: pl.String for c in ex.column_names}))
    sample.write()
    sample.seal()
    [counts] = ingest_all(drop, "run-1", ["police"])
    assert (counts.rows_in, counts.rows_staged, counts.notices) == (0, 0, {"NO_ROWS": 1})
    summary = build_night(drop, "run-1")
    assert summary["persons"] == 0
    assert {name: df.height for name, df in published(drop).items()} == {
        "cohort.parquet": 0,
        "links.parquet": 0,
        "link_pairs.parquet": 0,
    }


def test_the_same_extracts_delivered_twice_give_identical_published_outputs(drop):
    first = ingest_all(drop, "run-1")
    build_night(drop, "run-1")
    before = published(drop)
    staged = {p: sha256_file(p) for p in (drop / "staged").rglob("*") if p.is_file()}
    for name in partner_names():  # the partner sends the same files again the next night
        landing = drop / "landing" / name
        for path in landing.iterdir():
            path.write_bytes(path.read_bytes())
    second = ingest_all(drop, "run-2")
    build_night(drop, "run-2")
    assert all(c.already_staged and c.notices.get("ALREADY_STAGED") == 1 for c in second)
    assert [c.rows_staged for c in second] == [c.rows_staged for c in first]
    assert staged == {p: sha256_file(p) for p in (drop / "staged").rglob("*") if p.is_file()}
    after = published(drop)
    assert before["cohort.parquet"].height > 100
    for name, frame in before.items():
        assert frame.equals(after[name]), name
