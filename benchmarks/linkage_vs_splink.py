"""Our linker (keyed tokens) against Splink (raw values, DuckDB) on the same synthetic records.

    uv sync --group bench
    uv run python benchmarks/linkage_vs_splink.py --people 10000 100000 1000000

For each population: `mcn synth`, then every landing record of the four partners is linked twice:
- ours: pseudonymised under a throwaway key by the pipeline's own code (shipped policies), then
  `transforms.link.link_records` (match keys + Fellegi-Sunter on tokens);
- Splink 5 (DuckDB): cleaned raw values (names lower-cased and trimmed, DOB as ISO text,
  postcode canonical, sex M/F, NHS number, NINO), Name/DOB/Postcode/exact comparisons with term
  frequencies, blocking on DOB, postcode, names, NHS number and NINO, u by random sampling, m by
  EM in two sessions, clustering at the same match probability (0.99).
Both are scored pairwise against the ground truth. Outside CI: minutes at a million.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.io import read_extract, read_manifest  # noqa: E402
from flows.synth import synthesise  # noqa: E402
from governance import canonical as canon  # noqa: E402
from governance.keys import SecretKey  # noqa: E402
from governance.policy import load_policy  # noqa: E402
from governance.pseudonymise import apply_policy  # noqa: E402
from schemas.registry import all_extracts, partner_names  # noqa: E402
from transforms.evaluate import pairwise_quality  # noqa: E402
from transforms.link import TOKEN_COLUMNS, as_codes, link_records  # noqa: E402

RUN_DATE = dt.date(2026, 11, 1)
THRESHOLD = 0.99


def landing(root: Path) -> dict:
    """extract -> raw text rows, for every partner extract (lists such as the intervention list
    are not linked)."""
    return {
        ex: read_extract(
            root / "landing" / ex.partner, ex, read_manifest(root / "landing" / ex.partner)
        )[0].rows.drop("source_row")
        for ex in all_extracts()
        if ex.partner in partner_names()
    }


def ours(raw: dict) -> tuple[pl.DataFrame, float, float]:
    start = time.perf_counter()
    key = SecretKey.from_hex(secrets.token_hex(32), "throwaway")
    staged = [
        apply_policy(df, ex, load_policy(ex.partner), key, RUN_DATE) for ex, df in raw.items()
    ]
    records = pl.concat(staged, how="diagonal_relaxed")
    records = records.with_columns(
        pl.lit(None, pl.String).alias(c) for c in TOKEN_COLUMNS if c not in records.columns
    )
    linked = time.perf_counter()
    links = link_records(as_codes(records.select("record_key", *TOKEN_COLUMNS)), key=key).links
    t_link = time.perf_counter() - linked
    out = records.select("partner", "extract", "record_ref", "record_key").join(
        links, on="record_key"
    )
    elapsed = time.perf_counter() - start
    return out.select("partner", "extract", "record_ref", "person_id"), elapsed, t_link


def clean(raw: dict) -> pl.DataFrame:
    """Raw values as a careful Splink user would prepare them."""
    parts = []
    for ex, df in raw.items():
        cols = ex.identity_columns
        dob_format = ex.column(cols["dob"]).date_format

        def text(role: str, cols: dict = cols) -> pl.Expr:
            if role not in cols:
                return pl.lit(None, pl.String).alias(role)
            return pl.col(cols[role]).str.strip_chars().str.to_lowercase().alias(role)

        parts.append(
            df.select(
                pl.format("{}|{}", pl.lit(ex.name), pl.col("record_ref")).alias("unique_id"),
                pl.lit(ex.partner).alias("partner"),
                pl.lit(ex.name).alias("extract"),
                "record_ref",
                text("forename"),
                text("surname"),
                canon.dob_canonical(pl.col(cols["dob"]), dob_format).cast(pl.String).alias("dob"),
                (
                    canon.sex_canonical(pl.col(cols["sex"]))
                    if "sex" in cols
                    else pl.lit(None, pl.String)
                ).alias("sex"),
                canon.postcode_canonical(pl.col(cols["postcode"])).alias("postcode"),
                (
                    canon.nhs_number_canonical(pl.col(cols["nhs_number"]))
                    if "nhs_number" in cols
                    else pl.lit(None, pl.String)
                ).alias("nhs_number"),
                (
                    canon.nino_canonical(pl.col(cols["nino"]))
                    if "nino" in cols
                    else pl.lit(None, pl.String)
                ).alias("nino"),
            )
        )
    return pl.concat(parts)


def splink(table: pl.DataFrame) -> tuple[pl.DataFrame, float]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    db = DuckDBAPI()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("forename").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("nino"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"),
            block_on("postcode"),
            block_on("forename", "surname"),
            block_on("nhs_number"),
            block_on("nino"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    frame = db.register(table.drop("partner", "extract", "record_ref").to_arrow())
    linker = Linker(frame, settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename", "surname", "dob")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("forename", "surname")
    )
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, THRESHOLD
    ).as_pandas_dataframe()
    out = pl.from_pandas(clusters[["unique_id", "cluster_id"]]).with_columns(
        pl.col("cluster_id").cast(pl.String).alias("person_id")
    )
    out = table.select("unique_id", "partner", "extract", "record_ref").join(out, on="unique_id")
    return out.select("partner", "extract", "record_ref", "person_id"), time.perf_counter() - start


def score(assigned: pl.DataFrame, truth: pl.DataFrame) -> dict:
    q = pairwise_quality(assigned.join(truth, on=["partner", "extract", "record_ref"]))
    return {k: round(q[k], 4) for k in ("precision", "recall", "f1")}


def compare(n: int, noise: str = "default", with_splink: bool = True) -> dict:
    """Synthesise n people with the noise model, link with ours (and Splink), score both."""
    with tempfile.TemporaryDirectory(prefix="mcn-vs-splink-") as tmp:
        root = Path(tmp)
        synthesise(n, 7, root, RUN_DATE, noise=noise)
        raw = landing(root)
        truth = pl.read_parquet(root / "ground_truth" / "records.parquet").rename(
            {"person": "truth"}
        )
        mine, t_mine, t_link = ours(raw)
        row = {
            "data": f"synthetic {noise}",
            "people": n,
            "records": sum(df.height for df in raw.values()),
            "ours": {**score(mine, truth), "seconds": round(t_mine, 1), "link": round(t_link, 1)},
        }
        if with_splink:
            theirs, t_theirs = splink(clean(raw))
            row["splink"] = {**score(theirs, truth), "seconds": round(t_theirs, 1)}
        return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--noise", default="default", choices=("default", "realistic"))
    ap.add_argument("--no-splink", action="store_true", help="ours only")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    results = []
    for n in args.people:
        row = compare(n, args.noise, not args.no_splink)
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
