"""Measure `mcn synth` and `mcn run` at scale: wall time and peak memory of each step.

    uv run python benchmarks/pipeline_scale.py --people 1000000 [--data-dir bench-data]

Each step runs as its own process; peak memory is that process tree's largest resident set
(getrusage of the waited-for children). Uses a throwaway random key. Outside CI (minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path


def measure(cmd: list[str], env: dict) -> dict:
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "command": " ".join(cmd),
        "wall_s": round(time.monotonic() - start, 1),
        "peak_rss_gib": round(peak_kib / 1024**2, 2),
        "peak_is_new": peak_kib > before,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--data-dir", type=Path, default=Path("bench-data"))
    ap.add_argument("--run-date", default="2026-11-01")
    args = ap.parse_args()
    shutil.rmtree(args.data_dir, ignore_errors=True)
    env = {**os.environ, "MCN_LINKAGE_KEY": secrets.token_hex(32)}
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
        "run": measure(
            [*mcn, "run", "--data-dir", str(args.data_dir), "--run-date", args.run_date], env
        ),
    }
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
