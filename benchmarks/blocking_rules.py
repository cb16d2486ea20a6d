"""What each blocking rule brings: candidate pairs, true pairs, and true pairs no other rule finds.

    uv run python benchmarks/blocking_rules.py --people 1000000 --noise default

Synthesises and pseudonymises (benchmarks/link_stage.prepare), builds the linker's profiles, and
for every rule in transforms.blocking.BLOCKING_RULES (plus the single-field DOB rule it replaced,
for comparison) counts the profile pairs it makes, how many are true pairs (ground truth), and
how many true pairs only that rule finds. Counts only; outside CI.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.link_stage import prepared  # noqa: E402
from transforms import probabilistic as fs  # noqa: E402
from transforms.blocking import BLOCKING_RULES, RULE_CAPS, block, same  # noqa: E402
from transforms.link import TOKEN_COLUMNS  # noqa: E402

COMPARED = {"dob without its cap (as before)": same("tok_f_dob")}


def profile_truth(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    staged = pl.read_parquet(folder / "staged.parquet")
    records = staged.select("record_key", *TOKEN_COLUMNS)
    profiles, mapping = fs.profiles_of(
        records.select("record_key", *[c for c in fs.PROFILE_COLUMNS if c in records.columns])
    )
    truth = pl.read_parquet(folder / "ground_truth" / "records.parquet")
    ref = ["partner", "extract", "record_ref"]
    owner = (
        mapping.join(staged.select("record_key", *ref), on="record_key")
        .join(truth.rename({"person": "truth"}), on=ref)
        .group_by("profile")
        .agg(pl.col("truth").mode().first())  # namesakes with identical tokens share a profile
    )
    return profiles, owner


def measure(folder: Path) -> list[dict]:
    profiles, owner = profile_truth(folder)
    found: dict[str, pl.Series] = {}
    rows = []
    for name, rule in {**BLOCKING_RULES, **COMPARED}.items():
        pairs, _ = block(profiles, rule, RULE_CAPS.get(name))
        true = (
            pairs.join(owner, left_on="l", right_on="profile")
            .join(owner, left_on="r", right_on="profile", suffix="_r")
            .filter(pl.col("truth") == pl.col("truth_r"))
        )
        found[name] = true.select(pl.col("l").cast(pl.UInt64) * (1 << 32) + pl.col("r"))["l"].alias(
            "k"
        )
        rows.append({"rule": name, "pairs": pairs.height, "true_pairs": true.height})
    current = [n for n in BLOCKING_RULES]
    for row in rows:
        others = [found[n] for n in current if n != row["rule"]]
        rest = pl.concat(others).unique() if others else pl.Series("k", [], pl.UInt64)
        row["only_this_rule"] = int((~found[row["rule"]].is_in(rest.implode())).sum())
    reach = pl.concat([found[n] for n in current]).unique().len()
    rows.append({"rule": "all current rules", "pairs": None, "true_pairs": reach})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--noise", default="default", choices=["default", "realistic"])
    parser.add_argument("--folder", type=Path, help="reuse a prepared folder (staged.parquet)")
    args = parser.parse_args()
    folder = prepared(
        args.people, args.noise, args.folder or Path(tempfile.mkdtemp(prefix="mcn-blocking-"))
    )
    print("| rule | candidate pairs | true pairs | true pairs only this rule finds |")
    print("|---|---|---|---|")
    for row in measure(folder):
        pairs = "" if row["pairs"] is None else row["pairs"]
        print(
            f"| {row['rule']} | {pairs} | {row['true_pairs']} | {row.get('only_this_rule', '')} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
