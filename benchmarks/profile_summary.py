"""Where a night's time goes, from a py-spy raw profile (`pipeline_scale.py --profile F`).

    uv run python benchmarks/profile_summary.py night.txt [--top 40] [--within apply_policy]

py-spy's raw format is one line per distinct stack, `frame;frame;... count`. This prints, per
function (name, file and line of its frame), the share of samples whose stack passes through it
(inclusive), largest first: each Prefect task thread's samples count, so the shares of
concurrent partners add up past 100%. `--within NAME` keeps only stacks through a frame whose
text contains NAME.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path


def inclusive(lines: list[str], within: str | None) -> tuple[int, collections.Counter]:
    total, seen_in = 0, collections.Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or (within and within not in stack):
            continue
        n = int(count)
        total += n
        frames = {f.split(" (")[0] + " " + f.rsplit("/", 1)[-1] for f in stack.split(";")}
        for frame in frames:
            seen_in[frame] += n
    return total, seen_in


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--within")
    args = ap.parse_args()
    total, seen_in = inclusive(args.profile.read_text().splitlines(), args.within)
    print(f"{total} samples")
    for frame, n in seen_in.most_common(args.top):
        print(f"{100 * n / max(total, 1):5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
