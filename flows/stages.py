"""The steps of ingesting one extract, as plain functions the Prefect tasks call.

read -> raw checks -> quarantine -> apply the agreement -> staged checks and leak scan -> stage.
Only counts, column names and rule names leave these functions.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flows import checks
from flows.config import Zones
from flows.io import read_extract, write_json_atomic, write_parquet_atomic
from governance.errors import LeakError
from governance.keys import SecretKey
from governance.policy import Policy
from governance.pseudonymise import apply_policy
from schemas.contract import Extract
from transforms.leaks import leak_counts
from transforms.quality import reason_counts, split_rows


@dataclass
class ExtractCounts:
    partner: str
    extract: str
    rows_in: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    raw_check_failures: int = 0
    content_sha256: str = ""
    key_id: str = ""
    already_staged: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def staged_path(zones: Zones, ex: Extract, content: str) -> Path:
    return zones.staged / ex.partner / ex.name / f"{content[:16]}.parquet"


def process_extract(
    zones: Zones,
    ex: Extract,
    manifest: dict,
    policy: Policy,
    key: SecretKey,
    run_date: dt.date,
    run_id: str,
) -> ExtractCounts:
    folder = zones.landing / ex.partner
    raw, content = read_extract(folder, ex, manifest)
    counts = ExtractCounts(
        ex.partner, ex.name, rows_in=raw.height, content_sha256=content, key_id=key.key_id
    )
    target = staged_path(zones, ex, content)
    if target.exists() and target.with_suffix(".json").exists():
        done = ExtractCounts(**json.loads(target.with_suffix(".json").read_text()))
        done.already_staged = True
        return done
    raw_results = checks.validate(raw, checks.raw_suite(ex), f"raw-{ex.partner}-{ex.name}")
    good, bad = split_rows(raw, ex)
    counts.rows_quarantined, counts.reasons = bad.height, reason_counts(bad)
    counts.raw_check_failures = len(checks.failures(raw_results))
    if bad.height:
        write_parquet_atomic(bad, zones.quarantine / ex.partner / run_id / f"{ex.name}.parquet")
    staged = apply_policy(good, ex, policy, key, run_date)
    staged_results = checks.validate(
        staged, checks.staged_suite(staged, ex), f"staged-{ex.partner}-{ex.name}"
    )
    leaks = {c: n for c, n in leak_counts(staged, good, ex).items() if n}
    report = {"raw": raw_results, "staged": staged_results, "leak_scan": leaks}
    write_json_atomic(report, zones.runs / run_id / f"checks.{ex.partner}.{ex.name}.json")
    failed = checks.failures(staged_results)
    if failed or leaks:
        rules = sorted(
            {f"{f['expectation']}:{f['column']}" for f in failed} | {f"leak:{c}" for c in leaks}
        )
        raise LeakError(
            f"{ex.partner}/{ex.name}: pseudonymised rows failed {len(rules)} check(s) "
            f"({', '.join(rules)}); nothing was staged. See "
            f"{zones.runs / run_id} for counts, then fix the policy or the schema."
        )
    counts.rows_staged = staged.height
    if counts.rows_in != counts.rows_staged + counts.rows_quarantined:
        raise RuntimeError(f"{ex.partner}/{ex.name}: rows in != staged + quarantined")
    write_parquet_atomic(staged, target)
    write_json_atomic(counts.as_dict(), target.with_suffix(".json"))
    return counts
