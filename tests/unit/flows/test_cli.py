import pytest

from flows.cli import main
from governance.keys import ENV_KEY, ENV_KEY_FILE


def test_run_without_a_key_fails_fast_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    assert main(["run", "--data-dir", str(tmp_path)]) == 5
    err = capsys.readouterr().err
    assert err.startswith("error: no linkage key") and "Fix:" in err and ENV_KEY_FILE in err


def test_synth_writes_and_reports_every_extract(tmp_path, capsys):
    assert main(["synth", "--people", "500", "--out", str(tmp_path), "--as-of", "2026-11-01"]) == 0
    out = capsys.readouterr().out
    for name in (
        "police/crimes",
        "nhs/ae_attendances",
        "council/homelessness_cases",
        "dwp/uc_claims",
    ):
        assert name in out
    assert (tmp_path / "ground_truth" / "records.parquet").exists()


def test_bad_date_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--as-of", "01/11/2026"])
    assert exc.value.code == 2
    assert "is not a date like" in capsys.readouterr().err
