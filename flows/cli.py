"""`mcn`: the command line for data engineers, IG officers and analysts.

User errors print one message (what, where, how to fix) and exit with a stable code:
2 usage, 3 bad extract, 4 bad policy or signature, 5 missing key, 6 hashing, 7 agreement not in
force, 8 checks or leak scan failed, 9 nothing to query or score, 10 audit log does not verify,
11 opt-out list missing or stale, 12 re-identification refused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from flows import report  # noqa: E402
from flows.config import Zones, restrict_umask  # noqa: E402
from governance import errors as gov_errors  # noqa: E402
from schemas.errors import SchemaError  # noqa: E402
from schemas.registry import PARTNER_NAMES  # noqa: E402

DEMO_QUERY = "select need_count, count(*) as persons from cohort group by 1 order by 1"
# The demo is pinned to a date inside the shipped agreements' validity, so it keeps working
# after they lapse; real runs default to today.
DEMO_DATE = dt.date(2026, 11, 1)
USER_ERRORS = (
    gov_errors.AuditError,
    gov_errors.GrantError,
    gov_errors.StagingError,
    gov_errors.OptOutError,
    gov_errors.ReidentificationError,
    gov_errors.PolicySignatureError,
    FileExistsError,
    SchemaError,
    gov_errors.PolicyError,
    gov_errors.KeyMissingError,
    gov_errors.PseudonymisationError,
    gov_errors.AgreementNotInForceError,
    gov_errors.LeakError,
)


class NothingThere(Exception):
    exit_code = 9


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-11-22") from None


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(start: float):
    return lambda message: _say(f"[{time.monotonic() - start:6.1f}s] {message}")


def cmd_synth(args: argparse.Namespace) -> int:
    from flows.synth import synthesise

    start = time.monotonic()
    written = synthesise(args.people, args.seed, args.out, args.as_of, _progress(start))
    _say(f"[{time.monotonic() - start:6.1f}s] done")
    print(report.synth_table(written, args.out))
    return 0


def preflight(partners: list[str]) -> None:
    """Fail in a second, before Prefect starts, on what would fail every partner anyway (a
    missing key); a partner whose policy fails is named here and refused (audited) by the flow,
    while the others run."""
    from governance.audit import load_audit_key
    from governance.keys import load_linkage_key
    from governance.policy import load_policy
    from governance.vault import load_vault_key

    load_linkage_key()
    load_audit_key()
    policies, problems = [], []
    for name in partners:
        try:
            policies.append(load_policy(name))
        except gov_errors.PolicyError as exc:
            problems += exc.problems
            _say(f"warning: {name} will be refused tonight: {len(exc.problems)} policy problem(s)")
    if not policies:
        raise gov_errors.PolicyError(problems)
    for problem in problems:
        _say(f"  - {problem}")
    if any(p.agreement.reidentification for p in policies):
        load_vault_key()


def cmd_run(args: argparse.Namespace) -> int:
    from schemas.registry import PARTNER_NAMES

    preflight(args.partner or list(PARTNER_NAMES))
    from flows.nightly import NightFailed, nightly  # imports Prefect: after the preflight

    try:
        result = nightly(
            data_dir=str(Zones.from_env(args.data_dir).root),
            run_date=args.run_date,
            partners=args.partner,
            lookback_days=args.lookback_days,
            mcn_threshold=args.threshold,
        )
    except NightFailed as failed:
        print(report.run_summary(failed.result))
        for partner, why in failed.result["failed"].items():
            _say(f"error: {partner}: {why}")
        _say(f"error: {failed}; the cohort was built from the other partners")
        return failed.exit_code
    print(report.run_summary(result))
    return 0


def cmd_policy_check(args: argparse.Namespace) -> int:
    from governance.policy import check_all, policy_path
    from governance.signing import verify_policy

    policies, problems = check_all(args.policy_dir, on=args.on)
    approvals = {n: verify_policy(policy_path(n, args.policy_dir)) for n in policies}
    print(report.policy_report(policies, approvals, problems))
    if problems:
        _say(
            f"error: {len(problems)} problem(s) in the policies above. Fix them, then run "
            "`mcn policy check` again."
        )
        return gov_errors.PolicyError.exit_code
    return 0


def cmd_policy_keygen(args: argparse.Namespace) -> int:
    from governance.signing import keygen

    key, pub = keygen(args.name, args.out)
    print(
        f"private key: {key} (mode 0600; keep it yourself, never commit it)\n"
        f"public key:  {pub} (copy into governance/approvers/ or $MCN_APPROVERS_DIR to trust)"
    )
    return 0


def cmd_policy_sign(args: argparse.Namespace) -> int:
    from governance.policy import PARTNER_NAMES, load_policy, policy_path
    from governance.signing import load_private, sign_policy

    names = list(PARTNER_NAMES) if args.all else args.partner
    if not names:
        raise gov_errors.PolicySignatureError(
            "name the policies to sign (--partner P, repeatable) or pass --all", "POL030"
        )
    private = load_private(args.key)
    for name in names:
        load_policy(name, args.policy_dir, verify=False)  # never sign a policy that fails checks
        out = sign_policy(policy_path(name, args.policy_dir), private, args.approver)
        print(f"signed {policy_path(name, args.policy_dir)} -> {out}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    import polars as pl

    from flows.query import run_query

    zones = Zones.from_env(args.data_dir)
    if not zones.cohort.exists():
        raise NothingThere(
            f"no cohort table at {zones.cohort}. Fix: run `mcn run` (or `make "
            "demo`) first, or pass --data-dir"
        )
    result = run_query(zones, args.sql, args.key)
    with pl.Config(tbl_rows=args.max_rows, tbl_cols=-1, tbl_hide_dataframe_shape=True):
        print(result)
    return 0


def cmd_linkage_score(args: argparse.Namespace) -> int:
    from flows.cohort_build import evaluate_links

    zones = Zones.from_env(args.data_dir)
    truth = args.truth or zones.ground_truth
    for path, fix in (
        (zones.links, "run `mcn run` first"),
        (truth, "pass --truth, or generate data with `mcn synth`"),
    ):
        if not Path(path).exists():
            raise NothingThere(f"{path} does not exist. Fix: {fix}")
    print(report.linkage_quality(evaluate_links(zones.links, Path(truth))))
    return 0


def cmd_linkage_evaluate(args: argparse.Namespace) -> int:
    from flows.linkage_evaluate import evaluate, load_config, write_json

    result = evaluate(load_config(args.config))
    print(report.linkage_quality(result, "against the config's truth column"))
    print("seconds: " + ", ".join(f"{k} {v}" for k, v in result["seconds"].items()))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from flows import demo
    from flows.cli_governance import cmd_audit_verify
    from flows.gx_project import latest_data_docs
    from governance.audit import service_log

    demo.dev_keys()
    zones = Zones.from_env(args.data_dir)
    args.out, args.as_of = zones.root, args.run_date
    cmd_synth(args)
    code = cmd_run(args)
    if code:
        return code
    print(f"Data Docs (great-expectations checks, counts only): {latest_data_docs(zones.runs)}")
    demo.dev_analyst(zones)
    env = demo.write_dev_env()
    args.truth = None
    cmd_linkage_score(args)
    print("\nPersons by number of needs (`mcn query`, as the development analyst, audited):")
    args.sql, args.key, args.max_rows = DEMO_QUERY, None, 50
    cmd_query(args)
    service_log(zones.audit).seal_run()  # the operator seals the demo's queries into the log
    data = "" if zones.root == Path("data") else f" --data-dir {zones.root}"
    print(f'\nTry: . {env} && uv run mcn query "{DEMO_QUERY}"{data}')
    args.public_key, args.witness = None, None  # verified with the audit public key only
    return cmd_audit_verify(args)


def _add_run_options(p: argparse.ArgumentParser, run_date: dt.date | None = None) -> None:
    p.add_argument(
        "--run-date",
        type=_date,
        default=run_date or dt.date.today(),
        help=f"date the run is for: needs look back from it (default {run_date or 'today'})",
    )
    p.add_argument(
        "--partner",
        action="append",
        choices=PARTNER_NAMES,
        help="ingest only this partner (repeatable; default all)",
    )
    p.add_argument(
        "--lookback-days",
        type=int,
        default=365,
        help="need events count within this many days before the run date",
    )
    p.add_argument(
        "--threshold",
        type=int,
        default=2,
        help="need_count at which a person is flagged MCN (default 2)",
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mcn", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data directory (default $MCN_DATA_DIR or ./data)")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write synthetic partner extracts and a ground truth")
    p.add_argument("--people", type=int, default=20_000, help="population size")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same files)")
    p.add_argument("--out", type=Path, default=Path("data"), help="data directory to write")
    p.add_argument("--as-of", type=_date, default=dt.date.today(), help="extract date")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "run",
        parents=[common],
        help="run the nightly flow locally: ingest all partners, build the cohort",
    )
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    policy = sub.add_parser("policy", help="data-sharing agreement policies")
    psub = policy.add_subparsers(dest="policy_command", required=True)
    p = psub.add_parser("check", help="check every policy; list every problem with file and key")
    p.add_argument(
        "--policy-dir",
        type=Path,
        help="folder of <partner>.yaml (default $MCN_POLICY_DIR, else the shipped policies)",
    )
    p.add_argument(
        "--on",
        type=_date,
        default=dt.date.today(),
        help="fail agreements not in force on this date (default today)",
    )
    p.set_defaults(func=cmd_policy_check)

    p = psub.add_parser(
        "sign",
        help="record an IG officer's Ed25519 approval of the exact "
        "policy text (writes <partner>.yaml.sig)",
    )
    p.add_argument("--key", type=Path, required=True, help="approver's private key (.key)")
    p.add_argument("--approver", required=True, help="approver's name as it should be recorded")
    p.add_argument(
        "--partner",
        action="append",
        choices=PARTNER_NAMES,
        help="policy to sign (repeatable)",
    )
    p.add_argument("--all", action="store_true", help="sign every partner's policy")
    p.add_argument("--policy-dir", type=Path, help="folder of <partner>.yaml")
    p.set_defaults(func=cmd_policy_sign)

    p = psub.add_parser("keygen", help="make an approver key pair (private .key, public .json)")
    p.add_argument("--name", required=True, help="approver's name")
    p.add_argument("--out", type=Path, default=Path(".mcn/approver"), help="folder to write")
    p.set_defaults(func=cmd_policy_keygen)

    from flows.cli_governance import register

    register(sub, psub, common, _date)

    p = sub.add_parser(
        "query",
        parents=[common],
        help="run SQL over the registered tables (polars SQL; table `cohort`), under your "
        "analyst grant; every query is audited",
    )
    p.add_argument("sql", help='e.g. "select need_count, count(*) from cohort group by 1"')
    p.add_argument("--max-rows", type=int, default=50, help="rows to print at most")
    p.add_argument(
        "--key", type=Path, help="your private key (default $MCN_USER_KEY_FILE); needs a grant"
    )
    p.set_defaults(func=cmd_query)

    linkage = sub.add_parser("linkage", help="linkage quality")
    lsub = linkage.add_subparsers(dest="linkage_command", required=True)
    p = lsub.add_parser(
        "score",
        parents=[common],
        help="precision, recall and F1 of the published links against "
        "a ground truth (synthetic data)",
    )
    p.add_argument("--truth", type=Path, help="ground truth parquet (default from the data dir)")
    p.set_defaults(func=cmd_linkage_score)
    p = lsub.add_parser(
        "evaluate",
        help="pseudonymise (throwaway key), link and score any CSV or "
        "Parquet files against a truth column; see flows/linkage_evaluate.py",
    )
    p.add_argument(
        "--config",
        type=Path,
        required=True,
        help="YAML or JSON: files, column mapping to identity fields, truth column",
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.set_defaults(func=cmd_linkage_evaluate)

    p = sub.add_parser(
        "demo", parents=[common], help="development key, synthetic data, nightly run, summary"
    )
    p.add_argument("--people", type=int, default=20_000, help="population size")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    _add_run_options(p, DEMO_DATE)
    p.set_defaults(func=cmd_demo)
    return top


def main(argv: list[str] | None = None) -> int:
    restrict_umask()  # everything the pipeline writes: files 0640 at most, folders 0750
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (*USER_ERRORS, NothingThere) as exc:
        _say(f"error: {exc}")
        return getattr(exc, "exit_code", 2)
    except Exception as exc:
        if not isinstance(getattr(exc, "exit_code", None), int):
            raise
        _say(f"error: {exc}")  # our own errors carry an exit code and a value-free message
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
