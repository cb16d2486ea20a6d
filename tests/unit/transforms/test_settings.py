"""Need rules and linkage settings are checked against the contracts and policies before any
partner is read, and every problem is reported at once with its file and key."""

from __future__ import annotations

import shutil

import pytest
import yaml

from flows.cli import main
from governance import match_keys
from governance.errors import SettingsError
from governance.policy import ENV_POLICY_DIR, POLICY_DIR, check_all
from governance.signing import ENV_APPROVERS_DIR
from schemas.errors import ExitCode
from tests.conftest import sign_policies
from transforms import framework
from transforms.settings import check_settings, settings_problems

RULES = "transforms/partners/probation.py"


def _policies():
    policies, problems = check_all()
    assert problems == []
    return policies


def _rename_token(monkeypatch, old: str, new: str) -> None:
    renamed = tuple(
        match_keys.MatchKey(new, k.rank, k.roles, k.fields, k.description, k.tag, k.bloom_bits)
        if k.name == old
        else k
        for k in match_keys.FIELD_TOKENS
    )
    monkeypatch.setattr(match_keys, "FIELD_TOKENS", renamed)


def _unknown_need(monkeypatch, tmp_path) -> str:
    """mcn-default with a typo'd need domain, in a copy of the frameworks folder."""
    folder = tmp_path / "frameworks"
    shutil.copytree(framework.FRAMEWORK_DIR, folder)
    path = folder / "mcn-default.yaml"
    path.write_text(path.read_text().replace("  substance_misuse:", "  substance:"))
    monkeypatch.setattr(framework, "FRAMEWORK_DIR", folder)
    return str(path)


def _dropping_policy(tmp_path, monkeypatch) -> None:
    """The probation agreement, changed to drop a column a need rule reads, and re-signed."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    path = policies / "probation.yaml"
    data = yaml.safe_load(path.read_text())
    data["extracts"]["supervision_episodes"]["need_accommodation"] = "drop"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv(ENV_APPROVERS_DIR, str(sign_policies(policies, tmp_path)))
    monkeypatch.setenv(ENV_POLICY_DIR, str(policies))


def test_the_shipped_settings_have_no_problem():
    assert settings_problems(_policies()) == []


def test_a_renamed_token_is_reported_where_it_is_used(monkeypatch):
    _rename_token(monkeypatch, "f_fn_nick", "f_forename_nick")
    found = {(p.file, p.key, p.code) for p in settings_problems(_policies())}
    assert ("transforms/blocking.py", "BLOCKING_RULES.names", "SET010") in found
    assert ("transforms/probabilistic.py", "BASE_COLUMNS", "SET010") in found


def test_an_unknown_need_name_is_reported_with_file_and_key(monkeypatch, tmp_path):
    where = _unknown_need(monkeypatch, tmp_path)
    [problem] = settings_problems(_policies())
    assert (problem.file, problem.key, problem.code) == (where, "needs.substance", "SET001")
    assert "substance_misuse" in problem.message  # says which names exist


def test_a_need_rule_on_a_dropped_column_is_reported_with_the_policy_key(tmp_path, monkeypatch):
    _dropping_policy(tmp_path, monkeypatch)
    [problem] = settings_problems(_policies())
    assert (problem.file, problem.key, problem.code) == (
        RULES,
        "EVENTS[1].condition.need_accommodation",
        "SET004",
    )
    assert "probation.yaml: extracts.supervision_episodes.need_accommodation" in problem.message


def test_every_problem_at_once_and_the_run_stops_before_reading(tmp_path, monkeypatch, capsys):
    _rename_token(monkeypatch, "f_fn_nick", "f_forename_nick")
    where = _unknown_need(monkeypatch, tmp_path)
    _dropping_policy(tmp_path, monkeypatch)
    with pytest.raises(SettingsError) as err:
        check_settings(_policies())
    assert {p.code for p in err.value.problems} == {"SET001", "SET004", "SET010"}
    data = tmp_path / "data"
    (data / "landing").mkdir(parents=True)
    from tests.conftest import set_dev_keys

    set_dev_keys(tmp_path / "keys", monkeypatch)
    code = main(["run", "--data-dir", str(data), "--run-date", "2026-11-01"])
    err_text = capsys.readouterr().err
    assert code == ExitCode.BAD_SETTINGS
    assert f"{where}: needs.substance: [SET001]" in err_text
    assert "transforms/blocking.py: BLOCKING_RULES.names: [SET010]" in err_text
    assert "Traceback" not in err_text
    assert not (data / "staged").exists() and not (data / "runs").exists()
