"""Measure `mcn synth` and `mcn run` at scale: wall time and peak memory of each step.

    uv run python benchmarks/pipeline_scale.py --people 1000000 [--data-dir bench-data]
        [--profile night.txt]   (py-spy on `mcn run`; benchmarks/profile_summary.py reads it)
        [--memtrace night.tsv]  (resident set per project line; benchmarks/memtrace.py reads it)

Each step runs in its own process tree; peak memory is the largest resident set in that tree
(getrusage of the waited-for children of a fresh wrapper process). Uses throwaway random
keys. Outside CI (minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from governance.audit import create_audit_key
from governance.optout import sign_manifest
from governance.signing import APPROVERS_DIR, keygen, load_private
from governance.vault import create_vault_key

# Runs the step in a fresh process and prints that process tree's peak RSS (KiB), so one
# step's peak is never mixed up with an earlier step's.
WRAPPER = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(r.ru_utime + r.ru_stime); print(r.ru_maxrss)"
)


def measure(cmd: list[str], env: dict) -> dict:
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cmd], check=True, env=env, capture_output=True, text=True
    ).stdout
    cpu_s, peak_kib = out.strip().splitlines()[-2:]
    return {
        "command": " ".join(cmd),
        "wall_s": round(time.monotonic() - start, 1),
        "cpu_s": round(float(cpu_s), 1),  # the step's process tree: steadier on a shared machine
        "peak_rss_gib": round(int(peak_kib) / 1024**2, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--data-dir", type=Path, default=Path("bench-data"))
    ap.add_argument("--run-date", default="2026-11-01")
    ap.add_argument(
        "--profile",
        type=Path,
        help="also record `mcn run` with py-spy (raw stacks, idle threads included, every "
        "thread) into this file; read it with benchmarks/profile_summary.py",
    )
    ap.add_argument(
        "--memtrace",
        type=Path,
        help="also sample `mcn run`'s resident set and the project line each thread is on, "
        "every 50 ms, into this file; read it with benchmarks/memtrace.py --read",
    )
    ap.add_argument(
        "--run-arg",
        action="append",
        default=[],
        help="an argument added to `mcn run` (repeat it: --run-arg=--runner --run-arg=dask)",
    )
    args = ap.parse_args()
    spy = ""
    if args.profile:  # checked before minutes of synthesis, not after
        spy = (
            shutil.which("py-spy")
            or shutil.which("py-spy", path=str(Path(sys.executable).parent))  # the venv's
            or str(Path.home() / ".local" / "bin" / "py-spy")
        )
        if not Path(spy).is_file():
            print(
                "error: --profile needs py-spy, which is not installed; install it with "
                "`python3 -m pip install --user py-spy` (or leave out --profile)",
                file=sys.stderr,
            )
            return 2
    shutil.rmtree(args.data_dir, ignore_errors=True)
    keys = Path(tempfile.mkdtemp(prefix="mcn-bench-keys-"))
    create_audit_key(keys / "audit.key")
    create_vault_key(keys / "vault.key")
    env = {
        **os.environ,
        "MCN_LINKAGE_KEY": secrets.token_hex(32),
        "MCN_AUDIT_KEY_FILE": str(keys / "audit.key"),
        "MCN_VAULT_KEY_FILE": str(keys / "vault.key"),
        # The operator's record of sealed audit heads, fresh too: a rerun on the same
        # --data-dir starts a new audit log under a new key.
        "MCN_STATE_DIR": str(keys / "state"),
    }
    # A throwaway IG officer, trusted beside the shipped approvers, vouches for the synthetic
    # opt-out list (a night refuses an unsigned one).
    officer, public = keygen("Benchmark IG officer", keys / "approver")
    (keys / "trusted").mkdir()
    (keys / "trusted" / public.name).write_bytes(public.read_bytes())
    env["MCN_APPROVERS_DIR"] = f"{APPROVERS_DIR}{os.pathsep}{keys / 'trusted'}"
    mcn = [sys.executable, "-m", "flows.cli"]
    results = {
        "people": args.people,
        "synth": measure(
            [
                *mcn,
                "synth",
                "--people",
                str(args.people),
                "--seed",
                "7",
                "--out",
                str(args.data_dir),
                "--as-of",
                args.run_date,
            ],
            env,
        ),
    }
    sign_manifest(args.data_dir / "optout", "Benchmark IG officer", load_private(officer))
    run = [
        *mcn,
        "run",
        "--data-dir",
        str(args.data_dir),
        "--run-date",
        args.run_date,
        *args.run_arg,
    ]
    if args.memtrace:
        tracer = str(Path(__file__).with_name("memtrace.py"))
        run = [sys.executable, tracer, str(args.memtrace), "--", *run[len(mcn) :]]
    if args.profile:  # py-spy's own overhead is small at 20 samples a second
        run = [
            spy,
            "record",
            "--idle",
            "-f",
            "raw",
            "-r",
            "20",
            "-o",
            str(args.profile),
            "--",
            *run,
        ]
    results["run"] = measure(run, env)
    score = subprocess.run(
        [*mcn, "linkage", "score", "--data-dir", str(args.data_dir)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    print(json.dumps(results, indent=2))
    print(score)
    return 0


if __name__ == "__main__":
    sys.exit(main())
