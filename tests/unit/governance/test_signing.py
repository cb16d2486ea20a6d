import json
import shutil

import pytest

from governance.errors import PolicySignatureError
from governance.policy import POLICY_DIR, check_all
from governance.signing import keygen, load_private, sign_policy, verify_policy
from tests.conftest import sign_policies


@pytest.fixture
def signed(tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    approvers = sign_policies(policies, tmp_path)
    return policies, approvers


def test_shipped_policies_are_signed_by_a_shipped_approver():
    for path in sorted(POLICY_DIR.glob("*.yaml")):
        approval = verify_policy(path)
        assert approval.key_id.startswith("a-") and approval.approver


def test_a_fresh_signature_verifies(signed):
    policies, approvers = signed
    assert verify_policy(policies / "nhs.yaml", approvers).approver == "Test Approver"


@pytest.mark.parametrize("offset", [0, 100, -2])
def test_editing_one_byte_breaks_the_approval(signed, offset):
    policies, approvers = signed
    path = policies / "police.yaml"
    data = bytearray(path.read_bytes())
    data[offset] = ord("#") if data[offset] != ord("#") else ord(" ")
    path.write_bytes(bytes(data))
    with pytest.raises(PolicySignatureError) as info:
        verify_policy(path, approvers)
    assert info.value.code == "POL031" and "police.yaml" in str(info.value)


def test_unsigned_policy_is_refused(signed):
    policies, approvers = signed
    (policies / "dwp.yaml.sig").unlink()
    with pytest.raises(PolicySignatureError) as info:
        verify_policy(policies / "dwp.yaml", approvers)
    assert info.value.code == "POL030"


def test_signature_by_an_untrusted_key_is_refused(signed, tmp_path):
    policies, approvers = signed
    key, _ = keygen("Somebody Else", tmp_path / "other")
    sign_policy(policies / "dwp.yaml", load_private(key), "Somebody Else")
    with pytest.raises(PolicySignatureError) as info:
        verify_policy(policies / "dwp.yaml", approvers)
    assert info.value.code == "POL032"


def test_forged_signature_is_refused(signed):
    policies, approvers = signed
    sig = policies / "council.yaml.sig"
    record = json.loads(sig.read_text())
    record["signed_at"] = "2020-01-01T00:00:00+00:00"  # claim another date: signature breaks
    sig.write_text(json.dumps(record))
    with pytest.raises(PolicySignatureError) as info:
        verify_policy(policies / "council.yaml", approvers)
    assert info.value.code == "POL033"


def test_policy_check_lists_signature_problems_with_codes(signed, monkeypatch):
    policies, approvers = signed
    monkeypatch.setenv("MCN_APPROVERS_DIR", str(approvers))
    (policies / "nhs.yaml").write_text((policies / "nhs.yaml").read_text() + "\n")
    _, problems = check_all(policies)
    assert [(p.code, p.key) for p in problems] == [("POL031", "signature")]


def test_private_key_file_is_private(tmp_path):
    key, pub = keygen("A N Other", tmp_path)
    assert key.stat().st_mode & 0o077 == 0
    assert "PRIVATE" not in pub.read_text()
