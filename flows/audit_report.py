"""`mcn audit report`: a record of processing for IG officers, as Markdown and HTML.

Built only from the audit log, which holds counts, names, hashes and key ids: no row values.
"""

from __future__ import annotations

import datetime as dt
import html

from governance.audit import Verdict

Section = tuple[str, list[str], list[list]]


def _in_range(entry: dict, start: dt.date, end: dt.date) -> bool:
    return start <= dt.date.fromisoformat(entry["time"][:10]) <= end


def sections(entries: list[dict]) -> list[Section]:
    by = lambda *events: [e for e in entries if e["event"] in events]  # noqa: E731
    ingest = [
        [
            e["time"],
            e["run_id"],
            f"{e['partner']}/{e['extract']}",
            e["agreement_id"],
            e["policy_sha256"][:12],
            e["approved_by"],
            e["rows_in"],
            e["rows_staged"],
            e["rows_quarantined"],
            e["rows_opted_out"],
            e["key_ids"]["linkage"],
            e["key_ids"].get("vault") or "",
            "yes" if e["event"] != "ingest" else "",
        ]
        for e in by("ingest", "ingest_already_staged")
    ]
    cohort = [
        [
            e["time"],
            e["run_id"],
            e["run_date"],
            e["needs_version"],
            e["records_linked"],
            e["persons"],
            e["mcn_persons"],
            ", ".join(e["key_ids"]["linkage"]),
            "; ".join(f"{p} {h[:12]}" for p, h in e["outputs"].items()),
        ]
        for e in by("cohort")
    ]
    refused = [
        [e["time"], e.get("run_id", ""), e.get("partner", ""), e.get("reason", "")]
        for e in by("ingest_refused")
    ]
    reid = [
        [
            e["time"],
            e["event"] + (f" ({e['reason']})" if e.get("reason") else ""),
            e.get("person_id", ""),
            (e.get("grant") or {}).get("role", "")
            if e.get("signer")
            else e.get("role_asked") or "",
            e.get("purpose", ""),
            (e.get("grant") or {}).get("user", "") if e.get("signer") else "unauthenticated",
            (e.get("grant") or {}).get("grant_id", "") if e.get("signer") else "",
            ", ".join(e.get("partners_permitted", [])),
            e.get("records_opened", 0),
        ]
        for e in by("reidentify", "reidentify_refused")
    ]
    deleted = [
        [
            e["time"],
            e["zone"],
            e["partner"],
            e["path"],
            e["sha256"][:12],
            e["age_days"],
            e["retention_days"],
        ]
        for e in by("retention_delete")
    ]
    return [
        (
            "Extracts processed",
            [
                "time",
                "run",
                "extract",
                "agreement",
                "policy sha256",
                "approved by",
                "rows in",
                "staged",
                "quarantined",
                "opted out",
                "linkage key",
                "vault key",
                "already staged",
            ],
            ingest,
        ),
        (
            "Cohorts published",
            [
                "time",
                "run",
                "run date",
                "needs",
                "records",
                "persons",
                "MCN persons",
                "linkage keys",
                "outputs (sha256)",
            ],
            cohort,
        ),
        ("Ingest refused", ["time", "run", "partner", "reason"], refused),
        (
            "Re-identification",
            [
                "time",
                "outcome",
                "person_id",
                "role",
                "purpose",
                "user",
                "grant",
                "partners permitted",
                "records opened",
            ],
            reid,
        ),
        (
            "Retention deletions",
            ["time", "zone", "partner", "path", "sha256", "age (days)", "limit (days)"],
            deleted,
        ),
    ]


def _status(verdict: Verdict) -> str:
    if verdict.ok:
        return (
            f"Audit log verified: {verdict.entries} entries, {verdict.checkpoints} signed "
            "checkpoints, chain and signed head intact."
        )
    return f"AUDIT LOG FAILED VERIFICATION: {verdict.problem}"


def render(entries: list[dict], start: dt.date, end: dt.date, verdict: Verdict) -> tuple[str, str]:
    chosen = [e for e in entries if _in_range(e, start, end)]
    title = f"Record of processing, {start} to {end}"
    parts = sections(chosen)
    md = [f"# {title}", "", _status(verdict), ""]
    for name, header, rows in parts:
        md += [f"## {name} ({len(rows)})", ""]
        if rows:
            md += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            md += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        else:
            md.append("None in this period.")
        md.append("")
    esc = html.escape
    body = [f"<h1>{esc(title)}</h1>", f"<p><strong>{esc(_status(verdict))}</strong></p>"]
    for name, header, rows in parts:
        body.append(f"<h2>{esc(name)} ({len(rows)})</h2>")
        if not rows:
            body.append("<p>None in this period.</p>")
            continue
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        cells = "".join(
            "<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows
        )
        body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #999;"
        "padding:.2em .4em;text-align:left}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )
    return "\n".join(md), page
