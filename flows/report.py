"""Plain-text reports for the terminal: counts, column names and rule names only."""

from __future__ import annotations

from pathlib import Path

from governance.errors import Problem
from schemas.codes import CODES


def table(header: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def synth_table(written: dict[str, int], out: Path) -> str:
    rows = [[name, f"{n:,}"] for name, n in written.items()]
    return (
        f"Synthetic extracts written to {out / 'landing'} (ground truth: "
        f"{out / 'ground_truth'})\n" + table(["extract", "rows"], rows)
    )


def run_summary(result: dict) -> str:
    rows = []
    for partner, extracts in result["ingest"].items():
        for c in extracts:
            rows.append(
                [
                    f"{partner}/{c['extract']}",
                    f"{c['rows_in']:,}",
                    f"{c['rows_staged']:,}",
                    f"{c['rows_quarantined']:,}",
                    f"{c['rows_opted_out']:,}",
                    "yes" if c["already_staged"] else "",
                ]
            )
    cohort = result["cohort"]
    by_need = [[str(k), f"{v:,}"] for k, v in cohort["persons_by_need_count"].items()]
    return "\n".join(
        [
            f"\nRun {result['run_id']} for {cohort['run_date']} (needs {cohort['needs_version']}, "
            f"lookback {cohort['lookback_days']} days)",
            table(
                [
                    "partner/extract",
                    "rows in",
                    "staged",
                    "quarantined",
                    "opted out",
                    "already staged",
                ],
                rows,
            ),
            *quarantine_lines(result["ingest"]),
            *notice_lines(result["ingest"]),
            f"\nLinked {cohort['records_linked']:,} records into {cohort['persons']:,} persons; "
            f"{cohort['mcn_persons']:,} have {cohort['mcn_threshold']}+ needs.",
            table(["needs", "persons"], by_need),
            *[
                f"warning: agreement {w} (see `mcn ig register`)"
                for w in result.get("agreements") or []
            ],
            f"\nCohort table: {cohort['cohort_path']}",
            *(
                [f"Linkage model chart: {cohort['linkage_chart_path']}"]
                if cohort.get("linkage_chart_path")
                else []
            ),
            f"Run record:   {Path(cohort['published_set']).parents[1] / 'runs' / result['run_id']}",
            "Artifacts:    Prefect artifacts mcn-night-ingest and mcn-night-summary (in the UI "
            "of the server that ran the night); the summary also at "
            f"{result.get('night_summary_path')}",
        ]
    )


# An extract that quarantines at least this share of its rows is named in the night's summary
# with its reasons: a change in the partner's export (a renamed code, dates with times) shows up
# as most rows failing one rule, and the night itself still succeeds.
QUARANTINE_WARN_SHARE = 0.10
TOP_REASONS = 3  # reasons named per warned extract, the most frequent first


def quarantine_lines(ingested: dict[str, list[dict]]) -> list[str]:
    """One warning per extract whose quarantined share is QUARANTINE_WARN_SHARE or more, with
    its commonest reasons (codes and column names, counts only)."""
    lines = []
    for partner, extracts in sorted(ingested.items()):
        for c in extracts:
            rows_in, bad = c.get("rows_in") or 0, c.get("rows_quarantined") or 0
            if not rows_in or bad < QUARANTINE_WARN_SHARE * rows_in:
                continue
            reasons = sorted((c.get("reasons") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
            named = ", ".join(f"{k} {v:,}" for k, v in reasons[:TOP_REASONS])
            lines.append(
                f"warning: {partner}/{c['extract']} quarantined {bad:,} of {rows_in:,} rows "
                f"({bad / rows_in:.0%}): {named} (codes: docs/schemas.md#extract-codes)"
            )
    return lines


def notice_lines(ingested: dict[str, list[dict]]) -> list[str]:
    """The extracts' notices that ask something of someone (their code's fix is not "none
    needed"): one line per extract and code with its count, then each code's fix once
    (schemas.codes). Counts only."""
    found: dict[str, list[str]] = {}
    for partner, extracts in sorted(ingested.items()):
        for c in extracts:
            for name, count in sorted((c.get("notices") or {}).items()):
                known = CODES.get(name)
                if known is not None and known.fix != "none needed":
                    found.setdefault(name, []).append(f"{partner}/{c['extract']} {count:,}")
    return [
        line
        for name, where in found.items()
        for line in (f"notice {name}: {', '.join(where)}", f"  fix: {CODES[name].fix}")
    ]


def policy_report(policies: dict, approvals: dict, problems: list[Problem]) -> str:
    lines = []
    for name, policy in policies.items():
        a, ok = policy.agreement, approvals[name]
        lines.append(
            f"ok   {name}: {a.id} valid {a.valid_from} to {a.valid_to}, review {a.review_date}; "
            f"signed by {ok.approver} ({ok.key_id}) at {ok.signed_at}"
        )
    lines += [f"FAIL {p}" for p in problems]
    return "\n".join(lines)


def linkage_quality(q: dict, against: str = "against the synthetic ground truth") -> str:
    return "\n".join(
        [
            f"\nLinkage quality {against} (pairwise, over records):",
            table(
                ["measure", "value"],
                [
                    ["records", f"{q['records']:,}"],
                    ["true persons", f"{q['true_persons']:,}"],
                    ["linked persons", f"{q['predicted_persons']:,}"],
                    ["true pairs", f"{q['true_pairs']:,}"],
                    ["linked pairs", f"{q['predicted_pairs']:,}"],
                    ["precision", f"{q['precision']:.4f}"],
                    ["recall", f"{q['recall']:.4f}"],
                    ["F1", f"{q['f1']:.4f}"],
                    ["persons exactly right", f"{q['cluster_precision']:.4f}"],
                    ["true persons recovered", f"{q['cluster_recall']:.4f}"],
                ],
            ),
        ]
    )
