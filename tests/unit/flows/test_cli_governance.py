import json
import os
import re
import shutil

from flows.cli import main
from governance.audit import AuditLog
from governance.policy import POLICY_DIR
from governance.signing import APPROVERS_DIR


def test_keygen_then_sign_makes_an_edited_policy_pass_again(tmp_path, monkeypatch, capsys):
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    path = policies / "dwp.yaml"
    path.write_text(path.read_text().replace("quarantine: 30", "quarantine: 29"))
    assert main(["policy", "check", "--policy-dir", str(policies), "--on", "2026-11-01"]) == 4
    assert "POL031" in capsys.readouterr().out
    keys = tmp_path / "k"
    for name in ("DWP Test Officer", "Test Officer"):
        assert main(["policy", "keygen", "--name", name, "--out", str(keys)]) == 0
    approvers = tmp_path / "approvers"
    approvers.mkdir()
    for pub in keys.glob("*.json"):
        shutil.copy(pub, approvers)
    monkeypatch.setenv("MCN_APPROVERS_DIR", f"{APPROVERS_DIR}{os.pathsep}{approvers}")
    ids = iter(
        json.loads((keys / f"{slug}.json").read_text())["key_id"]
        for slug in ("dwp-test-officer", "test-officer")  # provider, then recipient
    )
    path.write_text(
        re.sub(r"approvers: \[[^\]]*\]", lambda _: f"approvers: [{next(ids)}]", path.read_text())
    )
    for slug in ("dwp-test-officer", "test-officer"):
        sign = ["policy", "sign", "--key", str(keys / f"{slug}.key"), "--partner", "dwp"]
        assert main([*sign, "--policy-dir", str(policies)]) == 0
    assert main(["policy", "check", "--policy-dir", str(policies), "--on", "2026-11-01"]) == 0
    out = capsys.readouterr().out
    assert "signed by DWP Test Officer; Test Officer" in out


def test_sign_refuses_a_policy_that_fails_its_checks(tmp_path, capsys):
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    path = policies / "police.yaml"
    path.write_text(path.read_text().replace("role: keep", "role: encrypt"))
    main(["policy", "keygen", "--name", "T", "--out", str(tmp_path / "k")])
    code = main(
        [
            "policy",
            "sign",
            "--key",
            str(tmp_path / "k" / "t.key"),
            "--approver",
            "T",
            "--partner",
            "police",
            "--policy-dir",
            str(policies),
        ]
    )
    assert code == 4 and "extracts.crimes.role" in capsys.readouterr().err


def test_seal_shows_and_seals_entries_a_stopped_run_left_uncovered(tmp_path, monkeypatch, capsys):
    from governance.audit import Signer, load_audit_key

    key = tmp_path / "audit.key"
    assert main(["audit", "keygen", "--out", str(key)]) == 0
    monkeypatch.setenv("MCN_AUDIT_KEY_FILE", str(key))
    monkeypatch.delenv("MCN_AUDIT_PUBLIC_KEY_FILE", raising=False)
    log = AuditLog(tmp_path / "data" / "audit", Signer.service(load_audit_key()))
    log.append("ingest", run_id="r1", partner="dwp", rows_in=1)
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["audit", "seal", "--yes", *data]) == 0
    log.append("ingest", run_id="r2", partner="nhs", rows_in=2)  # the run stops here
    public = ["--public-key", str(key.with_suffix(".pub"))]
    capsys.readouterr()
    assert main(["audit", "verify", *data, *public]) == 0
    assert "no signed head covers them" in capsys.readouterr().err
    assert main(["audit", "seal", *data]) == 0  # not a terminal, no --yes: shows, seals nothing
    out = capsys.readouterr()
    assert "run ids r2" in out.out and "ingest 1" in out.out and "--yes" in out.err
    assert main(["audit", "seal", "--yes", *data]) == 0
    assert main(["audit", "verify", *data, *public]) == 0
    assert "no signed head" not in capsys.readouterr().err


def test_verify_needs_only_the_public_key_and_says_how_to_give_it(tmp_path, monkeypatch, capsys):
    key = tmp_path / "audit.key"
    main(["audit", "keygen", "--out", str(key)])
    monkeypatch.setenv("MCN_AUDIT_KEY_FILE", str(key))
    from governance.audit import service_log

    service_log(tmp_path / "data" / "audit").seal_run()
    monkeypatch.delenv("MCN_AUDIT_KEY_FILE")  # a verifier holds no private key
    monkeypatch.delenv("MCN_AUDIT_PUBLIC_KEY_FILE", raising=False)
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["audit", "verify", *data]) == 5
    err = capsys.readouterr().err
    assert "--public-key" in err and "MCN_AUDIT_PUBLIC_KEY_FILE" in err
    monkeypatch.setenv("MCN_AUDIT_PUBLIC_KEY_FILE", str(key.with_suffix(".pub")))
    assert main(["audit", "verify", *data]) == 0


def test_verify_a_mistyped_data_dir_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "no-such-dir"
    assert main(["audit", "verify", "--data-dir", str(missing)]) == 10
    assert not missing.exists() and "--data-dir" in capsys.readouterr().err


def test_policy_map_markdown_names_every_column(capsys):
    assert main(["policy", "map", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| source column |")
    assert "| nhs.ae_attendances.nhs_number | pseudonymise |" in out
    assert "cohort.age_band" in out and out.count("\n") > 60
