"""`mcn cohort ...`: needs frameworks, building the cohort from staged data, and what changed
between two nights (the cohort history)."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

from flows.config import Zones, add_user_key, restrict_umask
from flows.tables import markdown_table


def cmd_frameworks(args: argparse.Namespace) -> int:
    from transforms import framework

    for name in framework.shipped():
        fw = framework.load(name)
        print(f"{fw.version}  {fw.title}")
        print(f"  {fw.threshold}+ of: " + ", ".join(f"{n.label} ({n.domain})" for n in fw.needs))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Build the cohort from what is staged, under the frameworks given, as of a date."""
    from flows import publish, runs
    from flows.cli import preflight
    from flows.cohort_build import build
    from flows.nightly import new_run_id
    from governance.audit import service_log
    from schemas.registry import partner_names
    from transforms.framework import load_all

    restrict_umask()
    zones = Zones.from_env(args.data_dir)
    runs.require_data_dir(zones)
    preflight(list(partner_names()))
    load_all(args.framework)
    with runs.run_lock(zones):
        run_id = new_run_id()
        publish.recover(zones)
        audit = service_log(zones.audit)
        try:
            summary = build(
                zones,
                args.as_of,
                run_id,
                args.lookback_days,
                args.threshold,
                audit,
                frameworks=args.framework,
            )
        finally:
            audit.seal_run()
    print(
        f"Cohort {run_id} as of {args.as_of}: {summary['persons']:,} linked persons "
        f"(history: {summary['history']['rows_added']:,} rows added, "
        f"{summary['history']['rows_deleted_opted_out']:,} of opted-out persons deleted)"
    )
    rows = [
        [f["table"], f["version"], f["threshold"], f"{f['mcn_persons']:,}"]
        for f in summary["frameworks"].values()
    ]
    from flows.report import table

    print(table(["table", "framework version", "threshold", "in cohort"], rows))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from flows import history
    from flows.query import agreement_rules, authorise

    zones = Zones.from_env(args.data_dir)
    ask = f"diff {args.from_} {args.to} {args.framework or ''} rows={args.rows}"
    digest = {"sql_sha256": hashlib.sha256(ask.encode()).hexdigest()}
    log, accredited = authorise(zones, args.key, dt.date.today(), digest)
    if args.rows and not accredited:
        log.append("query_refused", reason="SQL016", what="cohort_diff", **digest)
        from governance.output_check import AggregateOnlyError

        raise AggregateOnlyError(
            "SQL016", "`mcn cohort diff --rows` lists persons, for an accredited analyst only"
        )
    rows = history.read(zones.history)
    before = history.snapshot(rows, args.from_, args.framework)
    after = history.snapshot(rows, args.to, args.framework)
    found = history.diff(before, after)
    if args.rows:
        log.append(
            "query_finished",
            status="ok",
            what="cohort_diff",
            row_level=True,
            rows_returned=found.rows.height,
            **digest,
        )
        out = found.rows
        text = out.write_csv()
    else:
        movement, needs = history.controlled(found, agreement_rules())
        log.append(
            "query_finished",
            status="ok",
            what="cohort_diff",
            disclosure={"movement": movement.record(), "needs": needs.record()},
            **digest,
        )
        text = render(before.label, after.label, movement.published, needs.published, args.json)
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from flows.publication import publish_table

    zones = Zones.from_env(args.data_dir)
    record = publish_table(zones, args.name, args.sql, args.approver_key, args.out, args.key)
    print(
        f"published {args.out / (args.name + '.csv')} ({record['cells']} cells; redacted "
        f"{record['redacted_primary']} small and {record['redacted_secondary']} more; "
        f"approved by {record['approver']}); output-checking record: "
        f"{args.out / (args.name + '.output-check.md')}"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from flows.board_report import build_report

    zones = Zones.from_env(args.data_dir)
    index = build_report(zones, args.out or zones.root / "report", args.on)
    print(f"Board report: {index}")
    return 0


def _shown(value) -> str:
    return "[redacted]" if value is None else f"{value:,}"


def render(before: str, after: str, movement, needs, as_json: bool) -> str:
    if as_json:
        return (
            json.dumps(
                {
                    "from": before,
                    "to": after,
                    "movement": movement.to_dicts(),
                    "needs": needs.to_dicts(),
                },
                indent=2,
            )
            + "\n"
        )
    lines = [
        f"Cohort from {before} to {after} (persons, redacted 1-7, rounded to 5):",
        "",
        markdown_table(["change", "persons"], [[r[0], _shown(r[1])] for r in movement.rows()]),
        "",
        "Needs gained and lost by those in both:",
        "",
        markdown_table(
            ["need", "change", "persons"], [[r[0], r[1], _shown(r[2])] for r in needs.rows()]
        ),
    ]
    return "\n".join(lines) + "\n"


def register(sub, common: argparse.ArgumentParser, date_type, framework_options) -> None:
    from transforms.framework import shipped

    cohort = sub.add_parser("cohort", help="needs frameworks, cohort builds and history")
    csub = cohort.add_subparsers(dest="cohort_command", required=True)
    p = csub.add_parser("frameworks", help="the needs frameworks: version, threshold, needs")
    p.set_defaults(func=cmd_frameworks)

    p = csub.add_parser(
        "build",
        parents=[common],
        help="build the cohort from the staged data under needs frameworks, as of a date "
        "(publishes the set and adds a snapshot to the history)",
    )
    p.add_argument(
        "--as-of", type=date_type, default=dt.date.today(), help="run date (default today)"
    )
    framework_options(p)
    p.set_defaults(func=cmd_build)

    p = csub.add_parser(
        "diff",
        parents=[common],
        help="entries, exits and changed needs between two snapshots of the cohort history "
        "(disclosure-controlled counts; --rows for an accredited analyst)",
    )
    p.add_argument(
        "--from",
        dest="from_",
        required=True,
        help="a snapshot date (2026-10-01) or a framework version (mcn-default@...)",
    )
    p.add_argument("--to", required=True, help="a snapshot date or a framework version")
    p.add_argument(
        "--framework",
        choices=shipped(),
        help="the framework whose snapshots dates refer to (default mcn-default)",
    )
    p.add_argument("--rows", action="store_true", help="list persons (accredited role only)")
    p.add_argument("--json", action="store_true", help="JSON instead of tables")
    p.add_argument("-o", "--out", type=Path, help="write to this file")
    add_user_key(p)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser(
        "publish",
        parents=[common],
        help="publish one aggregate table: disclosure control under the agreements' rules, a "
        "differencing check against its last publication, an output-checking record signed "
        "by an IG approver",
    )
    p.add_argument("name", help="the publication's name (the same name = the same table)")
    p.add_argument(
        "sql",
        help='one COUNT in at most two groups, e.g. "select age_band, count(*)'
        ' as n from cohort group by 1"',
    )
    p.add_argument(
        "--approver-key", type=Path, required=True, help="the output checker's approver key"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("publications"),
        help="folder to write (default ./publications)",
    )
    add_user_key(p)
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser(
        "report",
        parents=[common],
        help="the partnership board's report: one offline folder (index.html), every figure "
        "disclosure-controlled, every framework named with its version",
    )
    p.add_argument("--out", type=Path, help="folder to write (default <data>/report)")
    p.add_argument(
        "--on", type=date_type, default=dt.date.today(), help="report date (default today)"
    )
    p.set_defaults(func=cmd_report)
