"""Prefect flows: build_cohort, and nightly (every partner concurrently, then the cohort)."""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import uuid
from collections.abc import Callable

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from flows import publish, runs, storage
from flows.cohort_build import build
from flows.config import Zones, restrict_umask
from flows.ingest import build_run_data_docs, ingest_partner
from governance.audit import service_log
from governance.policy import check_all
from governance.pseudonymise import distinct_memo
from schemas.errors import UserError
from schemas.registry import list_names, partner_names
from transforms.framework import load_all
from transforms.settings import check_settings


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


@flow(
    name="build_cohort",
    flow_run_name="build-cohort-{run_id}",
    persist_result=False,
    timeout_seconds=runs.BUILD_TIMEOUT,
)
def build_cohort(
    data_dir: str | None = None,
    run_date: dt.date | None = None,
    run_id: str | None = None,
    lookback_days: int | None = None,
    mcn_threshold: int | None = None,
    failed_partners: list[str] | None = None,
    max_stale_days: int = runs.DEFAULT_MAX_STALE_DAYS,
    frameworks: list[str] | None = None,
) -> dict:
    """Link staged records, derive needs, publish the output set atomically. Partners that
    failed tonight are used from their last good staged data, marked stale. `frameworks`:
    the needs frameworks to build (transforms/frameworks; default mcn-default), the first
    published as `cohort`; lookback_days and mcn_threshold override theirs when given."""
    restrict_umask()
    zones = Zones.from_env(data_dir)
    audit = service_log(zones.audit)
    runs.progress("cohort: linking, deriving needs, publishing")
    try:
        summary = build(
            zones,
            run_date or dt.date.today(),
            run_id or new_run_id(),
            lookback_days,
            mcn_threshold,
            audit,
            failed_partners,
            max_stale_days,
            frameworks,
        )
    finally:
        audit.seal_run()
    runs.progress(f"cohort: {summary['persons']:,} persons published")
    get_run_logger().info(
        "cohort: %d persons, %d with %d+ needs (%s)",
        summary["persons"],
        summary["mcn_persons"],
        summary["mcn_threshold"],
        summary["needs_version"],
    )
    return summary


@task(
    task_run_name="ingest-{partner}",
    persist_result=False,
    cache_policy=None,
)  # no timeout here: Prefect cannot enforce one on a task in a worker thread; the subflow has it
def ingest_partner_task(
    partner: str, data_dir: str, run_date: dt.date, run_id: str, store: str | None = None
) -> list:
    return _ingest(partner, data_dir, run_date, run_id, store)


# A task's body calls a module function: a Dask worker unpickles it by reference (imports this
# module), where the task's own function would be copied by value without the names its
# subflow's annotations need (`dt`), and Prefect could not validate the subflow's parameters.
def _ingest(partner: str, data_dir: str, run_date: dt.date, run_id: str, store: str | None):
    if store:  # the drop is read from storage by the task, where it runs (a Dask worker)
        storage.fetch_landing(store, partner, Zones.from_env(data_dir))
    return ingest_partner(partner, data_dir, run_date, run_id, data_docs=False)


@task(task_run_name="build-cohort", persist_result=False, cache_policy=None)
def build_cohort_task(
    data_dir: str,
    run_date: dt.date,
    run_id: str,
    lookback_days: int,
    mcn_threshold: int,
    failed_partners: list[str],
    max_stale_days: int,
    frameworks: list[str] | None = None,
) -> dict:
    """The cohort build as a task, so a Dask task runner runs it on a worker."""
    return _build(
        data_dir,
        run_date,
        run_id,
        lookback_days,
        mcn_threshold,
        failed_partners,
        max_stale_days,
        frameworks,
    )


def _build(*args) -> dict:  # by reference on a Dask worker, as _ingest
    return build_cohort(*args)


def _on_cluster() -> bool:
    """Whether this flow run's tasks go to a Dask cluster (flows.dask_runner)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx is not None and type(ctx.task_runner).__module__.startswith("prefect_dask")


def describe_failure(exc: BaseException) -> str:
    """Our own errors say what, where and how to fix, without values; anything else is named by
    its type only, since its message could quote data."""
    if isinstance(exc, UserError):
        return str(exc)
    return f"{type(exc).__name__} (an internal error; details in the Prefect logs)"


class NightFailed(UserError):
    """Some partners failed; the others were ingested and the cohort built without them. Carries
    the night's result (counts only) so the summary can still be shown."""

    def __init__(self, result: dict, failed: dict[str, BaseException]) -> None:
        self.result = result
        self.exit_code = getattr(next(iter(failed.values())), "exit_code", 1)
        names = ", ".join(sorted(failed))
        super().__init__(f"{len(failed)} partner(s) failed tonight: {names}")


def partner_runner(parallel: int = runs.DEFAULT_PARALLEL_PARTNERS) -> ThreadPoolTaskRunner:
    """The local runner: `parallel` partners ingested at once, in threads of this process."""
    return ThreadPoolTaskRunner(max_workers=parallel)


@flow(
    name="nightly",
    persist_result=False,
    timeout_seconds=runs.NIGHT_TIMEOUT,
    task_runner=partner_runner(),
)
def nightly(
    data_dir: str | None = None,
    run_date: dt.date | None = None,
    partners: list[str] | None = None,
    lookback_days: int | None = None,
    mcn_threshold: int | None = None,
    max_stale_days: int = runs.DEFAULT_MAX_STALE_DAYS,
    storage_url: str | None = None,
    frameworks: list[str] | None = None,
) -> dict:
    """Ingest every partner at once, then build the cohort. A partner that fails (bad policy,
    bad file, missing opt-out list) stops only itself: the others go on, the build uses the
    failed partner's last good staged data marked stale (failing the night if older than
    max_stale_days) and only partners whose agreement is signed and in force, and the run ends
    failed, naming them. One run at a time per data directory; a run killed earlier is
    cleaned up first. storage_url: drops read from and outputs published to a storage location
    (flows.storage; default $MCN_STORAGE_URL, else the data directory alone)."""
    restrict_umask()
    zones = Zones.from_env(data_dir)
    runs.require_data_dir(zones)
    with runs.run_lock(zones):
        return _night(
            zones,
            run_date or dt.date.today(),
            partners,
            lookback_days,
            mcn_threshold,
            max_stale_days,
            storage.location(storage_url),
            frameworks,
        )


def largest_first(zones: Zones, names: list[str]) -> list[str]:
    """The partners, largest drop first, so the longest ingest starts first and no core idles
    at the end: at a million people the health partner sends 40% of the rows, and started last it
    was the night's critical path (docs/benchmarks.md). Size is the rows its manifest declares
    (bytes mislead: a CSV is three times its Parquet); a drop without a readable manifest (not
    there, still in object storage, broken: its own ingest reports that) counts 0. Only the
    order changes; ties keep theirs."""
    from flows.io import read_manifest

    def rows(name: str) -> int:
        try:
            return sum(entry["rows"] for entry in read_manifest(zones.landing / name).values())
        except UserError:
            return 0

    return sorted(names, key=rows, reverse=True)


def in_background(fn: Callable[..., object], *args: object) -> threading.Thread:
    """fn(*args) started in a thread of its own, in the caller's context (so a Prefect flow
    run's logger still works there); join the thread for it to be done."""
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(fn, *args), name=fn.__name__, daemon=True
    )
    thread.start()
    return thread


def _night(
    zones: Zones,
    run_date: dt.date,
    partners: list[str] | None,
    lookback_days: int | None,
    mcn_threshold: int | None,
    max_stale_days: int,
    store: str | None = None,
    frameworks: list[str] | None = None,
) -> dict:
    data_dir, run_id = str(zones.root), new_run_id()
    recovered = publish.recover(zones)
    if any(recovered.values()):
        service_log(zones.audit).append("recovered", run_id=run_id, **recovered)
        get_run_logger().warning("cleaned up after an interrupted run: %s", recovered)
    names = list(partners or partner_names())
    # Need rules and linkage settings against every usable policy, before any partner is read;
    # a partner whose policy fails is refused (and audited) by its own ingest below.
    check_settings(check_all(names=names)[0])
    load_all(frameworks)  # an unknown framework stops the night before any partner is read
    # Partnership lists (the intervention list) dropped in landing/ are ingested the same way,
    # under their own agreements; they are never linked into the cohort.
    names += [n for n in list_names() if partners is None and (zones.landing / n).is_dir()]
    ingested, failed = {}, {}
    # Each distinct name, date of birth and postcode made into tokens once a night, not once
    # per extract (tasks get a copy of this context; dropped when the ingest ends).
    with distinct_memo():
        futures = {
            p: ingest_partner_task.submit(p, data_dir, run_date, run_id, store)
            for p in largest_first(zones, names)
        }
        for partner in names:  # results, logs and the run record in the usual order
            future = futures[partner]
            try:
                ingested[partner] = future.result()
            except Exception as exc:  # noqa: BLE001 - report every partner, then stop
                failed[partner] = exc
    if failed:
        get_run_logger().error("ingest failed for %s", ", ".join(sorted(failed)))
    docs = in_background(build_run_data_docs, zones, run_id)  # rendered while the cohort builds
    try:
        if not ingested:
            raise next(iter(failed.values()))
        args = (data_dir, run_date, run_id, lookback_days, mcn_threshold, sorted(failed))
        if _on_cluster():
            cohort = build_cohort_task.submit(*args, max_stale_days, frameworks).result()
        else:
            cohort = build_cohort(*args, max_stale_days, frameworks)
    finally:
        docs.join()
    if store:
        cohort["storage"] = _publish_to(store, zones, run_id)
    result = {
        "run_id": run_id,
        "ingest": ingested,
        "cohort": cohort,
        "failed": {p: describe_failure(e) for p, e in sorted(failed.items())},
        "agreements": agreement_warnings(run_date),
    }
    _artifacts(zones, result)
    if failed:
        raise NightFailed(result, failed)
    return result


def _publish_to(store: str, zones: Zones, run_id: str) -> dict:
    """The published set copied to storage, audited by object and hash."""
    outputs = storage.publish_set(store, zones, run_id)
    service_log(zones.audit).append(
        "published_storage", run_id=run_id, flow="nightly", location=store, outputs=outputs
    )
    return {"location": store, "outputs": outputs}


def agreement_warnings(run_date: dt.date) -> list[str]:
    """The agreement register's warnings on the run date (`mcn ig register`): expiring, review
    due, expired, unsigned; names, dates and rule codes only."""
    from flows.ig import register_entries
    from governance.register import DEFAULT_WINDOW_DAYS, warnings

    try:
        entries, problems = register_entries(None, run_date, DEFAULT_WINDOW_DAYS)
    except Exception as exc:  # noqa: BLE001 - the night's outputs stand; say the register failed
        return [f"the agreement register could not be read ({type(exc).__name__})"]
    return warnings(entries) + [f"{p.file}: [{p.code}] policy fails its checks" for p in problems]


def _artifacts(zones: Zones, result: dict) -> None:
    """The night in the Prefect UI: per extract counts, and the linkage and cohort summary (the
    summary also beside the run's record, runs/<run_id>/night.md)."""
    summary = runs.night_markdown(result)
    path = zones.runs / result["run_id"] / "night.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(summary + "\n")
    result["night_summary_path"] = str(path)
    create_table_artifact(
        runs.ingest_rows(result["ingest"], result["failed"]),
        key="mcn-night-ingest",
        description="Rows in, staged, quarantined by reason, opted out, per extract (counts only)",
    )
    create_markdown_artifact(
        summary,
        key="mcn-night-summary",
        description="Cohort and linkage summary, failed and stale partners (counts only)",
    )
