"""`mcn costs`, `mcn impact`, `mcn business-case`: the evidence for a business case, as an
analyst gets it: under an IG-signed analyst grant, audited, disclosure-controlled in every
format (the same figures in a table, CSV, JSON or the workbook)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from flows.config import Zones, add_user_key
from schemas.errors import OutputExistsError

FORMATS = ("table", "csv", "json")
WORKBOOK = Path("outputs") / "business_case.xlsx"  # under the data directory, by default


def analyst_log(zones: Zones, key: Path | None, what: str):
    """The analyst's own audit signer, after their grant is checked (as `mcn query` does)."""
    from governance import grants as grant_rules
    from governance.audit import AuditLog, Signer, revoked_grants
    from governance.errors import GrantError
    from governance.signing import trusted_keys

    try:
        user = grant_rules.load_user_key(key)
    except GrantError:
        AuditLog(zones.audit).append("evidence_refused", output=what, reason="R01")
        raise
    found = grant_rules.for_key(grant_rules.grants_dir(zones.root), user.key_id)
    decision = grant_rules.covering(
        found,
        trusted_keys(),
        grant_rules.ANALYST_ROLES,
        None,
        dt.date.today(),
        revoked=revoked_grants(zones.audit, trusted_keys()),
    )
    if decision.grant is None:
        AuditLog(zones.audit).append(
            "evidence_refused", output=what, reason=decision.code, user_key_id=user.key_id
        )
        raise GrantError(f"[{decision.code}] {what} refused: {decision.reason}")
    return AuditLog(zones.audit, Signer(user.key_id, user.private, decision.grant))


def _emit(text: str, out: Path | None) -> None:
    text = text if text.endswith("\n") else text + "\n"
    if out:
        out.write_text(text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def _check_out(args: argparse.Namespace) -> None:
    if args.out and args.out.exists() and not args.force:
        raise OutputExistsError(f"{args.out} exists. Fix: choose a new file name, or --force")


def _labels_md(labels: dict) -> list[str]:
    return [f"- {k}: {v}" for k, v in labels.items()]


def _none(v):
    return "redacted" if v is None else v


def cmd_costs(args: argparse.Namespace) -> int:
    from flows import tables
    from flows.costing import cost_report

    zones = Zones.from_env(args.data_dir)
    _check_out(args)
    log = analyst_log(zones, args.key, "costs")
    report = cost_report(zones, args.unit_costs, args.year, args.price_year)
    log.append(
        "evidence_output",
        output="costs",
        unit_costs_version=report.costs.version,
        disclosure={k: t.record() for k, t in report.tables.items()},
    )
    frames = {k: t.published for k, t in report.tables.items()}
    if args.format == "json":
        doc = {
            "labels": report.labels(),
            "tables": {k: f.to_dicts() for k, f in frames.items()},
            "distribution": report.distribution,
        }
        _emit(json.dumps(doc, indent=2, default=str), args.out)
    elif args.format == "csv":
        rows = [[k, *map(_none, r)] for k, f in frames.items() for r in f.rows()]
        header = ["table", "group", "people", "total_cost", "cost_per_person"]
        _emit(tables.csv_text(header, rows), args.out)
    else:
        parts = [f"# What the cohort costs ({report.labels()['illustrative']})", ""]
        parts += _labels_md(report.labels()) + [""]
        for k, f in frames.items():
            parts += [f"## Cost per person by {k.replace('_', ' ')}", ""]
            parts += [tables.markdown_table(f.columns, [list(map(_none, r)) for r in f.rows()])]
            parts += [""]
        parts += ["## Distribution (MCN cohort)", ""]
        parts += [tables.markdown_table(["measure", "value"], list(report.distribution.items()))]
        _emit("\n".join(parts), args.out)
    return 0


def cmd_impact(args: argparse.Namespace) -> int:
    from flows import tables
    from flows.business_case import impact_evidence
    from transforms.impact_output import controlled_count, controlled_impact

    zones = Zones.from_env(args.data_dir)
    _check_out(args)
    log = analyst_log(zones, args.key, "impact")
    costs, price_year, _use, ev = impact_evidence(zones, args.unit_costs, args.price_year)
    total = controlled_impact(ev.total)
    by_agency = {a: controlled_impact(i) for a, i in ev.by_agency.items()}
    labels = {
        "unit_costs": costs.name,
        "unit_costs_version": costs.version,
        "illustrative": "ILLUSTRATIVE unit costs (demo): not for decisions"
        if costs.illustrative
        else "no",
        "price_year": price_year,
        "starts_not_in_cohort": controlled_count(ev.starts_not_in_cohort),
    }
    log.append("evidence_output", output="impact", unit_costs_version=costs.version)
    keys = [k for k in total if k not in ("balance", "matched_on", "estimate")]
    rows = [[k, total[k], *[by_agency[a].get(k) for a in by_agency]] for k in keys]
    header = ["measure", "all agencies", *by_agency]
    if args.format == "json":
        doc = {"labels": labels, "all_agencies": total, "by_agency": by_agency}
        _emit(json.dumps(doc, indent=2, default=str), args.out)
    elif args.format == "csv":
        _emit(tables.csv_text(header, [list(map(_none, r)) for r in rows]), args.out)
    else:
        parts = [
            f"# What changed after support ({total['estimate']})",
            "",
            *_labels_md(labels),
            "",
            "Cost per person-month, in pounds. The naive before/after is NOT an effect: "
            "people are supported at a crisis peak (regression to the mean).",
            "",
            tables.markdown_table(header, [list(map(_none, r)) for r in rows]),
            "",
            "## Balance (all agencies)",
            "",
            tables.markdown_table(
                ["variable", "mean_supported", "mean_comparison", "smd"],
                [
                    [_none(b[k]) for k in ("variable", "mean_supported", "mean_comparison", "smd")]
                    for b in total.get("balance") or []
                ],
            ),
        ]
        _emit("\n".join(parts), args.out)
    return 0


def cmd_business_case(args: argparse.Namespace) -> int:
    from flows import tables
    from flows.business_case import business_case
    from flows.workbook import write_workbook

    zones = Zones.from_env(args.data_dir)
    if args.format == "xlsx" and not args.out:
        args.out = zones.root / WORKBOOK
        args.force = True  # the default workbook is the latest one
    _check_out(args)
    log = analyst_log(zones, args.key, "business case")
    ev = business_case(zones, args.unit_costs, args.parameters, args.year, args.price_year)
    log.append(
        "evidence_output",
        output="business_case",
        unit_costs_version=ev.costs.costs.version,
        parameters_version=ev.parameters.version,
        disclosure={k: t.record() for k, t in ev.costs.tables.items()},
    )
    keys = list(ev.case[0]) if ev.case else ["agency"]
    rows = [[line[k] for k in keys] for line in ev.case]
    if args.format == "xlsx":
        print(f"business-case workbook: {write_workbook(ev, args.out)}")
    elif args.format == "json":
        doc = {
            "labels": ev.labels(),
            "parameters": [
                {"parameter": n, "value": v, "source": s} for n, v, s in ev.parameters.rows()
            ],
            "case": ev.case,
        }
        _emit(json.dumps(doc, indent=2, default=str), args.out)
    elif args.format == "csv":
        _emit(tables.csv_text(keys, rows), args.out)
    else:
        parts = [f"# Business case ({ev.labels()['illustrative']})", ""]
        parts += _labels_md(ev.labels()) + [""]
        parts += [tables.markdown_table(keys, rows), "", "## Assumptions", ""]
        parts += [
            tables.markdown_table(
                ["parameter", "value", "source"], [list(r) for r in ev.parameters.rows()]
            )
        ]
        if not ev.case:
            parts += ["", "No line: the estimate was withheld (too few matched people)."]
        _emit("\n".join(parts), args.out)
    return 0


def register(sub, common: argparse.ArgumentParser, year_type) -> None:
    evidence = argparse.ArgumentParser(add_help=False)
    evidence.add_argument(
        "--unit-costs",
        type=Path,
        help="unit cost table, YAML (default $MCN_UNIT_COSTS, else the ILLUSTRATIVE demo table)",
    )
    evidence.add_argument(
        "--price-year",
        type=year_type,
        help="prices of this year (default: the latest year of the deflator series)",
    )
    evidence.add_argument("-o", "--out", type=Path, help="write to this file")
    evidence.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    add_user_key(evidence)
    year = argparse.ArgumentParser(add_help=False)
    year.add_argument(
        "--year",
        type=year_type,
        help="the calendar year costed (default: the last whole year of the service-use table)",
    )

    p = sub.add_parser(
        "costs",
        parents=[common, evidence, year],
        help="what the cohort costs: per person a year by agency, need combination and "
        "framework, and the distribution (disclosure-controlled, audited)",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="output format")
    p.set_defaults(func=cmd_costs)

    p = sub.add_parser(
        "impact",
        parents=[common, evidence],
        help="what changed after support: difference in differences against a matched "
        "comparison group, from the intervention list (disclosure-controlled, audited)",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="output format")
    p.set_defaults(func=cmd_impact)

    p = sub.add_parser(
        "business-case",
        parents=[common, evidence, year],
        help="the guidance's lines by agency (deadweight, optimism bias, cashable, discounted) "
        "as a table, CSV, JSON or the XLSX workbook",
    )
    p.add_argument(
        "--parameters",
        type=Path,
        help="assumptions, YAML (default $MCN_BUSINESS_CASE_PARAMETERS, else the shipped ones)",
    )
    p.add_argument(
        "--format",
        choices=(*FORMATS, "xlsx"),
        default="table",
        help=f"output format; xlsx writes the workbook (default <data>/{WORKBOOK})",
    )
    p.set_defaults(func=cmd_business_case)
