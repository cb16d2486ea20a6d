"""The committed list of checks run on every extract: tests/data/checks_per_extract.json.

    uv run python -m tests.check_list     (rewrites it from flows.checks.checks_per_extract)

Rewrite it only when a check is deliberately added or removed, and say so in the commit: the
tests compare it with the suites and row rules the code makes and with what a night records, so
a speed change that drops a check fails them.
"""

from __future__ import annotations

import json
from pathlib import Path

CHECK_LIST = Path(__file__).parent / "data" / "checks_per_extract.json"


def committed() -> dict:
    return json.loads(CHECK_LIST.read_text())


def main() -> int:
    from flows.checks import checks_per_extract

    CHECK_LIST.write_text(json.dumps(checks_per_extract(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {CHECK_LIST}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
