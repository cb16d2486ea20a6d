"""Project each stage's time and memory to bigger nights from two measured sizes.

    uv run python benchmarks/scaling_sim.py bench-stages/stages.json [--factors 10 50]

Reads the output of benchmarks/stages.py holding at least two sizes (e.g. 100k and 1M people),
fits each stage's exponent b from the two largest (t = a * N^b, CPU seconds; memory the same
way on peak GB above the process's baseline), and prints a Markdown table of the stage at the
largest measured size times each factor. A projection, not a measurement: it holds only while
nothing changes regime (a stage that starts to spill to disk, or a linkage block that grows
quadratically, breaks it). Used for docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def exponent(small: float, large: float, ratio: float) -> float:
    if small <= 0 or large <= 0:
        return 1.0
    return math.log(large / small) / math.log(ratio)


def project(doc: dict, factors: list[int]) -> str:
    results = sorted(doc["results"], key=lambda r: r["people"])
    if len(results) < 2:
        raise SystemExit("need two sizes in the file (benchmarks/stages.py --people N M)")
    a, b = results[-2], results[-1]
    ratio = b["people"] / a["people"]
    base = min(r["peak_gb"] for r in b["stages"].values())  # interpreter, libraries, frames
    head = f"| stage | b (CPU) | CPU s at {b['people']:,} |"
    head += "".join(f" CPU s at {b['people'] * f:,} |" for f in factors)
    lines = [head, "|---" * (3 + len(factors)) + "|"]
    total = [0.0] * (1 + len(factors))
    for name, row in b["stages"].items():
        small = a["stages"].get(name, {}).get("cpu_s", 0.0)
        k = exponent(small, row["cpu_s"], ratio)
        cells = [row["cpu_s"] * f**k for f in (1, *factors)]
        total = [t + c for t, c in zip(total, cells, strict=True)]
        lines.append(f"| {name} | {k:.2f} | " + " | ".join(f"{c:,.0f}" for c in cells) + " |")
    lines.append("| **all** | | " + " | ".join(f"**{c:,.0f}**" for c in total) + " |")
    peak_a = max(r["peak_gb"] for r in a["stages"].values())
    peak_b = max(r["peak_gb"] for r in b["stages"].values())
    k = exponent(peak_a - base, peak_b - base, ratio)
    mems = [base + (peak_b - base) * f**k for f in factors]
    lines += [
        "",
        f"Peak memory: {peak_b:.1f} GB at {b['people']:,} (exponent {k:.2f} above a {base:.1f} GB"
        " baseline); projected "
        + ", ".join(
            f"{m:,.0f} GB at {b['people'] * f:,}" for f, m in zip(factors, mems, strict=True)
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stages_json", type=Path)
    ap.add_argument("--factors", type=int, nargs="+", default=[10, 50])
    args = ap.parse_args()
    print(project(json.loads(args.stages_json.read_text()), args.factors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
