"""`mcn`: the command line for data engineers, IG officers and analysts.

User errors print one message (what, where, how to fix) and exit with a stable code:
2 usage, 3 bad extract, 4 bad policy or signature, 5 missing key, 6 hashing, 7 agreement not in
force, 8 checks or leak scan failed, 9 nothing to query or score, 10 audit log does not verify,
11 opt-out list missing or stale, 12 re-identification refused.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# `mcn run`/`demo` use Prefect's ephemeral mode (a temporary local server) unless
# PREFECT_API_URL points at a real one. Its default 20 s start timeout fails under CPU load; a
# fresh PREFECT_HOME with 2 busy cores took 100 s. Set before Prefect is imported, so it counts.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")

from flows import report  # noqa: E402
from flows.config import Zones, add_user_key, restrict_umask  # noqa: E402
from flows.errors import NothingThere, UsageError  # noqa: E402
from flows.runs import DEFAULT_MAX_STALE_DAYS, DEFAULT_PARALLEL_PARTNERS  # noqa: E402
from governance import errors as gov_errors  # noqa: E402
from schemas.errors import ExitCode, OutputExistsError, UserError  # noqa: E402
from schemas.registry import agreement_names, partner_names  # noqa: E402
from transforms.framework import DEFAULT_FRAMEWORK, shipped  # noqa: E402

DEMO_QUERY = "select need_count, count(*) as persons from cohort group by 1 order by 1"
# The demo is pinned to a date inside the shipped agreements' validity, so it keeps working
# after they lapse; real runs default to today.
DEMO_DATE = dt.date(2026, 11, 1)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-11-22") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return value


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(start: float):
    return lambda message: _say(f"[{time.monotonic() - start:6.1f}s] {message}")


def cmd_synth(args: argparse.Namespace) -> int:
    from flows.synth import synthesise

    landing = Path(args.out) / "landing"
    if landing.is_dir() and any(landing.iterdir()) and not getattr(args, "force", True):
        raise OutputExistsError(
            f"{landing} already holds extracts; nothing was overwritten. Fix: pass --force to "
            "replace them with new synthetic ones, or choose another --out"
        )
    start = time.monotonic()
    written = synthesise(
        args.people,
        args.seed,
        args.out,
        args.as_of,
        _progress(start),
        noise=getattr(args, "noise", "default"),
        events_until=getattr(args, "events_until", None),
    )
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
    from transforms.settings import check_settings

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
    check_settings({p.partner: p for p in policies})
    if any(p.agreement.reidentification for p in policies):
        load_vault_key()


def cmd_run(args: argparse.Namespace) -> int:
    from flows import runcli, runs

    zones = Zones.from_env(args.data_dir)
    runs.require_data_dir(zones)  # before anything is created, keys read or Prefect started
    preflight(args.partner or list(partner_names()))
    runcli.quiet_prefect_console()  # before scale_preflight, which may import Prefect
    store = scale_preflight(args)
    server = runcli.EarlyServer()  # boots while the flows import
    from flows.nightly import NightFailed, nightly  # imports Prefect: after the preflight

    log = runcli.log_to_file(zones)
    runs.show_progress_on_terminal()
    runcli.stop_on_signals(zones, _say)
    if getattr(args, "runner", "local") == "dask":
        import logging

        from flows.dask_runner import nightly_on_dask

        logging.getLogger("distributed").setLevel(logging.ERROR)  # not its shutdown chatter
        nightly = nightly_on_dask(args.dask_address)
    elif getattr(args, "parallel", None) is not None:
        from flows.nightly import partner_runner

        nightly = nightly.with_options(task_runner=partner_runner(args.parallel))
    if server.booting():  # while the server boots: GX's import, off the ingest's path
        from flows.checks import import_gx

        import_gx()
    try:
        with server.use():
            result = nightly(
                data_dir=str(zones.root),
                run_date=args.run_date,
                partners=args.partner,
                lookback_days=args.lookback_days,
                mcn_threshold=args.threshold,
                max_stale_days=args.max_stale_days,
                storage_url=store,
                frameworks=args.framework,
            )
    except NightFailed as failed:
        print(report.run_summary(failed.result))
        for partner, why in failed.result["failed"].items():
            _say(f"error: {partner}: {why}")
        stale = failed.result["cohort"].get("stale_partners") or {}
        _say(
            f"error: {failed}; the cohort was built from the others"
            + (f", with {', '.join(stale)} from earlier nights (stale)" if stale else "")
            + f". Details: {log}"
        )
        return failed.exit_code
    print(report.run_summary(result))
    return 0


def scale_preflight(args: argparse.Namespace) -> str | None:
    """The storage location and the Dask scheduler answer, before Prefect starts; the
    storage location of the run (None: the data directory alone)."""
    from flows import storage

    store = storage.location(getattr(args, "storage", None))
    if store:
        storage.check(store)
    if getattr(args, "dask_address", None) and args.runner != "dask":
        raise UsageError("--dask-address needs --runner dask. Fix: add --runner dask")
    if getattr(args, "parallel", None) and getattr(args, "runner", "local") == "dask":
        raise UsageError(
            "--parallel is for the local runner; on Dask the cluster's workers decide. Fix: "
            "drop --parallel, or size the cluster (docs/operations.md)"
        )
    if getattr(args, "runner", "local") == "dask":
        from flows.dask_runner import ENV_DASK_ADDRESS, require_scheduler

        args.dask_address = args.dask_address or os.environ.get(ENV_DASK_ADDRESS)
        if args.dask_address:
            require_scheduler(args.dask_address)
    return store


def cmd_policy_check(args: argparse.Namespace) -> int:
    from governance.policy import agreements_in, check_all, policy_path
    from governance.signing import verify_policy

    names = agreements_in(args.policy_dir)
    policies, problems = check_all(args.policy_dir, on=args.on, names=names)
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
    from governance.policy import load_policy, policy_path
    from governance.signing import (
        load_private,
        public_key_id,
        sign_policy,
        signatories,
        trusted_keys,
    )
    from schemas.registry import partner_names

    private = load_private(args.key)
    key_id = public_key_id(private.public_key())
    approver = args.approver or trusted_keys().get(key_id, (None,))[0]
    if not approver:
        raise gov_errors.PolicySignatureError(
            f"key {key_id} is not a trusted approver, so its name is unknown. Fix: pass "
            "--approver NAME, and put its public .json in governance/approvers/",
            "POL032",
        )
    names = list(partner_names()) if args.all else args.partner
    if not names:
        raise gov_errors.PolicySignatureError(
            "name the policies to sign (--partner P, repeatable) or pass --all", "POL030"
        )
    for name in names:
        path = policy_path(name, args.policy_dir)
        if args.all and not any(
            key_id in s.approvers for s in signatories(path.read_text(encoding="utf-8"))
        ):
            print(f"skipped {path}: the agreement does not name {key_id} as an approver")
            continue
        load_policy(name, args.policy_dir, verify=False)  # never sign a policy that fails checks
        out = sign_policy(path, private, approver)
        print(f"signed {path} as {approver} ({key_id}) -> {out}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:

    from flows.query import run_query

    zones = Zones.from_env(args.data_dir)
    if not zones.cohort.exists():
        raise NothingThere(
            f"no cohort table at {zones.cohort}. Fix: run `mcn run` (or `make "
            "demo`) first, or pass --data-dir"
        )
    if args.out and args.out.exists() and not args.force:
        raise OutputExistsError(f"{args.out} exists. Fix: choose a new file name, or --force")
    if args.format == "parquet" and not args.out:
        raise UsageError("--format parquet writes a file. Fix: add -o FILE.parquet")
    result = run_query(zones, args.sql, args.key)
    write_result(result, args.format, args.out, args.max_rows)
    return 0


def write_result(result, fmt: str, out: Path | None, max_rows: int) -> None:
    """The (already disclosure-controlled) result as a table, CSV, JSON or Parquet; to a file
    when `out` is given. Every format is written from the same frame."""
    import shutil

    import polars as pl

    if fmt == "parquet":
        assert out is not None
        result.write_parquet(out)
    elif fmt in ("csv", "json"):
        text = result.write_csv() if fmt == "csv" else result.write_json()
        text = text if text.endswith("\n") else text + "\n"
        if out:
            out.write_text(text)
        else:
            sys.stdout.write(text)
    else:
        width = shutil.get_terminal_size((120, 24)).columns
        with pl.Config(
            tbl_rows=-1 if out else max_rows,  # a file gets every row
            tbl_cols=-1,
            tbl_hide_dataframe_shape=True,
            tbl_width_chars=width,
            tbl_formatting="ASCII_MARKDOWN",
            tbl_hide_column_data_types=True,
            fmt_str_lengths=max(20, width // max(1, result.width)),
        ):
            text = str(result)
        if out:
            out.write_text(text + "\n")
        else:
            print(text)
    if out:
        print(f"wrote {result.height} row(s) to {out}", file=sys.stderr)


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
    from flows.linkage_evaluate import evaluate, files_read, load_config, write_json

    if args.json and (args.json.is_dir() or not args.json.parent.is_dir()):  # before the work
        raise NothingThere(
            f"--json {args.json} cannot be written (a folder, or in a folder that does not "
            "exist). Fix: give --json a file path in an existing folder"
        )
    result = evaluate(load_config(args.config), str(args.config))
    for line in files_read(result):
        print(line)
    print(report.linkage_quality(result, "against the config's truth column"))
    print("seconds: " + ", ".join(f"{k} {v}" for k, v in result["seconds"].items()))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Two nights a month apart (the same synthetic people, their history running to the demo
    date), every needs framework, then the analyst's query and the board report."""
    from flows import demo
    from flows.cli_cohort import cmd_report
    from flows.cli_governance import cmd_audit_verify
    from flows.gx_project import latest_data_docs
    from governance.audit import service_log

    demo.dev_keys()
    demo.dev_officer()
    zones = Zones.from_env(args.data_dir)
    demo.fresh_data_dir(zones)
    night = args.run_date
    args.framework = args.framework or [DEFAULT_FRAMEWORK] + [
        n for n in shipped() if n != DEFAULT_FRAMEWORK
    ]
    args.out, args.events_until = zones.root, night
    for args.as_of in (night - dt.timedelta(days=31), night):
        args.run_date, args.force = args.as_of, True
        _say(f"== demo night {args.as_of} ==")
        cmd_synth(args)
        demo.sign_dev_optout(zones)
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
    args.format, args.out, args.force = "table", None, False
    cmd_query(args)
    from flows.cli_evidence import cmd_business_case

    demo.intervention_list(zones, args.run_date, args.seed)
    print("\nBusiness case from the intervention list (ILLUSTRATIVE unit costs, controlled):")
    args.format, args.unit_costs, args.parameters = "xlsx", None, None
    args.year, args.price_year = None, None
    cmd_business_case(args)
    args.out, args.on = None, night
    cmd_report(args)
    service_log(zones.audit).seal_run()  # the operator seals the demo's queries into the log
    data = "" if zones.root == Path("data") else f" --data-dir {zones.root}"
    print(f'\nTry: . {env} && uv run mcn query "{DEMO_QUERY}"{data}')
    print(f"     . {env} && uv run mcn costs{data}  (also: mcn impact, mcn business-case)")
    print(
        f"     . {env} && uv run mcn cohort diff --from {args.as_of - dt.timedelta(days=31)} "
        f"--to {args.as_of}{data}"
    )
    args.public_key, args.witness = None, None  # verified with the audit public key only
    return cmd_audit_verify(args)


def add_framework_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--framework",
        action="append",
        choices=shipped(),
        help=f"needs framework to build (repeatable; the first is published as `cohort`, "
        f"the others as cohort_<name>; default {DEFAULT_FRAMEWORK}; transforms/frameworks/)",
    )
    p.add_argument(
        "--lookback-days",
        type=_positive,
        help="need events count within this many days before the run date (default: each "
        "framework's own, per need)",
    )
    p.add_argument(
        "--threshold",
        type=_positive,
        help="need_count at which a person is flagged MCN (default: the framework's)",
    )


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
        choices=partner_names(),
        help="ingest only this partner (repeatable; default all)",
    )
    add_framework_options(p)
    p.add_argument(
        "--max-stale-days",
        type=int,
        default=DEFAULT_MAX_STALE_DAYS,
        help="a partner that fails tonight is used from its last good data, marked stale, "
        "if that is at most this many days old; else the night fails "
        f"(default {DEFAULT_MAX_STALE_DAYS})",
    )


def _add_scale_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--parallel",
        type=_positive,
        metavar="N",
        help="partners ingested at once by the local runner (default: one per core, "
        f"{DEFAULT_PARALLEL_PARTNERS} here); more use more memory, not less time",
    )
    p.add_argument(
        "--runner",
        choices=("local", "dask"),
        default="local",
        help="where partner ingests and the cohort build run: local (threads in this process, "
        "the default) or dask (tasks on a Dask cluster; docs/operations.md)",
    )
    p.add_argument(
        "--dask-address",
        help="scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (default "
        "$MCN_DASK_ADDRESS; none: --runner dask starts a local cluster for the run)",
    )
    p.add_argument(
        "--storage",
        help="read partner drops from <URL>/landing and publish the output set to "
        "<URL>/published: s3://bucket/prefix or a folder (default $MCN_STORAGE_URL; none: the "
        "data directory alone)",
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mcn", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data directory (default $MCN_DATA_DIR or ./data)")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write synthetic partner extracts and a ground truth")
    p.add_argument("--people", type=_positive, default=20_000, help="population size")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same files)")
    p.add_argument("--out", type=Path, default=Path("data"), help="data directory to write")
    p.add_argument("--as-of", type=_date, default=dt.date.today(), help="extract date")
    p.add_argument("--force", action="store_true", help="replace extracts already in <out>/landing")
    p.add_argument(
        "--events-until",
        type=_date,
        help="the day the synthetic people's history runs to (default --as-of); extracts of "
        "one seed and --events-until with --as-of a month apart show the same people a month "
        "apart (entries and exits for `mcn cohort diff`)",
    )
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
    _add_scale_options(p)
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
    p.add_argument(
        "--approver",
        help="approver's name as it should be recorded (default: the name in the trusted "
        "approver file of the key)",
    )
    p.add_argument(
        "--partner",
        action="append",
        choices=agreement_names(),
        help="policy to sign (repeatable; a partner's, or a partnership list's)",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="sign every partner's policy whose agreement names this key as an approver",
    )
    p.add_argument("--policy-dir", type=Path, help="folder of <partner>.yaml")
    p.set_defaults(func=cmd_policy_sign)

    p = psub.add_parser("keygen", help="make an approver key pair (private .key, public .json)")
    p.add_argument("--name", required=True, help="approver's name")
    p.add_argument("--out", type=Path, default=Path(".mcn/approver"), help="folder to write")
    p.set_defaults(func=cmd_policy_keygen)

    from flows.cli_governance import register

    register(sub, psub, common, _date)
    from flows.cli_ig import register as register_ig

    register_ig(sub, psub, common, _date)
    from flows.cli_cohort import register as register_cohort

    register_cohort(sub, common, _date, add_framework_options)

    p = sub.add_parser(
        "query",
        parents=[common],
        help="run SQL over the registered tables (polars SQL; table `cohort`), under your "
        "analyst grant; every query is audited",
    )
    p.add_argument("sql", help='e.g. "select need_count, count(*) from cohort group by 1"')
    p.add_argument("--max-rows", type=int, default=50, help="rows to print at most (table)")
    p.add_argument(
        "--format",
        choices=("table", "csv", "json", "parquet"),
        default="table",
        help="output format (the same disclosure control for every one; default table)",
    )
    p.add_argument("-o", "--out", type=Path, help="write to this file instead of the terminal")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    add_user_key(p)
    p.set_defaults(func=cmd_query)
    from flows.cli_evidence import register as register_evidence

    register_evidence(sub, common, _positive)

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
    p.add_argument("--people", type=_positive, default=20_000, help="population size")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    _add_run_options(p, DEMO_DATE)
    p.set_defaults(func=cmd_demo)
    return top


def log_file(args: argparse.Namespace) -> Path:
    """Where tracebacks go: <data>/logs/mcn.log when the data directory exists, else a file
    of this user's in the temporary folder. Never the terminal."""
    import tempfile

    root = Zones.from_env(getattr(args, "data_dir", None)).root
    if root.is_dir():
        return root / "logs" / "mcn.log"
    return Path(tempfile.gettempdir()) / f"mcn-{os.getuid()}.log"


def _internal_error(args: argparse.Namespace, exc: BaseException) -> int:
    import logging

    from flows.io import open_append

    path = log_file(args)
    stream = open_append(path)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger("mcn.internal")
    log.addHandler(handler)
    log.error("internal error in `mcn %s`", args.command, exc_info=exc)
    log.removeHandler(handler)
    stream.close()
    _say(
        f"error: internal error ({type(exc).__name__}): nothing was published from the failed "
        f"step. The traceback is in {path}; please report it (set MCN_DEBUG=1 to see it here)"
    )
    return ExitCode.INTERNAL


def exit_now(code: int) -> NoReturn:
    """End the `mcn` process with `code` once its work is done, without Python's teardown.

    The steps of Python's own exit are taken, in its order: threading's exit hooks (Prefect
    hands its last logs and events to its server there) and the wait for threads that are not
    daemons, then the exit handlers (logs closed, Prefect's server stopped, temporary folders
    removed), then stdout and stderr flushed. What is left out is freeing, one by one, the
    objects great-expectations and Prefect import: 1.5-1.8 s of every `mcn run`, whatever its
    size (docs/benchmarks.md); nothing is written then."""
    threading._shutdown()  # type: ignore[attr-defined]  # what Python's exit calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can go there
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """The `mcn` command (argv None: the process's own arguments, and the process ends here,
    exit_now) or, given argv, one command run in this process, returning its exit code."""
    code = _main(argv)
    if argv is None:
        exit_now(code)
    return code


def _main(argv: list[str] | None) -> int:
    restrict_umask()  # everything the pipeline writes: files 0640 at most, folders 0750
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:  # our own errors: what, where, how to fix; no values
        _say(f"error: {exc}")
        return int(exc.exit_code)
    except Exception as exc:
        if os.environ.get("MCN_DEBUG"):
            raise
        return _internal_error(args, exc)


if __name__ == "__main__":
    sys.exit(main())
