import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from governance.errors import AgreementNotInForceError, PolicyError
from governance.policy import POLICY_DIR, check_all, load_policy, require_in_force
from schemas.registry import partner, partner_names


@pytest.fixture
def policy_dir(tmp_path) -> Path:
    shutil.copytree(POLICY_DIR, tmp_path / "policies")
    return tmp_path / "policies"


def _edit(policy_dir: Path, name: str, change) -> None:
    path = policy_dir / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def test_shipped_policies_pass_and_name_every_schema_column():
    policies, problems = check_all(on=dt.date(2026, 11, 1))
    assert problems == [] and set(policies) == set(partner_names())
    for name, policy in policies.items():
        for ex in partner(name).extracts:
            assert policy.unnamed(ex) == [], f"{name}/{ex.name} leaves columns unnamed"


def test_broken_policy_reports_every_problem_with_file_key_and_code(policy_dir):
    def breaks(d):
        d["extracts"]["crimes"]["shoe_size"] = "keep"  # unknown column
        d["extracts"]["crimes"]["role"] = None  # missing treatment
        d["extracts"]["crimes"]["forename"] = "encrypt"  # unknown treatment
        del d["agreement"]["legal_gateway"]  # missing particular

    _edit(policy_dir, "police", breaks)
    with pytest.raises(PolicyError) as info:
        load_policy("police", policy_dir, verify=False)
    text = str(info.value)
    for key in ("extracts.crimes.role", "extracts.crimes.forename", "agreement.legal_gateway"):
        assert key in text
    assert "police.yaml" in text and "POL003" in text


def test_unknown_column_is_named_with_its_rule(policy_dir):
    _edit(policy_dir, "police", lambda d: d["extracts"]["crimes"].update(shoe_size="keep"))
    _, problems = check_all(policy_dir, verify=False)
    assert [(p.key, p.code) for p in problems] == [("extracts.crimes.shoe_size", "POL012")]


def test_generalisation_must_fit_the_column(policy_dir):
    _edit(
        policy_dir,
        "nhs",
        lambda d: d["extracts"]["mh_referrals"].update(surname={"generalise": "age_band"}),
    )
    _, problems = check_all(policy_dir, verify=False)
    assert [p.code for p in problems] == ["POL014"]


def test_event_date_must_be_kept(policy_dir):
    _edit(policy_dir, "dwp", lambda d: d["extracts"]["uc_claims"].update(claim_start="drop"))
    _, problems = check_all(policy_dir, verify=False)
    assert [p.code for p in problems] == ["POL015"]


def test_a_schema_column_without_treatment_fails(policy_dir):
    _edit(policy_dir, "police", lambda d: d["extracts"]["crimes"].pop("anti_social_behaviour"))
    _, problems = check_all(policy_dir, verify=False)
    assert [(p.key, p.code) for p in problems] == [
        ("extracts.crimes.anti_social_behaviour", "POL016")
    ]


def test_special_category_data_needs_its_condition(policy_dir):
    _edit(policy_dir, "nhs", lambda d: d["agreement"].pop("special_category_condition"))
    _, problems = check_all(policy_dir, verify=False)
    assert [(p.key, p.code) for p in problems] == [
        ("agreement.special_category_condition", "POL020")
    ]
    assert "ae_attendances.self_harm" in problems[0].message


def test_criminal_offence_data_needs_its_condition(policy_dir):
    _edit(policy_dir, "police", lambda d: d["agreement"].pop("criminal_offence_condition"))
    _, problems = check_all(policy_dir, verify=False)
    assert [p.code for p in problems] == ["POL021"]


def test_dropping_every_sensitive_column_needs_no_condition(policy_dir):
    def drop_all(d):
        d["agreement"].pop("criminal_offence_condition")
        for col in ("offence_category", "role", "domestic_abuse", "anti_social_behaviour"):
            d["extracts"]["crimes"][col] = "drop"

    _edit(policy_dir, "police", drop_all)
    assert check_all(policy_dir, verify=False)[1] == []


def test_nhs_sourced_data_must_apply_the_opt_out(policy_dir):
    _edit(policy_dir, "nhs", lambda d: d["agreement"].pop("opt_out"))
    _, problems = check_all(policy_dir, verify=False)
    assert [p.code for p in problems] == ["POL024"]


def test_review_date_inside_validity(policy_dir):
    _edit(policy_dir, "dwp", lambda d: d["agreement"].update(review_date="2030-01-01"))
    assert [p.code for p in check_all(policy_dir, verify=False)[1]] == ["POL022"]


def test_expired_agreement_fails_the_check_on_a_date(policy_dir):
    _, problems = check_all(policy_dir, verify=False, on=dt.date(2028, 1, 1))
    assert sorted(p.code for p in problems) == ["POL025"] * len(partner_names())


def test_missing_policy_file_is_reported(policy_dir):
    (policy_dir / "dwp.yaml").unlink()
    _, problems = check_all(policy_dir, verify=False)
    assert [(p.code, Path(p.file).name) for p in problems] == [("POL001", "dwp.yaml")]


def test_expired_agreement_blocks_processing():
    policy = load_policy("police")
    require_in_force(policy, dt.date(2026, 6, 1))
    with pytest.raises(AgreementNotInForceError, match="DSA-POLICE"):
        require_in_force(policy, dt.date(2028, 1, 1))
