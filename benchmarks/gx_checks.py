"""Time the great-expectations checks alone: every extract's raw and staged checkpoint.

    uv run python benchmarks/gx_checks.py --people 100000 [--repeat 3]

Makes a synthetic drop, reads, splits and pseudonymises every extract once (not timed), then
runs `flows.checks.validate` on the raw and the staged frame of every extract, `--repeat`
times, and prints the median wall and CPU seconds per stage and in total. CPU time is steadier
than wall time on a shared machine. Uses a throwaway key; writes only under a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

RUN_DATE = dt.date(2026, 11, 1)


def frames(root: Path) -> list:
    from flows.io import read_extract, read_manifest
    from flows.reader import SOURCE_ROW
    from governance.keys import SecretKey
    from governance.policy import POLICY_DIR, load_policy
    from governance.pseudonymise import apply_policy
    from schemas.registry import partner_extracts
    from transforms.quality import split_rows

    key = SecretKey.from_hex(secrets.token_hex(32), "bench")
    out = []
    for ex in partner_extracts():  # the extracts a night links, not the lists
        manifest = read_manifest(root / "landing" / ex.partner)
        policy = load_policy(ex.partner, POLICY_DIR, verify=False)
        read, _ = read_extract(root / "landing" / ex.partner, ex, manifest)
        raw = read.rows.drop(SOURCE_ROW)
        good, _ = split_rows(raw, ex)
        out += [(ex, "raw", raw), (ex, "staged", apply_policy(good, ex, policy, key, RUN_DATE))]
    return out


def once(work: list, run_dir: Path) -> dict:
    from flows import checks

    times: dict[str, list[float]] = {"raw": [0.0, 0.0], "staged": [0.0, 0.0]}
    for ex, stage, df in work:
        wall, cpu = time.perf_counter(), time.process_time()
        failed = checks.failures(checks.validate(df, ex, stage, run_dir))
        times[stage][0] += time.perf_counter() - wall
        times[stage][1] += time.process_time() - cpu
        if stage == "staged" and failed:
            raise SystemExit(f"{ex.partner}/{ex.name}: staged checks failed")
    return times


def main() -> int:
    from flows.synth import synthesise

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcn-gx-bench-") as tmp:
        root = Path(tmp)
        synthesise(args.people, 7, root, RUN_DATE)
        work = frames(root)
        runs = [once(work, root / "runs" / f"bench-{i}") for i in range(args.repeat)]
    result = {"people": args.people, "rows": sum(df.height for _, _, df in work)}
    for stage in ("raw", "staged"):
        result[f"{stage}_wall_s"] = round(statistics.median(r[stage][0] for r in runs), 2)
        result[f"{stage}_cpu_s"] = round(statistics.median(r[stage][1] for r in runs), 2)
    result["total_wall_s"] = round(result["raw_wall_s"] + result["staged_wall_s"], 2)
    result["total_cpu_s"] = round(result["raw_cpu_s"] + result["staged_cpu_s"], 2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
