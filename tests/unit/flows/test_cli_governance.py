import shutil

from flows.cli import main
from governance.audit import AuditLog
from governance.policy import POLICY_DIR


def test_keygen_then_sign_makes_an_edited_policy_pass_again(tmp_path, monkeypatch, capsys):
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    path = policies / "dwp.yaml"
    path.write_text(path.read_text().replace("staged: 730", "staged: 700"))
    assert main(["policy", "check", "--policy-dir", str(policies), "--on", "2026-11-01"]) == 4
    assert "POL031" in capsys.readouterr().out
    assert main(["policy", "keygen", "--name", "Test Officer", "--out", str(tmp_path / "k")]) == 0
    approvers = tmp_path / "approvers"
    approvers.mkdir()
    shutil.copy(tmp_path / "k" / "test-officer.json", approvers)
    monkeypatch.setenv("MCN_APPROVERS_DIR", str(approvers))
    assert (
        main(
            [
                "policy",
                "sign",
                "--key",
                str(tmp_path / "k" / "test-officer.key"),
                "--approver",
                "Test Officer",
                "--all",
                "--policy-dir",
                str(policies),
            ]
        )
        == 0
    )
    assert main(["policy", "check", "--policy-dir", str(policies), "--on", "2026-11-01"]) == 0
    assert "signed by Test Officer" in capsys.readouterr().out


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


def test_checkpoint_seals_entries_a_stopped_run_left_uncovered(tmp_path, monkeypatch, capsys):
    key = tmp_path / "audit.key"
    assert main(["audit", "keygen", "--out", str(key)]) == 0
    monkeypatch.setenv("MCN_AUDIT_KEY_FILE", str(key))
    log = AuditLog(tmp_path / "data" / "audit")
    log.append("ingest", partner="dwp", rows_in=1)
    assert main(["audit", "checkpoint", "--data-dir", str(tmp_path / "data")]) == 0
    log.append("ingest", partner="nhs", rows_in=2)  # the run stops here
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["audit", "verify", *data]) == 10
    assert "not covered by a signed checkpoint" in capsys.readouterr().err
    assert main(["audit", "checkpoint", *data]) == 0
    assert main(["audit", "verify", *data, "--public-key", str(key.with_suffix(".pub"))]) == 0


def test_policy_map_markdown_names_every_column(capsys):
    assert main(["policy", "map", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| source column |")
    assert "| nhs.ae_attendances.nhs_number | pseudonymise |" in out
    assert "cohort.age_band" in out and out.count("\n") > 60
