"""`mcn ig register`, `mcn policy diff`, `mcn policy check` with two-party approval: real CLI."""

import datetime as dt
import re
import shutil

import pytest

from flows.cli import main
from governance.policy import POLICY_DIR, load_policy
from governance.signing import keygen, load_private, public_key_id, sign_policy
from schemas.registry import partner_names
from tests.conftest import sign_policies

VALID_TO = load_policy("police").agreement.valid_to


@pytest.fixture
def signed(tmp_path, monkeypatch):
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    approvers = sign_policies(policies, tmp_path)
    monkeypatch.setenv("MCN_APPROVERS_DIR", str(approvers))
    return policies, approvers


def test_register_lists_every_agreement_in_force(capsys):
    assert main(["ig", "register", "--on", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    for agreement in ("DSA-POLICE-2026-01", "DSA-NHS-2026-01", "DSA-DWP-2026-01"):
        assert agreement in out
    assert "in force" in out and "Example Constabulary DPO (demo approver)" in out


def test_an_agreement_expiring_within_the_window_warns_then_fails_once_expired(capsys):
    soon = VALID_TO - dt.timedelta(days=20)
    assert main(["ig", "register", "--on", str(soon), "--within", "30"]) == 0
    err = capsys.readouterr().err
    assert f"police DSA-POLICE-2026-01: expiring {VALID_TO} (within 30 days)" in err
    later = VALID_TO + dt.timedelta(days=1)
    assert main(["ig", "register", "--on", str(later)]) == 7
    err = capsys.readouterr().err
    assert "police DSA-POLICE-2026-01: expired" in err and "error: agreement(s) not in force" in err


@pytest.mark.parametrize("fmt,marker", [("csv", "partner,agreement,status"), ("html", "<table>")])
def test_register_writes_csv_and_html(tmp_path, capsys, fmt, marker):
    out = tmp_path / f"register.{fmt}"
    assert main(["ig", "register", "--format", fmt, "--out", str(out)]) == 0
    assert marker in out.read_text() and "DSA-COUNCIL-2026-01" in out.read_text()


def _one_side(policies, tmp_path):
    """police.yaml naming a provider and a recipient key; only the provider signs."""
    keys = {}
    for name in ("Provider DPO", "Recipient IG Lead"):
        key, pub = keygen(name, tmp_path / "two")
        keys[name] = (load_private(key), pub)
    path = policies / "police.yaml"
    text, ids = path.read_text(), [public_key_id(k.public_key()) for k, _ in keys.values()]
    text = re.sub(r"approvers: \[[^\]]*\]", "APPROVERS", text)
    text = text.replace("APPROVERS", f"approvers: [{ids[0]}]", 1)
    path.write_text(text.replace("APPROVERS", f"approvers: [{ids[1]}]", 1))
    (policies / "police.yaml.sig").unlink()
    sign_policy(path, keys["Provider DPO"][0], "Provider DPO")
    return keys


def test_a_policy_signed_by_one_party_only_is_refused_naming_the_missing_party(
    signed, tmp_path, capsys
):
    policies, approvers = signed
    for _, pub in _one_side(policies, tmp_path).values():
        shutil.copy(pub, approvers / pub.name)
    assert main(["policy", "check", "--policy-dir", str(policies)]) == 4
    out = capsys.readouterr().out
    assert "[POL034]" in out and "missing Example MCN Partnership" in out
    assert main(["ig", "register", "--policy-dir", str(policies)]) == 7
    assert "police DSA-POLICE-2026-01: unsigned (POL034)" in capsys.readouterr().err


def test_policy_diff_names_a_changed_treatment_and_retention(signed, capsys):
    policies, _ = signed
    path = policies / "nhs.yaml"
    text = path.read_text().replace("    sex: [pseudonymise, keep]\n", "    sex: pseudonymise\n", 1)
    path.write_text(text.replace("staged: 730", "staged: 365"))
    assert main(["policy", "diff", "nhs", "--policy-dir", str(policies)]) == 0
    out = capsys.readouterr().out
    assert "treatment changed: ae_attendances.sex from pseudonymise and keep to pseudonymise" in out
    assert "agreement retention.staged changed from 730 days to 365 days" in out


def test_sign_all_signs_only_where_the_key_is_named(signed, tmp_path, capsys):
    policies, approvers = signed
    key, pub = keygen("Unnamed Officer", tmp_path / "u")
    shutil.copy(pub, approvers / pub.name)
    assert main(["policy", "sign", "--all", "--key", str(key), "--policy-dir", str(policies)]) == 0
    assert capsys.readouterr().out.count("skipped") == len(partner_names())  # named by none


def test_the_night_summary_carries_the_register_warnings():
    from flows.nightly import agreement_warnings
    from flows.runs import night_markdown

    warnings = agreement_warnings(VALID_TO - dt.timedelta(days=10))
    assert any(w.startswith("police DSA-POLICE-2026-01: expiring") for w in warnings)
    cohort = {
        "run_date": "2027-12-21",
        "persons": 1,
        "mcn_threshold": 3,
        "mcn_persons": 0,
        "needs_version": "v1",
        "lookback_days": 365,
        "records_linked": 1,
        "linkage": {"pairs_by_rule": {}},
        "persons_by_need_count": {},
    }
    text = night_markdown({"run_id": "r", "cohort": cohort, "agreements": warnings})
    assert "- **agreement**: police DSA-POLICE-2026-01: expiring" in text


def test_a_policy_naming_no_approvers_is_brought_under_two_party_approval(signed, tmp_path, capsys):
    """As after merging a partner whose policy was signed under one key: name an approver per
    party, then each signs every policy naming them."""
    policies, approvers = signed
    path = policies / "police.yaml"
    path.write_text(re.sub(r"\n +approvers: \[[^\]]*\][^\n]*", "", path.read_text()))
    (policies / "police.yaml.sig").unlink()
    assert main(["policy", "check", "--policy-dir", str(policies)]) == 4
    assert "[POL027]" in capsys.readouterr().out
    keys = {}
    for party in (
        "Example Constabulary",
        "Example MCN Partnership (hosted by Example City Council)",
    ):
        key, pub = keygen(f"{party[:20]} approver", tmp_path / "new")
        shutil.copy(pub, approvers / pub.name)
        keys[party] = key
        add = ["policy", "add-approver", "police", "--party", party, "--public-key", str(pub)]
        assert main([*add, "--policy-dir", str(policies)]) == 0
    assert "# Every column of every extract" in path.read_text()  # comments kept
    for key in keys.values():
        assert (
            main(["policy", "sign", "--key", str(key), "--all", "--policy-dir", str(policies)]) == 0
        )
    capsys.readouterr()
    assert main(["policy", "check", "--policy-dir", str(policies)]) == 0
    assert "Example Constabulary approver" in capsys.readouterr().out


def test_add_approver_names_the_parties_when_the_party_is_unknown(signed, tmp_path, capsys):
    policies, _ = signed
    _, pub = keygen("Someone", tmp_path / "s")
    add = ["policy", "add-approver", "dwp", "--party", "Nobody", "--public-key", str(pub)]
    assert main([*add, "--policy-dir", str(policies)]) == 4
    assert "Department for Work and Pensions" in capsys.readouterr().err
