"""`mcn publish`: a table that leaves the partnership, checked as an output checker would
(ACRO / SACRO), approved by a named IG approver, and recorded.

A publication is one aggregate query (the default analyst's shape: one COUNT in at most two
coarse groups) under a name. Before anything is written:

1. the query is checked (SQL sandbox, aggregate shape) and run on the verified published set;
2. the result is controlled under the strictest disclosure rules of the agreements in use
   (`disclosure:` in each policy; default redact 1-7, round to 5): primary and secondary
   suppression, rounding;
3. differencing: its exact counts are compared with those of the last publication of the same
   name kept in the audit log (by cell hash, never labels); a published cell that moved by 1 to
   the threshold would show a small group by subtraction, so the publication is refused.

A publication that passes writes `<name>.csv` and its output-checking record
(`<name>.output-check.json` and `.md`: what was checked, which rules fired, who approved it,
signed by the approver's key), and appends `publication` to the audit log with the exact counts
keyed by cell hash (for the next differencing check). A refusal appends `publication_refused`
with the record of why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl

from flows import publish
from flows.config import Zones
from flows.io import sha256_file
from flows.query import agreement_rules, authorise, catalogue, groupable, table_columns
from governance import signatures
from governance.audit import read_entries
from governance.disclosure import DisclosureError, differencing
from governance.output_check import aggregate_shape, controlled_result
from governance.signing import load_private, public_key_id, trusted_keys
from governance.sql_sandbox import check_query
from schemas.errors import ExitCode, UserError


class ApproverError(UserError):
    exit_code = ExitCode.BAD_POLICY


def last_publication(zones: Zones, name: str) -> dict | None:
    entries = [
        e
        for e in read_entries(zones.audit)
        if e.get("event") == "publication" and e.get("name") == name
    ]
    return entries[-1] if entries else None


def _approver(key_path: Path) -> tuple[str, str, object]:
    private = load_private(key_path)
    key_id = public_key_id(private.public_key())
    trusted = trusted_keys()
    if key_id not in trusted:
        raise ApproverError(
            f"key {key_id} is not a trusted IG approver, so it cannot approve an output. Fix: "
            "use your approver key, whose public .json is in governance/approvers/ or "
            "$MCN_APPROVERS_DIR"
        )
    return trusted[key_id][0], key_id, private


def publish_table(
    zones: Zones,
    name: str,
    sql: str,
    approver_key: Path,
    out_dir: Path,
    user_key: Path | None = None,
    today: dt.date | None = None,
) -> dict:
    today = today or dt.date.today()
    approver, approver_id, private = _approver(approver_key)
    digest = {"sql_sha256": hashlib.sha256(sql.encode()).hexdigest()}
    log, _accredited = authorise(zones, user_key, today, digest)
    tables = catalogue(zones)
    checked = check_query(sql, tables)
    shape = aggregate_shape(
        checked.sql, table_columns(tables), groupable(tables)
    )  # aggregates only, any role
    frames = {t: pl.scan_parquet(publish.verified_table(zones, t)) for t in checked.tables}
    result = pl.SQLContext(frames).execute(checked.sql).collect()
    rules = agreement_rules()
    controlled = controlled_result(result, shape, rules)
    previous = last_publication(zones, name)
    moved = differencing(controlled, previous.get("exact") if previous else None)
    record = {
        "output": name,
        "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "published_set": publish.current_run(zones),
        "tables": checked.tables,
        **digest,
        **controlled.record(),
        "differencing": {
            "against": previous.get("seq") if previous else None,
            "cells_moved_by_1_to_threshold": moved,
        },
        "status": "refused" if moved else "approved",
        "approver": approver,
        "approver_key_id": approver_id,
    }
    if moved:
        record["rules_fired"] = [*record["rules_fired"], "differencing"]
    record["signature"] = signatures.sign(private, "output-check", _digest(record))
    if moved:
        log.append("publication_refused", name=name, record=record)
        raise DisclosureError(
            f"refused: against the last publication of {name}, {moved} published cell(s) "
            f"changed by 1 to {rules.threshold} people, which subtraction would show. Publish "
            "with coarser groups, or wait until the change is larger"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    table = out_dir / f"{name}.csv"
    table.write_text(controlled.published.write_csv())
    record["files"] = {table.name: sha256_file(table)}
    (out_dir / f"{name}.output-check.json").write_text(json.dumps(record, indent=2) + "\n")
    (out_dir / f"{name}.output-check.md").write_text(record_markdown(record))
    log.append("publication", name=name, record=record, exact=controlled.exact)
    return record


def _digest(record: dict) -> str:
    body = {k: v for k, v in record.items() if k not in ("signature", "files")}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def verify_record(record: dict) -> bool:
    """The approver's signature over the record, against the trusted approvers."""
    trusted = trusted_keys().get(str(record.get("approver_key_id")))
    return trusted is not None and signatures.verifies(
        trusted[1], record.get("signature"), "output-check", _digest(record)
    )


def record_markdown(record: dict) -> str:
    """The output-checking record as a checker reads it (ACRO's checker report, in short)."""
    rows = [
        ("output", record["output"]),
        ("status", record["status"]),
        ("approved by", f"{record['approver']} ({record['approver_key_id']})"),
        ("checked at", record["checked_at"]),
        ("published set", record["published_set"]),
        ("query (SHA-256)", record["sql_sha256"]),
        ("grouped by", ", ".join(record["dims"])),
        ("cells", record["cells"]),
        ("threshold (redacted 1 to)", record["threshold"]),
        ("rounding", record["rounding"]),
        ("redacted: small counts", record["redacted_primary"]),
        ("redacted: to protect them", record["redacted_secondary"]),
        ("differencing against", record["differencing"]["against"] or "no earlier publication"),
        ("cells moved by 1 to threshold", record["differencing"]["cells_moved_by_1_to_threshold"]),
        ("rules fired", ", ".join(record["rules_fired"])),
    ]
    lines = [f"# Output check: {record['output']}", "", "| check | result |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"
