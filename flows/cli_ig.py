"""`mcn` commands for IG officers: the agreement register, policy diff and history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flows.config import Zones
from governance.errors import PolicyError, Problem
from schemas.errors import ExitCode
from schemas.registry import partner_names


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


def cmd_ig_register(args: argparse.Namespace) -> int:
    from flows import tables
    from flows.ig import register_entries
    from governance.register import HEADER, row, warnings

    entries, problems = register_entries(args.policy_dir, args.on, args.within)
    rows = [row(e) for e in entries]
    title = f"Agreement register on {args.on}"
    intro = [f"Warnings look {args.within} days ahead."]
    if args.format == "csv":
        text = tables.csv_text(HEADER, rows)
    elif args.format == "html":
        text = tables.html_page(title, intro, [("Agreements", HEADER, rows)])
    else:
        text = tables.markdown(title, intro, [("Agreements", HEADER, rows)])
    _write(text, args.out)
    for line in warnings(entries):
        print(f"warning: {line}", file=sys.stderr)
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    blocking = [e.partner for e in entries if e.blocking] + sorted({_partner(p) for p in problems})
    if blocking:
        print(
            f"error: agreement(s) not in force for {', '.join(blocking)}: those partners are "
            "refused tonight. Fix: renew, or have every party sign (`mcn policy sign`), or fix "
            "the policy (`mcn policy check`)",
            file=sys.stderr,
        )
        return ExitCode.AGREEMENT_NOT_IN_FORCE
    return 0


def _partner(problem: Problem) -> str:
    return Path(problem.file).stem


def _policy_of(text: str, where: str):
    import yaml
    from pydantic import ValidationError

    from governance.agreement import Policy

    try:
        return Policy.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError):
        raise PolicyError(
            [Problem(where, "-", "POL003", "does not load; run `mcn policy check` for details")]
        ) from None


def cmd_policy_diff(args: argparse.Namespace) -> int:
    from governance.policy import policy_path
    from governance.policy_diff import describe_changes
    from governance.signing import last_approved

    path = policy_path(args.partner, args.policy_dir)
    base = last_approved(path)
    if base is None:
        print(f"{path}: no version was ever signed by every party; all of it is new")
        return 0
    digest, text = base
    old = _policy_of(text, f"{path.name}.sig (signed version {digest[:12]})")
    new = _policy_of(path.read_text(encoding="utf-8"), str(path))
    changes = describe_changes(old, new)
    print(f"{args.partner}: working copy against the version every party signed ({digest[:12]})")
    if not changes:
        print("no change in substance" + ("" if _same(path, digest) else " (layout or comments)"))
    for line in changes:
        print(f"- {line}")
    return 0


def _same(path: Path, digest: str) -> bool:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() == digest


def cmd_policy_history(args: argparse.Namespace) -> int:
    from flows.report import table
    from governance.audit import read_entries
    from governance.policy_history import versions_in_force

    zones = Zones.from_env(args.data_dir)
    versions = versions_in_force(read_entries(zones.audit), args.partner)
    rows = [
        [v.sha256[:12], v.agreement_id, v.first_used, v.last_used, v.runs, v.signers]
        for v in versions
    ]
    print(
        table(["policy sha256", "agreement", "first used", "last used", "runs", "signed by"], rows)
    )
    if not rows:
        print(f"({args.partner}: no version used by any run in this audit log)", file=sys.stderr)
    return 0


def register(sub, policy_sub, common: argparse.ArgumentParser, date_type) -> None:
    import datetime as dt

    from governance.register import DEFAULT_WINDOW_DAYS

    p = policy_sub.add_parser(
        "diff",
        help="what changed, in words, between the version every party signed and the "
        "working copy (columns, treatments, retention, dates, parties, roles)",
    )
    p.add_argument("partner", choices=partner_names(), help="whose policy")
    p.add_argument("--policy-dir", type=Path, help="folder of <partner>.yaml")
    p.set_defaults(func=cmd_policy_diff)

    p = policy_sub.add_parser(
        "history",
        parents=[common],
        help="every version of a partner's policy that was in force for a run, with its "
        "signers, from the audit log",
    )
    p.add_argument("partner", choices=partner_names(), help="whose policy")
    p.set_defaults(func=cmd_policy_history)

    ig = sub.add_parser("ig", help="information governance views for IG officers")
    isub = ig.add_subparsers(dest="ig_command", required=True)
    p = isub.add_parser(
        "register",
        help="every agreement: parties, lawful basis, validity, review date, status and "
        "signatures; exits 7 when any is expired or unsigned",
    )
    p.add_argument("--on", type=date_type, default=dt.date.today(), help="date to judge on")
    p.add_argument(
        "--within",
        type=int,
        default=DEFAULT_WINDOW_DAYS,
        help=f"warn of expiry or review due within this many days (default {DEFAULT_WINDOW_DAYS})",
    )
    p.add_argument("--format", choices=["md", "csv", "html"], default="md", help="output format")
    p.add_argument("--out", type=Path, help="file to write (default: standard output)")
    p.add_argument("--policy-dir", type=Path, help="folder of <partner>.yaml")
    p.set_defaults(func=cmd_ig_register)
    register_ropa(isub, common)
    register_add_approver(policy_sub)
    register_subject_rights(isub, common)


def cmd_ig_ropa(args: argparse.Namespace) -> int:
    import datetime as dt

    from flows import tables
    from flows.ig import security_measures, write_xlsx
    from governance.policy import agreements_in, check_all
    from governance.ropa import HEADER, record
    from schemas.registry import all_partners

    names = agreements_in(args.policy_dir)
    policies, problems = check_all(args.policy_dir, verify=False, names=names)
    if not policies:
        raise PolicyError(problems)
    rows = record(policies, all_partners(), security_measures())
    hub = next(
        (p for pol in policies.values() for p in pol.agreement.parties if p.role == "recipient"),
        None,
    )
    preface = [
        ("Controller", f"{hub.name}: {hub.contact.name}, {hub.contact.email}" if hub else "-"),
        ("Agreements", ", ".join(p.agreement.id for p in policies.values())),
        ("Generated", f"{dt.date.today()} by `mcn ig ropa` from the agreements and contracts"),
    ]
    title = "Record of processing activities (UK GDPR Article 30(1))"
    intro = [f"{label}: {value}" for label, value in preface]
    out = args.out or Zones.from_env(args.data_dir).root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / "record-of-processing-activities"
    sections = [("Processing activities", HEADER, rows)]
    stem.with_suffix(".md").write_text(tables.markdown(title, intro, sections), encoding="utf-8")
    stem.with_suffix(".html").write_text(tables.html_page(title, intro, sections), "utf-8")
    write_xlsx(stem.with_suffix(".xlsx"), title, preface, HEADER, rows)
    print(f"wrote {len(rows)} processing activities to {stem}.md, .html and .xlsx")
    for p in problems:
        print(f"left out (policy fails its checks): {p}", file=sys.stderr)
    return 0 if not problems else ExitCode.BAD_POLICY


def register_ropa(isub, common: argparse.ArgumentParser) -> None:
    p = isub.add_parser(
        "ropa",
        parents=[common],
        help="the Article 30(1) record of processing activities (Markdown, HTML, XLSX laid out "
        "like the ICO template), from the agreements, contracts and security docs",
    )
    p.add_argument("--out", type=Path, help="folder to write (default <data>/reports)")
    p.add_argument("--policy-dir", type=Path, help="folder of <partner>.yaml")
    p.set_defaults(func=cmd_ig_ropa)


def read_identifiers(stream=None) -> dict[str, str]:
    """One person's identifiers from a prompt (a terminal) or standard input (`field: value`
    lines), never from the command line: they stay out of shell history and the process list.
    Nothing read here is ever printed, logged or audited."""
    from flows.errors import UsageError
    from governance.subject import FIELDS

    stream = stream or sys.stdin
    known = dict(FIELDS)
    if stream.isatty():
        print("Enter what the person gave (leave blank to skip):", file=sys.stderr)
        return {role: input(f"  {label}: ").strip() for role, label in FIELDS}
    given = {}
    for n, line in enumerate(stream.read().splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or name.strip() not in known:
            raise UsageError(
                f"standard input line {n} is not `field: value` with a field of "
                f"{', '.join(known)}. Fix: one identifier a line, e.g. `surname: ...`"
            )
        given[name.strip()] = value.strip()
    return given


def _subject_tokens(given: dict[str, str]) -> dict[str, str]:
    from flows.errors import UsageError
    from governance.keys import load_linkage_key
    from governance.subject import subject_tokens

    tokens = subject_tokens(given, load_linkage_key())
    if not tokens:
        raise UsageError(
            "these identifiers single no one out. Fix: give an NHS number, a National "
            "Insurance number, or forename, surname and date of birth (YYYY-MM-DD)"
        )
    return tokens


def pack_markdown(request_id: str, pack) -> str:
    from flows import tables

    rows = [
        [h.zone, h.partner, h.extract, h.where, h.records, ", ".join(h.record_refs) or "-"]
        for h in pack.holdings
    ]
    header = ["zone", "partner", "extract", "file", "records", "partner record references"]
    need_rows = [
        [n["person_id"], n["need_count"], n["mcn_flag"]]
        + [", ".join(k[5:] for k, v in n.items() if k.startswith("need_") and v is True) or "-"]
        for n in pack.needs
    ]
    intro = [
        f"Request {request_id}. Zones holding records: {', '.join(pack.zones()) or 'none'}. "
        f"Partners: {', '.join(sorted({h.partner for h in pack.holdings} - {'-'})) or 'none'}.",
        "Found by keyed tokens of the identifiers given; the identifiers are not in this pack.",
    ]
    sections = [
        ("Where the records are", header, rows),
        ("Cohort needs", ["person_id", "need count", "MCN", "needs flagged"], need_rows),
    ]
    return tables.markdown(f"Subject access pack {request_id}", intro, sections)


def cmd_ig_subject_access(args: argparse.Namespace) -> int:
    import secrets

    from flows import runs
    from flows.subject_access import find_subject
    from governance.audit import service_log
    from governance.keys import load_linkage_key

    zones = Zones.from_env(args.data_dir)
    runs.require_data_dir(zones)
    tokens = _subject_tokens(read_identifiers())
    pack = find_subject(zones, tokens, load_linkage_key())
    request_id = "sar-" + secrets.token_hex(6)
    audit = service_log(zones.audit)
    audit.append(
        "subject_access",
        request_id=request_id,
        identifier_kinds=sorted(tokens),
        zones=pack.zones(),
        partners=sorted({h.partner for h in pack.holdings} - {"-"}),
        records_found=sum(h.records for h in pack.holdings if h.zone == "staged"),
        persons=len(pack.person_ids),
    )
    audit.seal_run()
    _write(pack_markdown(request_id, pack), args.out)
    print(f"{request_id}: recorded in the audit log (no identifiers)", file=sys.stderr)
    return 0


def cmd_ig_object(args: argparse.Namespace) -> int:
    import datetime as dt

    from flows import runs
    from governance import objections
    from governance.audit import service_log
    from governance.keys import load_linkage_key

    zones = Zones.from_env(args.data_dir)
    runs.require_data_dir(zones)
    tokens = _subject_tokens(read_identifiers())
    key = load_linkage_key()
    entry = objections.new_entry(tokens, key, dt.datetime.now(dt.UTC))
    objections.append(zones.root / "objections", entry)
    audit = service_log(zones.audit)
    audit.append(
        "objection_recorded",
        objection_id=entry["objection_id"],
        identifier_kinds=sorted(tokens),
        key_id=key.key_id,
        reason=args.reason,
    )
    audit.seal_run()
    print(
        f"recorded objection {entry['objection_id']}: the person is left out of every build "
        "from the next one on (cohort, links and pairs), like the national opt-out"
    )
    return 0


def register_subject_rights(isub, common: argparse.ArgumentParser) -> None:
    p = isub.add_parser(
        "subject-access",
        parents=[common],
        help="Article 15: find every zone holding one person's records and their cohort needs; "
        "identifiers are read from a prompt or standard input (`field: value` lines), never "
        "the command line; audited without them",
    )
    p.add_argument("--out", type=Path, help="write the pack here (default: standard output)")
    p.set_defaults(func=cmd_ig_subject_access)
    p = isub.add_parser(
        "object",
        parents=[common],
        help="Article 21: record an objection (identifiers from a prompt or standard input); "
        "the person is left out of every later build, like the national opt-out",
    )
    p.add_argument("--reason", default="objection upheld", help="for the record; no personal data")
    p.set_defaults(func=cmd_ig_object)


def cmd_policy_add_approver(args: argparse.Namespace) -> int:
    from governance import signatures as sig
    from governance.errors import PolicySignatureError
    from governance.policy import policy_path
    from governance.policy_text import with_approver
    from governance.signing import public_key_id

    public = sig.read_public(args.public_key)
    if public is None:
        raise PolicySignatureError(
            f"{args.public_key} is not an approver's public key. Fix: pass the .json "
            "`mcn policy keygen` wrote",
            "POL032",
        )
    key_id = public_key_id(public)
    path = policy_path(args.partner, args.policy_dir)
    path.write_text(with_approver(path.read_text(encoding="utf-8"), args.party, key_id, str(path)))
    print(
        f"{path}: {args.party} now names approver {key_id}. The text changed, so every party "
        "signs it again (`mcn policy sign --key KEY --all`, once per approver key)"
    )
    return 0


def register_add_approver(policy_sub) -> None:
    p = policy_sub.add_parser(
        "add-approver",
        help="name an approver's key as one who may sign for a party of a partner's agreement "
        "(edits agreement.parties[].approvers, keeping comments)",
    )
    p.add_argument("partner", choices=partner_names(), help="whose policy")
    p.add_argument("--party", required=True, help="the party's name exactly as in the agreement")
    p.add_argument("--public-key", type=Path, required=True, help="the approver's public .json")
    p.add_argument("--policy-dir", type=Path, help="folder of <partner>.yaml")
    p.set_defaults(func=cmd_policy_add_approver)
