"""What each blocking rule brings: candidate pairs, true pairs, and true pairs no other rule finds.

    uv run python benchmarks/blocking_rules.py --people 1000000 --noise default [--scored]

Synthesises and pseudonymises (benchmarks/link_stage.prepare), builds the linker's profiles, and
for every rule in transforms.blocking.BLOCKING_RULES (plus the single-field DOB rule it replaced,
for comparison) counts the profile pairs it makes, how many are true pairs (ground truth), and
how many true pairs only that rule finds. With --scored, every candidate pair is also scored
under the model fitted as the linker fits it (threshold chosen by the model as the linker
chooses it), and for the pairs only that rule makes it counts those accepted that are true and
those accepted that are not: what the rule adds to the linkage, and what it costs in precision
(before the household rule and clustering, which act on accepted pairs). Counts only; outside
CI.
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


def scored_only(profiles: pl.DataFrame, owner: pl.DataFrame, made: dict) -> dict[str, dict]:
    """Per current rule, of the candidate pairs only it makes: accepted true, accepted false."""
    keyed = pl.concat(
        made[n].select(
            (pl.col("l").cast(pl.UInt64) * (1 << 32) + pl.col("r")).alias("k"),
            pl.lit(n).alias("rule"),
        )
        for n in BLOCKING_RULES
    )
    per = keyed.group_by("k").agg(pl.col("rule").first(), pl.len().alias("rules"))
    pairs = per.select(
        (pl.col("k") // (1 << 32)).cast(pl.UInt32).alias("l"),
        (pl.col("k") % (1 << 32)).cast(pl.UInt32).alias("r"),
        "rule",
        "rules",
    ).sort("l", "r")
    g = fs.comparison_vectors_chunked(pairs.select("l", "r"), profiles)
    model = fs.fit(profiles, g, fs.estimate_u(profiles))
    tf = fs.term_frequencies(profiles)
    p = fs.scores(g, model, tf).select("l", "r", "match_probability")
    # the threshold as the linker chooses it: profiles' own copies scored too
    own = fs.scores(fs.self_pairs(profiles), model, tf)["match_probability"]
    threshold, _ = fs.choose_threshold(pl.concat([p["match_probability"], own]))
    only = (
        pairs.filter(pl.col("rules") == 1)
        .join(p, on=["l", "r"])
        .join(owner, left_on="l", right_on="profile")
        .join(owner, left_on="r", right_on="profile", suffix="_r")
        .with_columns(
            true=pl.col("truth") == pl.col("truth_r"),
            accepted=pl.col("match_probability") >= threshold,
        )
    )
    counts = only.group_by("rule").agg(
        pl.len().alias("only_pairs"),
        (pl.col("true") & pl.col("accepted")).sum().alias("only_accepted_true"),
        (~pl.col("true") & pl.col("accepted")).sum().alias("only_accepted_false"),
    )
    return {r["rule"]: r for r in counts.iter_rows(named=True)}


def measure(folder: Path, scored: bool = False) -> list[dict]:
    profiles, owner = profile_truth(folder)
    found: dict[str, pl.Series] = {}
    made: dict[str, pl.DataFrame] = {}
    rows = []
    for name, rule in {**BLOCKING_RULES, **COMPARED}.items():
        pairs, _ = block(profiles, rule, RULE_CAPS.get(name))
        made[name] = pairs
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
    if scored:
        added = scored_only(profiles, owner, made)
        for row in rows:
            row.update({k: v for k, v in added.get(row["rule"], {}).items() if k != "rule"})
    reach = pl.concat([found[n] for n in current]).unique().len()
    rows.append({"rule": "all current rules", "pairs": None, "true_pairs": reach})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--noise", default="default", choices=["default", "realistic"])
    parser.add_argument("--folder", type=Path, help="reuse a prepared folder (staged.parquet)")
    parser.add_argument(
        "--scored", action="store_true", help="also score the pairs only each rule makes"
    )
    args = parser.parse_args()
    folder = prepared(
        args.people, args.noise, args.folder or Path(tempfile.mkdtemp(prefix="mcn-blocking-"))
    )
    head = ["rule", "candidate pairs", "true pairs", "true pairs only this rule finds"]
    keys = ["pairs", "true_pairs", "only_this_rule"]
    if args.scored:
        head += ["pairs only this rule makes", "of them accepted: true", "accepted: false"]
        keys += ["only_pairs", "only_accepted_true", "only_accepted_false"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in measure(folder, args.scored):
        cells = ["" if row.get(k) is None else f"{row[k]:,}" for k in keys]
        print("| " + " | ".join([row["rule"], *cells]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
