"""`mcn` gives Prefect's ephemeral server time to start under load, unless the user said."""

import os
import subprocess
import sys

TIMEOUT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def _python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != TIMEOUT}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout.strip()


def test_mcn_raises_prefects_ephemeral_start_timeout_and_prefect_reads_it():
    code = (
        "import flows.cli; from prefect.settings import get_current_settings as s;"
        "print(s().server.ephemeral.startup_timeout_seconds)"
    )
    assert _python(code) == "300"  # Prefect's own default is 20


def test_a_timeout_the_user_set_is_kept():
    code = f"import os, flows.cli; print(os.environ['{TIMEOUT}'])"
    assert _python(code, **{TIMEOUT: "45"}) == "45"
