"""The link stage alone at scale: seconds and peak memory of a process that loads staged tokens
and links them (what `build_cohort` does each night), with quality against the truth.

    uv run python benchmarks/link_stage.py --people 1000000 --noise default realistic

Synthesises and pseudonymises first (not timed), writes the tokens to Parquet, then links them
in a fresh process so its peak RSS is the link stage's own. Outside CI.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.linkage_vs_splink import RUN_DATE, landing  # noqa: E402
from flows.synth import synthesise  # noqa: E402
from governance.keys import SecretKey  # noqa: E402
from governance.policy import load_policy  # noqa: E402
from governance.pseudonymise import apply_policy  # noqa: E402
from transforms.evaluate import pairwise_quality  # noqa: E402
from transforms.link import TOKEN_COLUMNS, as_codes, link_records  # noqa: E402


def prepare(people: int, noise: str, folder: Path) -> None:
    synthesise(people, 7, folder, RUN_DATE, noise=noise)
    key = SecretKey.from_hex(secrets.token_hex(32), "throwaway")
    raw = landing(folder)
    staged = pl.concat(
        [apply_policy(df, ex, load_policy(ex.partner), key, RUN_DATE) for ex, df in raw.items()],
        how="diagonal_relaxed",
    )
    staged = staged.with_columns(
        pl.lit(None, pl.String).alias(c) for c in TOKEN_COLUMNS if c not in staged.columns
    )
    staged.select("partner", "extract", "record_ref", "record_key", *TOKEN_COLUMNS).write_parquet(
        folder / "staged.parquet"
    )


def prepared(people: int, noise: str, folder: Path) -> Path:
    """folder, with tokens prepared there unless a staged.parquet is already there (reused)."""
    if not (folder / "staged.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        prepare(people, noise, folder)
    return folder


def link_only(folder: Path) -> dict:
    """Runs in its own process: load tokens, link, score."""
    records = pl.read_parquet(folder / "staged.parquet")
    start, cpu = time.perf_counter(), time.process_time()
    throwaway = SecretKey.from_hex(secrets.token_hex(32), "throwaway")  # person ids only
    linkage = link_records(as_codes(records.select("record_key", *TOKEN_COLUMNS)), key=throwaway)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    truth = pl.read_parquet(folder / "ground_truth" / "records.parquet").rename({"person": "truth"})
    assigned = (
        records.select("partner", "extract", "record_ref", "record_key")
        .join(linkage.links, on="record_key")
        .join(truth, on=["partner", "extract", "record_ref"])
    )
    q = pairwise_quality(assigned)
    model = linkage.model.summary() if linkage.model else {}
    return {
        "records": records.height,
        **{k: round(q[k], 4) for k in ("precision", "recall", "f1")},
        "link_seconds": round(seconds, 1),
        "link_cpu_seconds": round(cpu, 1),  # every thread's; near the wall time of a quiet run
        "threshold": model.get("threshold"),
        "candidate_pairs": (model.get("candidate_pairs_by_rule") or {}).get("distinct"),
        "candidate_pairs_by_rule": model.get("candidate_pairs_by_rule"),
        "blocks_skipped": model.get("blocks_skipped"),
        "stage_seconds": model.get("seconds"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[100_000])
    ap.add_argument("--noise", nargs="+", default=["default", "realistic"])
    ap.add_argument("--link-only", type=Path, help=argparse.SUPPRESS)
    ap.add_argument(
        "--data", type=Path, help="keep the prepared tokens in DATA/<noise>-<people> and reuse them"
    )
    args = ap.parse_args()
    if args.link_only:
        print(json.dumps(link_only(args.link_only)))
        return 0
    for noise in args.noise:
        for n in args.people:
            with tempfile.TemporaryDirectory(prefix="mcn-link-stage-") as tmp:
                folder = prepared(n, noise, args.data / f"{noise}-{n}" if args.data else Path(tmp))
                out = subprocess.run(
                    [sys.executable, __file__, "--link-only", str(folder)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
                row = {"noise": noise, "people": n, **json.loads(out.splitlines()[-1])}
                row["peak_gb_max_so_far"] = round(peak, 2)
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
