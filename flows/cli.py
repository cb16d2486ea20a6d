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
from flows.config import Zones  # noqa: E402
from governance import errors as gov_errors  # noqa: E402
from schemas.errors import SchemaError  # noqa: E402

DEV_KEYS = Path(".mcn") / "dev-keys"
# The demo is pinned to a date inside the shipped agreements' validity, so it keeps working
# after they lapse; real runs default to today.
DEMO_DATE = dt.date(2026, 11, 1)
USER_ERRORS = (
    gov_errors.AuditError,
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
    written = synthesise(
        args.people,
        args.seed,
        args.out,
        args.as_of,
        _progress(start),
        noise=getattr(args, "noise", "default"),
    )
    _say(f"[{time.monotonic() - start:6.1f}s] done")
    print(report.synth_table(written, args.out))
    return 0


def preflight(partners: list[str]) -> None:
    """Fail in a second, before Prefect starts, on what would fail the flow anyway."""
    from governance.audit import load_audit_key
    from governance.keys import load_linkage_key
    from governance.policy import load_policy
    from governance.vault import load_vault_key

    load_linkage_key()
    load_audit_key()
    policies = [load_policy(name) for name in partners]
    if any(p.agreement.reidentification for p in policies):
        load_vault_key()


def cmd_run(args: argparse.Namespace) -> int:
    from schemas.registry import PARTNER_NAMES

    preflight(args.partner or list(PARTNER_NAMES))
    from flows.nightly import nightly  # imports Prefect: seconds, so after the preflight

    result = nightly(
        data_dir=str(Zones.from_env(args.data_dir).root),
        run_date=args.run_date,
        partners=args.partner,
        lookback_days=args.lookback_days,
        mcn_threshold=args.threshold,
    )
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

    zones = Zones.from_env(args.data_dir)
    if not zones.cohort.exists():
        raise NothingThere(
            f"no cohort table at {zones.cohort}. Fix: run `mcn run` (or `make "
            "demo`) first, or pass --data-dir"
        )
    ctx = pl.SQLContext(cohort=pl.scan_parquet(zones.cohort))
    try:
        result = ctx.execute(args.sql).collect()
    except Exception as exc:  # noqa: BLE001 - SQL mistakes are user errors
        raise NothingThere(
            f"the query did not run ({type(exc).__name__}): "
            f"{str(exc).splitlines()[0]}. The table is `cohort`; see "
            "docs/schemas.md for its columns"
        ) from None
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


def _dev_key(env_var: str, path: Path, what: str, create) -> None:
    """Use (and if need be create) a development key, loudly, when none is configured."""
    if os.environ.get(env_var):
        return
    made = create(path)
    _say(
        f"!! {'Created' if made else 'Using'} a DEVELOPMENT {what} at {path}: synthetic demo "
        f"data only. Real runs set {env_var} to a key held under your key procedure."
    )
    os.environ[env_var] = str(path)


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
    from governance.audit import ENV_AUDIT_KEY_FILE, create_audit_key
    from governance.keys import ENV_KEY, ENV_KEY_FILE, create_dev_key
    from governance.vault import ENV_VAULT_KEY_FILE, create_vault_key

    if not os.environ.get(ENV_KEY):
        _dev_key(ENV_KEY_FILE, DEV_KEYS / "linkage.key", "linkage key", create_dev_key)
    _dev_key(ENV_VAULT_KEY_FILE, DEV_KEYS / "vault.key", "vault key", create_vault_key)
    _dev_key(ENV_AUDIT_KEY_FILE, DEV_KEYS / "audit.key", "audit signing key", create_audit_key)
    zones = Zones.from_env(args.data_dir)
    args.out, args.as_of = zones.root, args.run_date
    cmd_synth(args)
    cmd_run(args)
    args.truth = None
    cmd_linkage_score(args)
    from flows.cli_governance import cmd_audit_verify

    args.public_key = None
    cmd_audit_verify(args)
    print(
        f'\nTry: uv run mcn query "select need_count, count(*) as persons from cohort group by 1 '
        f'order by 1"{"" if zones.root == Path("data") else f" --data-dir {zones.root}"}'
    )
    return 0


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
        choices=["police", "nhs", "council", "dwp"],
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
    p.add_argument(
        "--noise",
        choices=("default", "realistic"),
        default="default",
        help="noise model: default, or realistic (no fixed abode, missing DOBs, aliases, "
        "titles, typos anywhere, twins and namesakes; flows/synth_realistic.py)",
    )
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
        choices=["police", "nhs", "council", "dwp"],
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
        "query", parents=[common], help="run SQL over the cohort table (polars SQL; table `cohort`)"
    )
    p.add_argument("sql", help='e.g. "select need_count, count(*) from cohort group by 1"')
    p.add_argument("--max-rows", type=int, default=50, help="rows to print at most")
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
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (*USER_ERRORS, NothingThere) as exc:
        _say(f"error: {exc}")
        return getattr(exc, "exit_code", 2)


if __name__ == "__main__":
    sys.exit(main())
