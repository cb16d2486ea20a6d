import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main
from governance.keys import ENV_KEY, ENV_KEY_FILE


def test_run_without_a_key_fails_fast_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    (tmp_path / "landing").mkdir()
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


def test_run_on_a_mistyped_data_dir_creates_nothing_and_says_so(tmp_path, capsys):
    typo = tmp_path / "dta"
    assert main(["run", "--data-dir", str(typo)]) == 15
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "--data-dir" in err
    assert not typo.exists()
    (tmp_path / "empty").mkdir()
    assert main(["run", "--data-dir", str(tmp_path / "empty")]) == 15
    assert "landing/" in capsys.readouterr().err
    assert list((tmp_path / "empty").iterdir()) == []


def test_synth_refuses_a_negative_population(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--people", "-5"])
    assert exc.value.code == 2 and "at least 1" in capsys.readouterr().err


def test_synth_does_not_overwrite_landing_without_force(tmp_path, capsys):
    args = ["synth", "--people", "200", "--out", str(tmp_path), "--as-of", "2026-11-01"]
    assert main(args) == 0
    before = (tmp_path / "landing" / "police" / "crimes.csv").read_bytes()
    assert main([*args[:2], "300", *args[3:]]) == 18
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "landing" / "police" / "crimes.csv").read_bytes() == before
    assert main([*args[:2], "300", *args[3:], "--force"]) == 0


def test_audit_report_with_from_after_to_is_a_usage_error(tmp_path, capsys):
    code = main(
        [
            "audit",
            "report",
            "--data-dir",
            str(tmp_path),
            "--from",
            "2026-11-30",
            "--to",
            "2026-11-01",
        ]
    )
    assert code == 2 and "swap" in capsys.readouterr().err


def test_policy_map_with_no_policies_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MCN_POLICY_DIR", str(tmp_path / "missing"))
    assert main(["policy", "map"]) == 4
    assert "POL001" in capsys.readouterr().err


def test_an_internal_error_prints_one_line_and_logs_the_traceback(tmp_path, monkeypatch, capsys):
    import flows.cli as cli

    def broken(args):
        raise ZeroDivisionError("boom")

    monkeypatch.delenv("MCN_DEBUG", raising=False)
    monkeypatch.setattr(cli, "cmd_linkage_score", broken)
    (tmp_path / "landing").mkdir()
    assert main(["linkage", "score", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "ZeroDivisionError" in err
    log = (tmp_path / "logs" / "mcn.log").read_text()
    assert "Traceback" in log and "boom" in log


def _exit_now(script: str) -> subprocess.CompletedProcess[str]:
    head = "import atexit, sys, threading, time\nfrom flows.cli import exit_now\n"
    root = Path(__file__).resolve().parents[3]
    return subprocess.run(
        [sys.executable, "-c", head + script], capture_output=True, text=True, cwd=root
    )


def test_the_command_ends_with_its_code_after_its_exit_handlers_and_all_it_printed(tmp_path):
    """`mcn` skips Python's teardown (flows.cli.exit_now), not the exit handlers (which close
    logs and temporary folders) nor output still in a buffer."""
    marker = tmp_path / "handler"
    done = _exit_now(
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "sys.stdout.write('no newline: still in the buffer')\n"
        "exit_now(7)\n"
        "print('never')\n"
    )
    assert done.returncode == 7, done.stderr
    assert done.stdout == "no newline: still in the buffer"
    assert marker.read_text() == "ran"


def test_the_command_waits_for_a_working_thread_after_threadings_own_exit_hooks(tmp_path):
    """As at Python's own exit: threading's exit hooks first (Prefect's log and event workers
    hand over what they hold there), then the wait for threads that are not daemons."""
    hook, thread = tmp_path / "hook", tmp_path / "thread"
    done = _exit_now(
        f"threading._register_atexit(lambda: open({str(hook)!r}, 'w').write('ran'))\n"
        "def work():\n"
        "    time.sleep(0.3)\n"
        f"    open({str(thread)!r}, 'w').write('finished')\n"
        "threading.Thread(target=work).start()\n"
        "exit_now(5)\n"
    )
    assert done.returncode == 5, done.stderr
    assert (hook.read_text(), thread.read_text()) == ("ran", "finished")
