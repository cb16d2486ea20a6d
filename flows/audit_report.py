"""`mcn audit report`: a record of processing for IG officers, as Markdown and HTML.

Built only from the audit log, which holds counts, names, hashes and key ids: no row values.
"""

from __future__ import annotations

import datetime as dt

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


def nights(entries: list[dict]) -> list[list]:
    """Processing by night: one row per run, from its ingest and cohort entries."""
    runs: dict[str, dict] = {}
    for e in entries:
        if e["event"] in ("ingest", "ingest_already_staged", "ingest_refused", "cohort"):
            run = runs.setdefault(e.get("run_id", "-"), {"time": e["time"], "in": 0, "refused": 0})
            run["in"] += e.get("rows_in", 0)
            run["refused"] += e["event"] == "ingest_refused"
            if e["event"] == "cohort":
                run |= {"persons": e["persons"], "mcn": e["mcn_persons"], "date": e["run_date"]}
    return [
        [
            r["time"][:16],
            rid,
            r.get("date", "-"),
            r["in"],
            r["refused"],
            r.get("persons", "-"),
            r.get("mcn", "-"),
        ]
        for rid, r in runs.items()
    ]


def subject_requests(entries: list[dict]) -> list[list]:
    return [
        [
            e["time"],
            "access (Article 15)" if e["event"] == "subject_access" else "objection (Article 21)",
            e.get("request_id") or e.get("objection_id"),
            ", ".join(e.get("identifier_kinds", [])),
            ", ".join(e.get("zones", [])) or "-",
            e.get("persons", "-"),
        ]
        for e in entries
        if e["event"] in ("subject_access", "objection_recorded")
    ]


def anomalies(entries: list[dict]) -> list[list]:
    """Worth a look: a policy changed between runs, re-identifications above their usual daily
    rate (more than twice the median of active days), a partner's data stale."""
    out, last = [], {}
    for e in entries:
        if e["event"] in ("ingest", "ingest_already_staged"):
            before = last.get(e["partner"])
            if before and before != e["policy_sha256"]:
                out.append(
                    [
                        e["time"],
                        "policy changed",
                        f"{e['partner']}: {before[:12]} -> "
                        f"{e['policy_sha256'][:12]} (see `mcn policy history`)",
                    ]
                )
            last[e["partner"]] = e["policy_sha256"]
        if e["event"] == "cohort":
            for partner, info in (e.get("stale_partners") or {}).items():
                out.append([e["time"], "partner stale", f"{partner}: {info.get('days')} days"])
    per_day: dict[str, int] = {}
    for e in entries:
        if e["event"] == "reidentify":
            per_day[e["time"][:10]] = per_day.get(e["time"][:10], 0) + 1
    if per_day:
        usual = sorted(per_day.values())[len(per_day) // 2]
        out += [
            [day, "re-identifications above usual", f"{n} (usual {usual} a day)"]
            for day, n in sorted(per_day.items())
            if n > 2 * usual
        ]
    return out


def render(
    entries: list[dict],
    start: dt.date,
    end: dt.date,
    verdict: Verdict,
    agreements: tuple[list[str], list[list]] | None = None,
) -> tuple[str, str]:
    """The IG report: agreements, nights, refusals, re-identifications, retention receipts,
    subject requests and anomalies, as Markdown and one offline HTML page."""
    from flows import tables

    chosen = [e for e in entries if _in_range(e, start, end)]
    title = f"Record of processing, {start} to {end}"
    parts = sections(chosen)
    extra = [
        (
            "Processing by night",
            ["time", "run", "run date", "rows in", "partners refused", "persons", "MCN persons"],
            nights(chosen),
        ),
        (
            "Subject requests",
            ["time", "request", "id", "identifiers given (kinds)", "zones", "persons"],
            subject_requests(chosen),
        ),
        ("Anomalies worth a look", ["time", "what", "detail"], anomalies(chosen)),
    ]
    head = [("Agreements and their status", *agreements)] if agreements else []
    everything = head + extra[:1] + parts + extra[1:]
    intro = [_status(verdict)]
    return tables.markdown(title, intro, everything), tables.html_page(title, intro, everything)
