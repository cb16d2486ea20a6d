"""The committed great-expectations project (gx/) is current and loads as GX users load it."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from flows import checks, gx_project
from governance.keys import SecretKey
from governance.policy import POLICY_DIR, load_policy
from governance.pseudonymise import apply_policy
from schemas.registry import all_partners, partner_names


def _committed() -> dict[str, str]:
    root = gx_project.REPO_GX
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_committed_gx_project_is_generated_from_the_contracts():
    expected = gx_project.project_files(checks.shipped_suites())
    assert _committed() == expected, "run `uv run python -m flows.gx_project`"


def test_one_validation_definition_and_checkpoint_per_extract_and_stage():
    names = gx_project.all_names()
    extracts = [ex for p in all_partners() for ex in p.extracts]
    assert len(names) == 2 * len(extracts) == len(set(names))
    files = _committed()
    for name in names:
        assert f"validation_definitions/{name}.json" in files
        assert f"checkpoints/{name}.json" in files


def test_the_project_loads_fresh_and_running_it_writes_nothing_into_the_repo(tmp_path):
    import great_expectations as gx

    before = _committed()
    ctx = gx.get_context(
        mode="file",
        context_root_dir=str(gx_project.REPO_GX),
        runtime_environment={
            gx_project.RESULTS_VAR: str(tmp_path / "results"),
            gx_project.DOCS_VAR: str(tmp_path / "docs"),
        },
    )
    for name in gx_project.all_names():
        checkpoint = ctx.checkpoints.get(name)
        assert checkpoint.result_format == gx_project.SAFE_RESULT
        assert checkpoint.actions == []  # Data Docs are built once per run, not per checkpoint
        (definition,) = checkpoint.validation_definitions
        assert definition.is_fresh().success, name
        assert definition.suite.name == name
    assert ctx.variables.analytics_enabled is False
    assert _committed() == before


@pytest.mark.parametrize(
    "ex",
    # partners' extracts: the synthetic drop has no partnership list (the demo writes one)
    [ex for p in all_partners() if p.name in partner_names() for ex in p.extracts],
    ids=lambda ex: f"{ex.partner}.{ex.name}",
)
def test_committed_staged_suite_is_the_one_the_staged_rows_get(ex, synthetic_dir):
    """The suite made from the agreement's columns equals the suite made from a real staged
    frame, so a night under the shipped agreements runs the committed checkpoints."""
    from flows.io import read_extract, read_manifest
    from flows.reader import SOURCE_ROW

    landing = synthetic_dir / "landing" / ex.partner
    raw = read_extract(landing, ex, read_manifest(landing))[0].rows.drop(SOURCE_ROW)
    key = SecretKey.from_hex(secrets.token_hex(32), "test")
    policy = load_policy(ex.partner, POLICY_DIR)
    staged = apply_policy(raw.head(50), ex, policy, key, dt.date(2026, 11, 1))
    name = gx_project.suite_name(ex.partner, ex.name, "staged")
    from_frame = gx_project.suite_doc(name, checks.staged_suite(staged, ex))
    from_schema = gx_project.suite_doc(
        name, checks.staged_suite(checks.staged_schema(ex, policy), ex)
    )
    assert from_frame == from_schema
