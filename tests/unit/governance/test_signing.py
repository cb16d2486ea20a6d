import json
import re
import shutil

import pytest

from governance.errors import PolicySignatureError
from governance.policy import POLICY_DIR, check_all
from governance.signing import keygen, load_private, sign_policy, verify_policy
from tests.conftest import sign_as_every_party, sign_policies


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
    approval = verify_policy(policies / "nhs.yaml", approvers)
    assert "Test Approver" in approval.approver and len(approval.signers) == 4  # one per party


def test_one_key_named_for_two_parties_fails_the_check(signed, monkeypatch):
    policies, approvers = signed
    monkeypatch.setenv("MCN_APPROVERS_DIR", str(approvers))
    path = policies / "dwp.yaml"
    ids = re.findall(r"approvers: \[([^\]]*)\]", path.read_text())
    path.write_text(path.read_text().replace(ids[1], ids[0]))
    _, problems = check_all(policies)
    assert "POL028" in [p.code for p in problems]


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
    (policies / "dwp.yaml.sig").unlink()
    sign_as_every_party(policies / "dwp.yaml", load_private(key), "Somebody Else")
    with pytest.raises(PolicySignatureError) as info:  # it counts for nobody: DWP has not signed
        verify_policy(policies / "dwp.yaml", approvers)
    assert info.value.code == "POL034" and "missing Department for Work and Pensions" in str(
        info.value
    )
    record = json.loads((policies / "dwp.yaml.sig").read_text())
    record["signatures"] = [s for s in record["signatures"] if s["approver"] == "Somebody Else"]
    (policies / "dwp.yaml.sig").write_text(json.dumps(record))
    with pytest.raises(PolicySignatureError) as info:  # signed by an untrusted key alone
        verify_policy(policies / "dwp.yaml", approvers)
    assert info.value.code == "POL032"


def test_forged_signature_is_refused(signed):
    policies, approvers = signed
    sig = policies / "council.yaml.sig"
    record = json.loads(sig.read_text())
    record["signatures"][-1]["signed_at"] = "2020-01-01T00:00:00+00:00"  # another date: breaks
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


def _two_keys(tmp_path, approvers):
    keys = {}
    for name in ("Provider DPO", "Recipient IG Lead"):
        key, pub = keygen(name, tmp_path / "two")
        shutil.copy(pub, approvers / pub.name)
        keys[name] = load_private(key)
    return keys


def _name_parties(path, provider, recipient):
    """Name the provider's and the recipient's approvers in a copied police policy."""
    lines, out, role = path.read_text().split("\n"), [], None
    for line in lines:
        if line.strip().startswith("role:"):
            role = line.split(":")[1].strip()
        if line.strip().startswith("approvers:"):
            line = f"      approvers: [{provider if role == 'provider' else recipient}]"
        out.append(line)
    path.write_text("\n".join(out))


def test_a_policy_signed_by_one_party_only_is_refused_naming_the_missing_party(signed, tmp_path):
    policies, approvers = signed
    keys = _two_keys(tmp_path, approvers)
    ids = {n: k.public_key() for n, k in keys.items()}
    from governance.signing import public_key_id

    path = policies / "police.yaml"
    _name_parties(path, public_key_id(ids["Provider DPO"]), public_key_id(ids["Recipient IG Lead"]))
    (policies / "police.yaml.sig").unlink()
    sign_policy(path, keys["Provider DPO"], "Provider DPO")
    with pytest.raises(PolicySignatureError) as info:
        verify_policy(path, approvers)
    assert info.value.code == "POL034"
    assert "missing Example MCN Partnership" in str(info.value)
    assert "Example Constabulary" not in str(info.value).split("Signed by")[0]
    sign_policy(path, keys["Recipient IG Lead"], "Recipient IG Lead")
    approval = verify_policy(path, approvers)
    assert approval.approver == "Provider DPO; Recipient IG Lead"
    assert len(approval.signers) == 2


def test_a_key_no_party_names_cannot_sign(signed, tmp_path):
    policies, _ = signed
    key, _ = keygen("Stranger", tmp_path / "s")
    with pytest.raises(PolicySignatureError) as info:
        sign_policy(policies / "dwp.yaml", load_private(key), "Stranger")
    assert info.value.code == "POL035"


def test_each_signature_binds_text_key_id_and_time(signed):
    policies, approvers = signed
    sig = policies / "nhs.yaml.sig"
    record = json.loads(sig.read_text())
    other = dict(record["signatures"][-1], key_id="a-000000000000")
    record["signatures"] = [other]
    sig.write_text(json.dumps(record))
    with pytest.raises(PolicySignatureError) as info:
        verify_policy(policies / "nhs.yaml", approvers)
    assert info.value.code == "POL032"
