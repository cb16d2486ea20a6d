"""How much of a synthetic truth any linker could find without linking on names alone.

    uv run python benchmarks/evidence_bound.py --people 1000000 --noise realistic

Two records of one person are joined here when they share an NHS number, a NINO, or a DOB or
postcode exactly or within one edit (the tokens the linker compares); the share of true pairs
inside those components bounds the recall of any linker that will not link on names alone. The
rest can only be linked on names (and sex), which is right only where the names are rare.
Counts only; outside CI.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.link_stage import prepared  # noqa: E402
from transforms.compare import DOB_MASKED, PC_MASKED  # noqa: E402

EVIDENCE = ["tok_nhs", "tok_nino", "tok_f_dob", "tok_f_pc", *DOB_MASKED, *PC_MASKED]


def _pairs(frame: pl.DataFrame, by: list[str]) -> int:
    sizes = frame.group_by(by).len()["len"]
    return int((sizes * (sizes - 1) // 2).sum())


def bound(folder: Path) -> dict:
    staged = pl.read_parquet(folder / "staged.parquet")
    truth = pl.read_parquet(folder / "ground_truth" / "records.parquet")
    ref = ["partner", "extract", "record_ref"]
    rows = staged.join(truth.rename({"person": "truth"}), on=ref).with_row_index("i")
    edges = [
        rows.select("i", "truth", c)
        .drop_nulls()
        .with_columns(a=pl.col("i").min().over("truth", c))
        .filter(pl.col("a") != pl.col("i"))
        .select("a", pl.col("i").alias("b"))
        for c in EVIDENCE
        if c in rows.columns
    ]
    e = pl.concat(edges).unique()
    n = rows.height
    graph = coo_matrix((np.ones(e.height), (e["a"].to_numpy(), e["b"].to_numpy())), shape=(n, n))
    rows = rows.with_columns(part=pl.Series(connected_components(graph, directed=False)[1]))
    true_pairs, reachable = _pairs(rows, ["truth"]), _pairs(rows, ["truth", "part"])
    return {
        "records": n,
        "true_pairs": true_pairs,
        "pairs_with_non_name_evidence": reachable,
        "recall_bound_without_names_alone": round(reachable / true_pairs, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--noise", default="realistic", choices=["default", "realistic"])
    parser.add_argument("--folder", type=Path, help="reuse a prepared folder (staged.parquet)")
    args = parser.parse_args()
    folder = prepared(
        args.people, args.noise, args.folder or Path(tempfile.mkdtemp(prefix="mcn-bound-"))
    )
    print(bound(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
