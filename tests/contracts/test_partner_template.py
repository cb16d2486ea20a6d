"""A partner is one unit: a sixth partner, made from a template in a temporary directory (its
own files and a registry entry, nothing else), goes through ingest, linkage and the cohort.

The template is the probation partner's files with its name replaced: the contract, the need
rules, the synthetic generator and the agreement (signed here by a test approver).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import polars as pl
import pytest

from flows.cohort_build import build
from flows.config import Zones
from flows.ingest import ingest_context
from flows.io import read_manifest
from flows.stages import process_extract
from flows.synth import synthesise
from governance.audit import service_log
from governance.policy import ENV_POLICY_DIR, POLICY_DIR, check_all
from governance.signing import ENV_APPROVERS_DIR
from schemas import registry
from tests.conftest import RUN_DATE, sign_optout, sign_policies
from transforms.settings import check_settings

TEMPLATE = "probation"
NEW = "housing"
ROOT = "sixth_partner_files"  # the import prefix of the new partner's packages
FILES = {
    f"schemas/partners/{TEMPLATE}.py": f"{ROOT}/schemas/partners/{NEW}.py",
    f"transforms/partners/{TEMPLATE}.py": f"{ROOT}/transforms/partners/{NEW}.py",
    f"flows/partners/{TEMPLATE}.py": f"{ROOT}/flows/partners/{NEW}.py",
}


def from_template(text: str) -> str:
    """The template's text for the new partner: its own module paths, its own name."""
    text = text.replace(f"schemas.partners.{TEMPLATE}", f"{ROOT}.schemas.partners.{NEW}")
    return text.replace(TEMPLATE, NEW).replace(TEMPLATE.title(), NEW.title())


@pytest.fixture
def sixth_partner(tmp_path, monkeypatch, dev_keys):
    repo = Path(registry.__file__).parents[1]
    code = tmp_path / "code"
    for src, dst in FILES.items():
        out = code / dst
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(from_template((repo / src).read_text()))
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    for sig in policies.glob("*.sig"):
        sig.unlink()
    (policies / f"{NEW}.yaml").write_text(
        from_template((POLICY_DIR / f"{TEMPLATE}.yaml").read_text())
    )
    monkeypatch.setenv(ENV_APPROVERS_DIR, str(sign_policies(policies, tmp_path)))
    monkeypatch.setenv(ENV_POLICY_DIR, str(policies))
    monkeypatch.syspath_prepend(str(code))
    # the registry entry: the only change outside the new partner's own files
    monkeypatch.setattr(registry, "PARTNERS", (*registry.PARTNERS, registry.Entry(NEW, f"{ROOT}.")))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith(ROOT)]:
        del sys.modules[name]


@pytest.mark.slow
def test_a_sixth_partner_from_its_files_and_a_registry_entry_runs_end_to_end(sixth_partner):
    root = sixth_partner / "data"
    written = synthesise(2000, 3, root, RUN_DATE)
    assert written[f"{NEW}/supervision_episodes"] > 20
    sign_optout(root)
    policies, problems = check_all()
    assert problems == [] and NEW in policies
    check_settings(policies)
    staged = {}
    for name in registry.partner_names():
        manifest = read_manifest(root / "landing" / name)
        ctx = ingest_context(str(root), name, RUN_DATE, "run-1")
        for ex in registry.partner(name).extracts:
            staged[(name, ex.name)] = process_extract(ctx, ex, manifest).rows_staged
    assert staged[(NEW, "supervision_episodes")] > 20
    zones = Zones(root)
    summary = build(zones, RUN_DATE, "run-1", 365, 2, service_log(zones.audit))
    assert summary["persons"] > 0
    links = pl.read_parquet(zones.links)
    ours = links.filter(pl.col("partner") == NEW)
    assert ours.height == staged[(NEW, "supervision_episodes")]
    # its records link to the same people's probation records (the same true person)
    truth = pl.read_parquet(zones.ground_truth)
    paired = (
        links.join(truth, on=["partner", "extract", "record_ref"])
        .filter(pl.col("partner").is_in([NEW, TEMPLATE]))
        .group_by("person")
        .agg(pl.col("person_id").n_unique().alias("ids"), pl.col("partner").n_unique().alias("n"))
        .filter(pl.col("n") == 2)
    )
    assert paired.height > 10 and (paired["ids"] == 1).mean() >= 0.9
    cohort = pl.read_parquet(zones.cohort)
    assert NEW in ",".join(cohort["partners"].to_list())
