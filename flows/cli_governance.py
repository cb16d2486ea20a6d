"""`mcn` commands for information governance: policy map, audit, retention, re-identification."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from flows.config import Zones
from governance.errors import AuditError


def _public_key(args: argparse.Namespace) -> list:
    """Audit public keys: each --public-key PEM, else derived from $MCN_AUDIT_KEY_FILE."""
    from cryptography.hazmat.primitives import serialization

    from governance.audit import load_audit_key

    if args.public_key:
        return [serialization.load_pem_public_key(Path(p).read_bytes()) for p in args.public_key]
    return [load_audit_key().public_key()]


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from governance.audit import verify

    zones = Zones.from_env(args.data_dir)
    verdict = verify(zones.audit, _public_key(args))
    if not verdict.ok:
        raise AuditError(
            f"audit log {zones.audit / 'audit.jsonl'} does not verify: "
            f"{verdict.problem}. Fix: treat as a security incident; restore the "
            "log from backup and compare"
        )
    print(
        f"audit log verified: {verdict.entries} entries, {verdict.checkpoints} signed "
        f"checkpoints ({zones.audit / 'audit.jsonl'})"
    )
    return 0


def cmd_audit_report(args: argparse.Namespace) -> int:
    from flows.audit_report import render
    from governance.audit import read_entries, verify

    zones = Zones.from_env(args.data_dir)
    entries = read_entries(zones.audit)
    md, page = render(entries, args.start, args.end, verify(zones.audit, _public_key(args)))
    out = args.out or zones.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"record-of-processing-{args.start}-{args.end}"
    stem.with_suffix(".md").write_text(md)
    stem.with_suffix(".html").write_text(page)
    print(f"wrote {stem}.md and {stem}.html")
    return 0


def cmd_audit_keygen(args: argparse.Namespace) -> int:
    from governance.audit import create_audit_key, load_audit_key, public_pem

    if not create_audit_key(args.out):
        raise FileExistsError(f"{args.out} exists; choose another --out")
    pub = args.out.with_suffix(".pub")
    pub.write_bytes(public_pem(load_audit_key({"MCN_AUDIT_KEY_FILE": str(args.out)})))
    print(
        f"audit signing key: {args.out} (0600, set MCN_AUDIT_KEY_FILE)\n"
        f"public key for verifiers: {pub}"
    )
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    from governance.audit import AuditLog, load_audit_key

    entry = AuditLog(Zones.from_env(args.data_dir).audit).checkpoint(load_audit_key())
    print(f"checkpoint {entry['seq']} covers entries up to {entry['covers_seq']}")
    return 0


def cmd_policy_map(args: argparse.Namespace) -> int:
    from flows.report import table
    from governance.policy import check_all
    from transforms.dataflow import data_flow_map

    policies, problems = check_all(verify=False)
    rows = [
        [
            f"{f.partner}.{f.extract}.{f.column}",
            f.treatment,
            ", ".join(f.staged) or "-",
            ", ".join(f.published) or "-",
        ]
        for f in data_flow_map(policies)
    ]
    header = ["source column", "treatment", "staged / vault", "published"]
    if args.format == "md":
        print("| " + " | ".join(header) + " |\n|---|---|---|---|")
        print("\n".join("| " + " | ".join(r) + " |" for r in rows))
    else:
        print(table(header, rows))
    if problems:
        print(
            f"({len(problems)} policy problem(s) not shown: run `mcn policy check`)",
            file=sys.stderr,
        )
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from flows import retention
    from governance.audit import AuditLog, load_audit_key
    from governance.policy import load_policy
    from schemas.registry import PARTNER_NAMES

    zones = Zones.from_env(args.data_dir)
    policies = {n: load_policy(n) for n in PARTNER_NAMES}
    audit, key = (None, None) if args.dry_run else (AuditLog(zones.audit), load_audit_key())
    items = retention.apply(zones, policies, args.today, args.dry_run, audit)
    if audit is not None:
        audit.checkpoint(key)
    verb = "would delete" if args.dry_run else "deleted"
    for item in items:
        print(
            f"{verb} {item.zone:<10} {item.partner:<8} {item.path.relative_to(zones.root)} "
            f"(age {item.age_days} days > {item.limit_days})"
        )
    print(f"{len(items)} file(s) {verb}" + ("" if args.dry_run else "; receipts in the audit log"))
    return 0


def cmd_reidentify(args: argparse.Namespace) -> int:
    from flows.reidentify import Request, reidentify
    from governance.audit import AuditLog, load_audit_key
    from governance.policy import load_policy
    from governance.vault import load_vault_key
    from schemas.registry import PARTNER_NAMES

    zones = Zones.from_env(args.data_dir)
    policies = {n: load_policy(n) for n in PARTNER_NAMES}
    audit, audit_key = AuditLog(zones.audit), load_audit_key()
    request = Request(args.person_id, args.role, args.purpose, args.requester)
    try:
        rows = reidentify(zones, policies, request, load_vault_key(), audit)
    finally:
        audit.checkpoint(audit_key)
    from flows.report import table

    header = list(dict.fromkeys(k for r in rows for k in r))
    print(table(header, [[str(r.get(h) or "") for h in header] for r in rows]))
    print(
        f"{len(rows)} record(s) opened for {args.requester} ({args.role}, {args.purpose}); "
        "this use is in the audit log",
        file=sys.stderr,
    )
    return 0


def register(sub, policy_sub, common: argparse.ArgumentParser, date_type) -> None:
    p = policy_sub.add_parser(
        "map", help="every source column: its treatment and every output column it reaches"
    )
    p.add_argument("--format", choices=["text", "md"], default="text", help="output format")
    p.set_defaults(func=cmd_policy_map)

    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    key_help = (
        "audit public key (PEM), repeatable to include keys rotated out; default: "
        "derived from $MCN_AUDIT_KEY_FILE"
    )
    p = asub.add_parser(
        "verify",
        parents=[common],
        help="check the hash chain and signed checkpoints; names the first bad entry",
    )
    p.add_argument("--public-key", action="append", help=key_help)
    p.set_defaults(func=cmd_audit_verify)
    p = asub.add_parser(
        "report",
        parents=[common],
        help="write a record of processing (HTML and Markdown) for a date range",
    )
    p.add_argument("--from", dest="start", type=date_type, required=True, help="first day")
    p.add_argument("--to", dest="end", type=date_type, default=dt.date.today(), help="last day")
    p.add_argument("--out", type=Path, help="folder for the report (default <data>/reports)")
    p.add_argument("--public-key", action="append", help=key_help)
    p.set_defaults(func=cmd_audit_report)
    p = asub.add_parser("keygen", help="make an audit signing key (Ed25519)")
    p.add_argument("--out", type=Path, required=True, help="private key file to write")
    p.set_defaults(func=cmd_audit_keygen)
    p = asub.add_parser("checkpoint", parents=[common], help="sign the log's current head")
    p.set_defaults(func=cmd_audit_checkpoint)

    retention = sub.add_parser("retention", help="retention per zone")
    rsub = retention.add_subparsers(dest="retention_command", required=True)
    p = rsub.add_parser(
        "apply",
        parents=[common],
        help="delete data older than each zone's retention; receipts go to the audit log",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")
    p.add_argument("--today", type=date_type, default=dt.date.today(), help="date to age from")
    p.set_defaults(func=cmd_retention)

    p = sub.add_parser(
        "reidentify",
        parents=[common],
        help="recover contact identity for one "
        "cohort person, for a role and purpose the agreements allow (audited)",
    )
    p.add_argument("--person-id", required=True, help="person_id from the cohort table")
    p.add_argument("--role", required=True, help="your role, e.g. mcn_caseworker")
    p.add_argument("--purpose", required=True, help="why, e.g. offer_joined_up_support")
    p.add_argument(
        "--requester",
        default=os.environ.get("USER", "unknown"),
        help="your name, for the audit log (default $USER)",
    )
    p.set_defaults(func=cmd_reidentify)
