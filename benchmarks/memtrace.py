"""Where a process's memory peaks: run `mcn` (or any module) with a sampler thread that records,
every 50 ms, the resident set and the innermost project frame of every thread.

    uv run python benchmarks/memtrace.py OUT.tsv -- run --data-dir DIR --run-date 2026-11-01
    uv run python benchmarks/memtrace.py --read OUT.tsv [--top 25]

Writing: OUT.tsv gets one line per sample: seconds since start, resident GB, and for each thread
its innermost frame in flows/, transforms/, governance/ or schemas/ (file:line function).
Reading: the project frames with the largest resident set seen while they were on a stack, and
the resident set over time (one line per second). The environment (keys, data folder) is the
caller's, as for `mcn` itself: benchmarks/pipeline_scale.py --memtrace sets it up.
"""

from __future__ import annotations

import argparse
import collections
import os
import runpy
import sys
import threading
import time
from pathlib import Path

PROJECT = tuple(f"{os.sep}{d}{os.sep}" for d in ("flows", "transforms", "governance", "schemas"))
PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e9


def innermost(frame) -> str | None:
    while frame is not None:
        name = frame.f_code.co_filename
        if any(p in name for p in PROJECT):
            short = name[name.rfind(os.sep, 0, name.rfind(os.sep)) + 1 :]
            return f"{short}:{frame.f_lineno} {frame.f_code.co_name}"
        frame = frame.f_back
    return None


def sample(out: Path, every: float = 0.05) -> None:
    start = time.monotonic()
    me = threading.get_ident()
    with out.open("w", buffering=1) as f:
        while True:
            where = [
                w
                for tid, fr in sys._current_frames().items()
                if tid != me and (w := innermost(fr)) is not None
            ]
            f.write(f"{time.monotonic() - start:.2f}\t{resident_gb():.3f}\t{' | '.join(where)}\n")
            time.sleep(every)


def read(path: Path, top: int) -> None:
    peak_at: dict[str, float] = collections.defaultdict(float)
    by_second: dict[int, float] = {}
    for line in path.read_text().splitlines():
        t, gb, where = (line.split("\t") + [""])[:3]
        g = float(gb)
        by_second[int(float(t))] = max(by_second.get(int(float(t)), 0.0), g)
        for w in filter(None, where.split(" | ")):
            peak_at[w] = max(peak_at[w], g)
    print("largest resident set seen while a project frame was innermost:")
    for w, g in sorted(peak_at.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {g:6.2f} GB  {w}")
    print("resident GB per second:")
    print(" ".join(f"{s}:{g:.1f}" for s, g in sorted(by_second.items())))


def main() -> int:
    if sys.argv[1:2] == ["--read"]:
        ap = argparse.ArgumentParser()
        ap.add_argument("--read", type=Path, required=True)
        ap.add_argument("--top", type=int, default=25)
        args = ap.parse_args()
        read(args.read, args.top)
        return 0
    out, sep, *rest = sys.argv[1:]
    if sep != "--":
        raise SystemExit(__doc__)
    threading.Thread(target=sample, args=(Path(out),), daemon=True).start()
    sys.argv = ["mcn", *rest]
    runpy.run_module("flows.cli", run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
