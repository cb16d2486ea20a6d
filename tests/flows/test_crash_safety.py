"""SIGKILL at many points spread over a whole `mcn run`, against a real Prefect server.

Each time: the published set is the old one or the new one, complete and from one run; the
audit log verifies, or names the command that seals an interrupted tail; the next run succeeds
unaided; and then no temporary file or incomplete set remains.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.publish import MANIFEST, TABLES
from tests.conftest import RUN_DATE, sign_optout

pytestmark = pytest.mark.slow
KILLS = int(os.environ.get("MCN_CRASH_POINTS", "50"))
MCN = [sys.executable, "-m", "flows.cli"]


def _env(server: str, keys: dict) -> dict:
    return {
        **os.environ,
        **{k: str(v) for k, v in keys.items()},
        "PREFECT_API_URL": server,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GX_ANALYTICS_ENABLED": "false",
    }


def _run(data: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [*MCN, "run", "--data-dir", str(data), "--run-date", str(RUN_DATE)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: SIGKILL reaches everything it started
    )


def _current(data: Path) -> str:
    return os.readlink(data / "published" / "current")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_one_complete_set(data: Path) -> str:
    """The current set is complete and every table in it comes from its run."""
    run_id = _current(data)
    folder = data / "published" / run_id
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["run_id"] == run_id
    for rel, digest in manifest["files"].items():
        assert _sha(data / rel) == digest, rel
    for table in TABLES:
        footer = pq.read_metadata(folder / f"{table}.parquet").metadata
        assert footer[b"mcn.run_id"].decode() == run_id, table
    return run_id


def _leftovers(data: Path) -> list[str]:
    temps = [*data.rglob(".*.tmp"), *data.rglob("*.json.tmp")]
    incomplete = [
        p
        for p in (data / "published").iterdir()
        if p.is_dir() and not p.is_symlink() and not (p / MANIFEST).exists()
    ]
    return [str(p.relative_to(data)) for p in temps + incomplete]


def _verify(data: Path, env: dict) -> tuple[int, str]:
    done = subprocess.run(
        [*MCN, "audit", "verify", "--data-dir", str(data)], env=env, capture_output=True, text=True
    )
    return done.returncode, done.stderr


def test_sigkill_anywhere_leaves_old_or_new_outputs_and_the_next_run_recovers(
    prefect_server, tmp_path
):
    from flows.synth import synthesise
    from governance.audit import ENV_AUDIT_KEY_FILE, ENV_AUDIT_PUBLIC_KEY_FILE, create_audit_key
    from governance.keys import ENV_KEY_FILE, create_dev_key
    from governance.vault import ENV_VAULT_KEY_FILE, create_vault_key

    keys_dir = tmp_path / "keys"
    keys = {
        ENV_KEY_FILE: keys_dir / "linkage.key",
        ENV_VAULT_KEY_FILE: keys_dir / "vault.key",
        ENV_AUDIT_KEY_FILE: keys_dir / "audit.key",
    }
    create_dev_key(keys[ENV_KEY_FILE])
    create_vault_key(keys[ENV_VAULT_KEY_FILE])
    create_audit_key(keys[ENV_AUDIT_KEY_FILE])
    keys[ENV_AUDIT_PUBLIC_KEY_FILE] = keys_dir / "audit.pub"
    env = _env(prefect_server, keys)
    data = tmp_path / "data"
    synthesise(120, 3, data, RUN_DATE)
    sign_optout(data)

    start = time.monotonic()
    first = _run(data, env)
    assert first.wait(timeout=900) == 0, first.stderr.read().decode()[-2000:]
    whole = time.monotonic() - start  # how long a run takes here, now
    outcomes = {"old": 0, "new": 0}
    for i in range(KILLS):
        shutil.rmtree(data / "staged")  # so the killed run stages again, not only builds
        sets_before = {p.name for p in (data / "published").iterdir()}
        old = _current(data)
        victim = _run(data, env)
        time.sleep(whole * (0.05 + 0.95 * i / max(1, KILLS - 1)))
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        now = _assert_one_complete_set(data)
        assert now == old or now not in sets_before  # the old set, or the killed run's own
        outcomes["old" if now == old else "new"] += 1
        code, err = _verify(data, env)
        assert code == 0 or "mcn audit seal" in err, err
        recovery = _run(data, env)
        assert recovery.wait(timeout=900) == 0, recovery.stderr.read().decode()[-2000:]
        assert _assert_one_complete_set(data) not in sets_before | {now}
        assert not _leftovers(data), _leftovers(data)
        code, err = _verify(data, env)
        assert code == 0 and "no signed head" not in err, err
    assert outcomes["old"] and sum(outcomes.values()) == KILLS
