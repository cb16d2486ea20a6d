"""SIGKILL at many points spread over a whole `mcn run`, against a real Prefect server.

Each time: the published set is the old one or the new one, complete and from one run; the
audit log verifies, or names the command that seals an interrupted tail; the next run succeeds
unaided; and then no temporary file or incomplete set remains.

Half the killed runs stage every extract again (staged/ removed first), so kills land in
reading, checking, pseudonymising and staging; the other half find everything staged, so their
kills land, spread as densely, in linking, deriving needs and publishing. The kills run in two
lanes (two data directories, one server) at once. Up to 50 points, taken in an order that
covers the whole run first and then fills the gaps; on a machine too slow for all of them in
the kill phase's budget (MCN_CRASH_BUDGET, 360 s), the lanes stop once past it, after at least
12 kills, so CI keeps to its time on a slow machine and every kill still lands somewhere new.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.publish import MANIFEST, TABLES
from tests.conftest import RUN_DATE, sign_optout

pytestmark = pytest.mark.slow
KILLS = int(os.environ.get("MCN_CRASH_POINTS", "50"))
LANES = int(os.environ.get("MCN_CRASH_LANES", "2"))
BUDGET = float(os.environ.get("MCN_CRASH_BUDGET", "360"))  # seconds for the kills, all lanes
MIN_KILLS = min(KILLS, 12)
MCN = [sys.executable, "-m", "flows.cli"]
_in_process = threading.Lock()


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


def _complete(data: Path, env: dict) -> float:
    start = time.monotonic()
    run = _run(data, env)
    _, err = run.communicate(timeout=900)
    assert run.returncode == 0, err.decode()[-2000:]
    return time.monotonic() - start


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
    """`mcn audit verify`, run in this process (the same code as the command, without paying
    for a Python start each time): its exit code and what it printed on stderr."""
    from flows.cli import main

    err = io.StringIO()
    with _in_process, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        saved_env, saved_umask = dict(os.environ), os.umask(0o022)
        os.umask(saved_umask)
        os.environ.update({k: v for k, v in env.items() if k.startswith("MCN_")})
        try:
            code = main(["audit", "verify", "--data-dir", str(data)])
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            os.umask(saved_umask)
    return code, err.getvalue()


def _spread(n: int) -> list[int]:
    """0 .. n-1, the two ends first, then each time the middle of the widest gap left: any
    prefix of the order is spread over the whole range."""
    order, gaps = [0, n - 1][:n], [(0, n - 1)] if n > 1 else []
    while gaps:
        a, b = max(gaps, key=lambda g: g[1] - g[0])
        gaps.remove((a, b))
        if b - a > 1:
            mid = (a + b) // 2
            order.append(mid)
            gaps += [(a, mid), (mid, b)]
    return order


def _lane(
    data: Path, env: dict, points: list[tuple[float, bool]], whole: dict, deadline: float
) -> dict:
    """Kill a run at each (fraction of a whole run, stage again?) point; check; recover.
    Past the deadline, stop once this lane's share of MIN_KILLS is done."""
    outcomes = {"old": 0, "new": 0}
    for fraction, fresh in points:
        if sum(outcomes.values()) >= -(-MIN_KILLS // LANES) and time.monotonic() > deadline:
            break
        if fresh:
            shutil.rmtree(data / "staged")  # so the killed run stages again, not only builds
        sets_before = {p.name for p in (data / "published").iterdir()}
        old = _current(data)
        victim = _run(data, env)
        time.sleep(whole[fresh] * fraction)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        now = _assert_one_complete_set(data)
        assert now == old or now not in sets_before  # the old set, or the killed run's own
        outcomes["old" if now == old else "new"] += 1
        code, err = _verify(data, env)
        assert code == 0 or "mcn audit seal" in err, err
        _complete(data, env)  # the next run succeeds unaided
        assert _assert_one_complete_set(data) not in sets_before | {now}
        assert not _leftovers(data), _leftovers(data)
        code, err = _verify(data, env)
        assert code == 0 and "no signed head" not in err, err
    return outcomes


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
    lanes = [tmp_path / f"lane{i}" for i in range(LANES)]
    for data in lanes:
        synthesise(120, 3, data, RUN_DATE)
        sign_optout(data)

    # How long a whole run takes here, now, with every lane busy: staging everything, and with
    # everything staged already (the first runs stage, the second ones find it staged).
    with ThreadPoolExecutor(LANES) as pool:
        fresh = max(pool.map(lambda d: _complete(d, env), lanes))
        staged = max(pool.map(lambda d: _complete(d, env), lanes))
    whole = {True: fresh, False: staged}

    # KILLS points, alternately fresh and staged, each kind spread from 5% to 100% of its
    # whole run and taken in _spread's order; dealt round-robin to the lanes.
    per_kind = (KILLS + 1) // 2
    at = [0.05 + 0.95 * i / max(1, per_kind - 1) for i in _spread(per_kind)]
    points = [(f, fresh) for f in at for fresh in (True, False)][:KILLS]
    deadline = time.monotonic() + BUDGET
    with ThreadPoolExecutor(LANES) as pool:
        results = list(
            pool.map(
                lambda n: _lane(lanes[n], env, points[n::LANES], whole, deadline), range(LANES)
            )
        )
    outcomes = {k: sum(r[k] for r in results) for k in ("old", "new")}
    assert outcomes["old"] and MIN_KILLS <= sum(outcomes.values()) <= KILLS
