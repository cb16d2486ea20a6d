"""`mcn` commands for information governance: audit log, grants, re-identification, retention,
policy map and stale staged data."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from flows.config import Zones
from flows.errors import UsageError
from governance.errors import AuditError, GrantError
from schemas.errors import OutputExistsError


def _trust(args: argparse.Namespace):
    from governance.audit import Trust, load_audit_public_keys

    return Trust.of(load_audit_public_keys(args.public_key))


def _witnesses(paths: list[str] | None) -> list[dict]:
    out = []
    for path in paths or []:
        try:
            out.append(json.loads(Path(path).read_text()))
        except (OSError, ValueError):
            raise AuditError(
                f"witnessed head {path} cannot be read as JSON. Fix: pass the file "
                "`mcn audit head --out` wrote"
            ) from None
    return out


def _verified(args: argparse.Namespace, witnesses: list[dict] | None = None):
    from governance.audit import verify

    zones = Zones.from_env(args.data_dir)
    if not (zones.audit / "audit.jsonl").exists():
        raise AuditError(
            f"no audit log at {zones.audit / 'audit.jsonl'}. Fix: check --data-dir "
            "(or $MCN_DATA_DIR); the log is created by the first `mcn run`"
        )
    verdict = verify(zones.audit, _trust(args), witnesses)
    if not verdict.ok:
        raise AuditError(
            f"audit log {zones.audit / 'audit.jsonl'} does not verify: {verdict.problem}. "
            "Fix: treat this as a security incident: keep the file as it is, compare it with "
            "your backup and the heads you keep (`mcn audit verify --witness FILE`)"
        )
    return zones, verdict


def cmd_audit_verify(args: argparse.Namespace) -> int:
    witnesses = _witnesses(args.witness)
    zones, verdict = _verified(args, witnesses)
    if verdict.tail.entries:
        print(
            f"note: {verdict.tail.describe()}. They verify, but no signed head covers them yet "
            "(a run stopped early, or a re-identification or query since the last run); the "
            "next run seals them, or the operator runs `mcn audit seal`",
            file=sys.stderr,
        )
    if verdict.unauthenticated:
        print(
            f"note: {verdict.unauthenticated} refused attempt(s) by someone with no key or "
            "grant are recorded unsigned",
            file=sys.stderr,
        )
    extra = f", extends {len(witnesses)} witnessed head(s)" if witnesses else ""
    print(
        f"audit log verified: {verdict.entries} entries, {verdict.checkpoints} signed "
        f"checkpoints{extra} ({zones.audit / 'audit.jsonl'})"
    )
    return 0


def cmd_audit_head(args: argparse.Namespace) -> int:
    from governance.audit import AuditLog

    zones, verdict = _verified(args)
    head = AuditLog(zones.audit).read_head()
    kept = {
        "what": "a signed head of an mcn audit log, kept by an IG officer as a witness",
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "head": head,
    }
    if args.out.exists():
        raise OutputExistsError(f"{args.out} exists; keep every head. Fix: choose a new file name")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(kept, indent=2) + "\n")
    print(
        f"kept head of log {verdict.log_id}: {head['size'] if head else 0} entries, signed "
        f"{head['time'] if head else '-'} -> {args.out}. Keep it off the data host; check "
        f"later with `mcn audit verify --witness {args.out}`"
    )
    return 0


def cmd_audit_seal(args: argparse.Namespace) -> int:
    from governance.audit import Trust, load_audit_key, load_audit_public_keys, service_log

    zones = Zones.from_env(args.data_dir)
    log = service_log(zones.audit)
    extra = load_audit_public_keys(args.public_key) if args.public_key else []
    trust = Trust.of([load_audit_key().public_key(), *extra])

    def confirm(tail) -> bool:
        print(f"to seal: {tail.describe()}")
        if not tail.entries:
            return False
        if args.yes:
            return True
        if not sys.stdin.isatty():
            print("not sealed: pass --yes to seal without asking", file=sys.stderr)
            return False
        return input("seal these entries? [y/N] ").strip().lower() == "y"

    entry = log.seal(trust, confirm)
    if entry is None:
        print("nothing sealed")
        return 0
    print(f"sealed: checkpoint {entry['seq']} covers entries up to {entry['covers_seq']}")
    return 0


def cmd_audit_report(args: argparse.Namespace) -> int:
    from flows.audit_report import render
    from governance.audit import read_entries, verify

    if args.start > args.end:
        raise UsageError(f"--from {args.start} is after --to {args.end}. Fix: swap them")
    zones = Zones.from_env(args.data_dir)
    entries = read_entries(zones.audit)
    from flows.ig import register_entries
    from governance.register import DEFAULT_WINDOW_DAYS, HEADER, row

    register, _ = register_entries(None, args.end, DEFAULT_WINDOW_DAYS)
    md, page = render(
        entries,
        args.start,
        args.end,
        verify(zones.audit, _trust(args)),
        (HEADER, [row(e) for e in register]),
    )
    out = args.out or zones.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"record-of-processing-{args.start}-{args.end}"
    stem.with_suffix(".md").write_text(md)
    stem.with_suffix(".html").write_text(page)
    print(f"wrote {stem}.md and {stem}.html")
    return 0


def cmd_audit_keygen(args: argparse.Namespace) -> int:
    from governance.audit import create_audit_key

    if not create_audit_key(args.out):
        raise OutputExistsError(
            f"{args.out} exists; nothing overwritten. Fix: choose another --out"
        )
    print(
        f"audit signing key: {args.out} (0600, set MCN_AUDIT_KEY_FILE)\n"
        f"public key for verifiers: {args.out.with_suffix('.pub')} (give it to IG officers; "
        "set MCN_AUDIT_PUBLIC_KEY_FILE)"
    )
    return 0


def cmd_user_keygen(args: argparse.Namespace) -> int:
    from governance.signing import keygen

    key, pub = keygen(args.name, args.out, kind="u")
    print(
        f"private key: {key} (mode 0600; yours alone: set MCN_USER_KEY_FILE)\n"
        f"public key:  {pub} (send it to your IG officer, who grants it with `mcn grant`)"
    )
    return 0


def _known_roles() -> dict[str, set[str]]:
    """role -> the purposes some agreement allows it (analyst roles: any purpose)."""
    from governance.grants import ANALYST_ROLES
    from governance.policy import check_all

    policies, _ = check_all(verify=False)
    roles: dict[str, set[str]] = {r: set() for r in ANALYST_ROLES}
    for policy in policies.values():
        rule = policy.agreement.reidentification
        for role in rule.roles if rule else []:
            roles.setdefault(role, set()).update(rule.purposes)
    return roles


def cmd_grant(args: argparse.Namespace) -> int:
    from governance import grants
    from governance import signatures as sig
    from governance.audit import AuditLog, Signer
    from governance.signing import load_private, trusted_keys

    roles = _known_roles()
    if args.role not in roles:
        raise GrantError(
            f"role '{args.role}' is in no agreement's reidentification roles and is not an "
            f"analyst role. Fix: one of {', '.join(sorted(roles))}"
        )
    allowed = roles[args.role]
    unknown = [p for p in args.purpose if allowed and p not in allowed]
    if unknown:
        raise GrantError(
            f"no agreement allows role '{args.role}' the purpose(s) {', '.join(unknown)}. "
            f"Fix: one of {', '.join(sorted(allowed))}"
        )
    user_public = sig.read_public(args.public_key)
    if user_public is None:
        raise GrantError(
            f"{args.public_key} is not a public key. Fix: pass the .json `mcn user keygen` wrote"
        )
    approver_key = load_private(args.key)
    if sig.key_id(approver_key.public_key(), "a") not in trusted_keys():
        raise GrantError(
            f"{args.key} is not a trusted IG approver's key. Fix: sign with your approver key "
            "(its public .json must be in governance/approvers/ or $MCN_APPROVERS_DIR)"
        )
    grant = grants.issue(
        args.user,
        user_public,
        args.role,
        args.purpose,
        args.until,
        args.approver,
        approver_key,
        dt.date.today(),
    )
    zones = Zones.from_env(args.data_dir)
    path = grants.write(grant, grants.grants_dir(zones.root, args.grants_dir))
    try:
        AuditLog(zones.audit, Signer.approver(approver_key)).append(
            "grant_issued",
            **{k: grant[k] for k in ("grant_id", "user", "user_key_id", "role", "purposes")},
            valid_until=grant["valid_until"],
            issued_by=grant["issued_by"],
        )
        logged = "; recorded in the audit log"
    except AuditError:
        logged = "; no audit log yet, so it is recorded with its first use"
    print(
        f"granted {args.user} ({grant['user_key_id']}) role {args.role} for "
        f"{', '.join(grant['purposes'])} until {args.until}: {path}{logged}"
    )
    return 0


def _approver_key(path: Path):
    from governance import signatures as sig
    from governance.signing import load_private, trusted_keys

    key = load_private(path)
    if sig.key_id(key.public_key(), "a") not in trusted_keys():
        raise GrantError(
            f"{path} is not a trusted IG approver's key. Fix: use your approver key (its public "
            ".json must be in governance/approvers/ or $MCN_APPROVERS_DIR)"
        )
    return key


def cmd_optout_sign(args: argparse.Namespace) -> int:
    from governance.optout import sign_manifest

    key = _approver_key(args.key)
    zones = Zones.from_env(args.data_dir)
    manifest = sign_manifest(zones.optout, args.approver, key)
    print(
        f"signed the opt-out list as of {manifest['as_of']} ({manifest['rows']:,} numbers) as "
        f"{args.approver}: {zones.optout / 'manifest.json'}"
    )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from governance import signatures as sig
    from governance.audit import AuditLog, Signer
    from governance.signing import load_private, trusted_keys

    approver_key = load_private(args.key)
    if sig.key_id(approver_key.public_key(), "a") not in trusted_keys():
        raise GrantError(f"{args.key} is not a trusted IG approver's key. Fix: use your own")
    zones = Zones.from_env(args.data_dir)
    AuditLog(zones.audit, Signer.approver(approver_key)).append(
        "grant_revoked", grant_id=args.grant_id, revoked_by=args.approver, reason=args.reason
    )
    print(f"revoked {args.grant_id}: refused from now on (recorded in the audit log)")
    return 0


def cmd_reidentify(args: argparse.Namespace) -> int:
    from flows.reidentify import Request, reidentify
    from flows.report import table
    from governance.policy import load_policy
    from schemas.registry import partner_names

    zones = Zones.from_env(args.data_dir)
    policies = {n: load_policy(n) for n in partner_names()}
    request = Request(args.person_id, args.purpose, args.role)
    rows = reidentify(zones, policies, request, args.key)
    header = list(dict.fromkeys(k for r in rows for k in r))
    print(table(header, [[str(r.get(h) or "") for h in header] for r in rows]))
    print(
        f"{len(rows)} record(s) opened for {args.purpose}; this use is in the audit log, "
        "signed with your key",
        file=sys.stderr,
    )
    return 0


def cmd_policy_map(args: argparse.Namespace) -> int:
    from flows.report import table
    from governance.policy import check_all
    from transforms.dataflow import data_flow_map

    policies, problems = check_all(verify=False)
    if not policies:
        from governance.errors import PolicyError

        raise PolicyError(problems)
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
    from flows import retention, runs
    from flows.staging import Keys
    from governance.audit import service_log
    from governance.keys import load_linkage_key
    from governance.policy import load_policy
    from governance.vault import load_vault_key
    from schemas.registry import agreement_names

    zones = Zones.from_env(args.data_dir)
    runs.require_data_dir(zones)  # and no symbolic link planted anywhere in it
    # the partners' data and the lists' (the intervention list): each under its own agreement
    policies = {n: load_policy(n) for n in agreement_names()}
    keys = Keys(load_linkage_key(), load_vault_key() if retention.has_vault(zones) else None)
    audit = None if args.dry_run else service_log(zones.audit)
    items = retention.apply(zones, policies, args.today, args.dry_run, audit, keys)
    if audit is not None:
        audit.seal_run()
    verb = "would delete" if args.dry_run else "deleted"
    for item in items:
        print(
            f"{verb} {item.zone:<10} {item.partner:<8} {item.path.relative_to(zones.root)} "
            f"(age {item.age_days} days > {item.limit_days})"
        )
    print(f"{len(items)} file(s) {verb}" + ("" if args.dry_run else "; receipts in the audit log"))
    return 0


def cmd_staged_drop_stale(args: argparse.Namespace) -> int:
    from flows import runs
    from flows.staging import Binding, remove, unusable
    from governance.audit import service_log
    from governance.keys import load_linkage_key
    from governance.policy import load_approved
    from schemas.registry import partner, partner_names

    zones = Zones.from_env(args.data_dir)
    runs.require_data_dir(zones)
    key = load_linkage_key()
    audit = None if args.dry_run else service_log(zones.audit)
    dropped = 0
    for name in args.partner or partner_names():
        _, approval = load_approved(name)
        binding = Binding(approval.sha256, key.key_id)
        for ex in partner(name).extracts:
            for path in unusable(zones, ex, binding, key):
                dropped += 1
                verb = "would drop" if args.dry_run else "dropped"
                print(f"{verb} {path.relative_to(zones.root)}")
                if audit is not None:
                    audit.append(
                        "staged_dropped",
                        partner=name,
                        extract=ex.name,
                        deleted=remove(zones, path),
                        reason="made under another policy or key, or altered; cannot be remade",
                    )
    if audit is not None:
        audit.seal_run()
    print(f"{dropped} stale staged file(s) {'would be ' if args.dry_run else ''}dropped")
    return 0


def register(sub, policy_sub, common: argparse.ArgumentParser, date_type) -> None:
    p = policy_sub.add_parser(
        "map", help="every source column: its treatment and every output column it reaches"
    )
    p.add_argument("--format", choices=["text", "md"], default="text", help="output format")
    p.set_defaults(func=cmd_policy_map)

    _register_audit(sub, common, date_type)
    _register_access(sub, common, date_type)

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

    staged = sub.add_parser("staged", help="staged (pseudonymised) data")
    ssub = staged.add_subparsers(dest="staged_command", required=True)
    p = ssub.add_parser(
        "drop-stale",
        parents=[common],
        help="delete staged files made under another policy or linkage key that cannot be "
        "remade (their landing file is gone); receipts go to the audit log",
    )
    p.add_argument("--partner", action="append", help="only this partner (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")
    p.set_defaults(func=cmd_staged_drop_stale)


def _register_audit(sub, common: argparse.ArgumentParser, date_type) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    key_help = (
        "audit public key (PEM), repeatable to include keys rotated out; default "
        "$MCN_AUDIT_PUBLIC_KEY_FILE"
    )
    p = asub.add_parser(
        "verify",
        parents=[common],
        help="check every entry's chain and signature, the signed head, and that the log "
        "extends every witnessed head; names the first bad entry. Public keys only",
    )
    p.add_argument("--public-key", action="append", help=key_help)
    p.add_argument(
        "--witness",
        action="append",
        help="a head you kept (`mcn audit head --out`); repeatable. Fails if the log was cut "
        "back or rolled back below it",
    )
    p.set_defaults(func=cmd_audit_verify)
    p = asub.add_parser(
        "head",
        parents=[common],
        help="verify the log, then write its signed head to a file for you to keep (a witness)",
    )
    p.add_argument("--out", type=Path, required=True, help="file to write (a new one each time)")
    p.add_argument("--public-key", action="append", help=key_help)
    p.set_defaults(func=cmd_audit_head)
    p = asub.add_parser(
        "seal",
        parents=[common],
        help="after an interrupted run: show the entries no signed head covers, check each "
        "one's signature, and seal them with a signed checkpoint (operator; audit key)",
    )
    p.add_argument("--yes", action="store_true", help="seal without asking")
    p.add_argument("--public-key", action="append", help="rotated-out audit public keys")
    p.set_defaults(func=cmd_audit_seal)
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
    p = asub.add_parser("keygen", help="make the audit signing key (Ed25519) and its .pub")
    p.add_argument("--out", type=Path, required=True, help="private key file to write")
    p.set_defaults(func=cmd_audit_keygen)


def _register_access(sub, common: argparse.ArgumentParser, date_type) -> None:
    user = sub.add_parser("user", help="named users' own keys")
    usub = user.add_subparsers(dest="user_command", required=True)
    p = usub.add_parser("keygen", help="make your key pair (private .key, public .json)")
    p.add_argument("--name", required=True, help="your name as it should be recorded")
    p.add_argument("--out", type=Path, default=Path(".mcn/user"), help="folder to write")
    p.set_defaults(func=cmd_user_keygen)

    p = sub.add_parser(
        "grant",
        parents=[common],
        help="IG officer: sign a grant letting a named user act in a role for purposes "
        "until a date (re-identification roles from the agreements, or analyst)",
    )
    p.add_argument("--user", required=True, help="the user's name")
    p.add_argument("--public-key", type=Path, required=True, help="the user's public key (.json)")
    p.add_argument("--role", required=True, help="e.g. mcn_caseworker, analyst")
    p.add_argument("--purpose", action="append", required=True, help="repeatable")
    p.add_argument("--until", type=date_type, required=True, help="last day the grant holds")
    p.add_argument("--key", type=Path, required=True, help="your approver private key")
    p.add_argument("--approver", required=True, help="your name as it should be recorded")
    p.add_argument("--grants-dir", type=Path, help="default $MCN_GRANTS_DIR or <data>/grants")
    p.set_defaults(func=cmd_grant)

    p = sub.add_parser(
        "revoke",
        parents=[common],
        help="IG officer: withdraw a grant before its end date (recorded, signed, in the audit "
        "log; the grant is refused from then on even if its file comes back)",
    )
    p.add_argument("--grant-id", required=True, help="the grant's id (g-...)")
    p.add_argument("--reason", required=True, help="why, for the record (no personal data)")
    p.add_argument("--key", type=Path, required=True, help="your approver private key")
    p.add_argument("--approver", required=True, help="your name as it should be recorded")
    p.set_defaults(func=cmd_revoke)

    optout = sub.add_parser("optout", help="the national data opt-out list")
    osub = optout.add_subparsers(dest="optout_command", required=True)
    p = osub.add_parser(
        "sign",
        parents=[common],
        help="IG officer: vouch for the list in <data>/optout as the one received "
        "from NHS England (runs refuse an unsigned or edited list)",
    )
    p.add_argument("--key", type=Path, required=True, help="your approver private key")
    p.add_argument("--approver", required=True, help="your name as it should be recorded")
    p.set_defaults(func=cmd_optout_sign)

    p = sub.add_parser(
        "reidentify",
        parents=[common],
        help="recover contact identity for one cohort person under your grant, for a purpose "
        "the agreements allow (every attempt is audited, signed with your key)",
    )
    p.add_argument("--person-id", required=True, help="person_id from the cohort table")
    p.add_argument("--purpose", required=True, help="why, e.g. offer_joined_up_support")
    p.add_argument("--role", help="which of your granted roles to act in (default: any)")
    p.add_argument("--key", type=Path, help="your private key (default $MCN_USER_KEY_FILE)")
    p.set_defaults(func=cmd_reidentify)
