"""What every run needs around its work: a data directory that exists, one run at a time per data
directory, progress a person can watch, and the night's Prefect artifacts (counts only)."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.config import Zones
from flows.errors import BusyError, DataDirError
from flows.io import open_append
from flows.report import notice_lines, quarantine_lines

LOCK_FILE = ".mcn-run.lock"
DEFAULT_MAX_STALE_DAYS = 7  # a partner's newest good data older than this fails the night
# Prefect timeouts (seconds) on the flows (a partner's ingest, the build, the night): generous for
# a county at a million people on two cores. Not on tasks: Prefect cannot stop a task that runs
# in a worker thread (it warns and carries on), so a task timeout would promise nothing.
PARTNER_TIMEOUT = 4 * 3600
BUILD_TIMEOUT = 4 * 3600
NIGHT_TIMEOUT = 8 * 3600
# Partners ingested at once on the local runner: one per core. More only add memory: each
# partner's frames are in memory while it is ingested, and with two cores the night was no
# faster with all six at once (1M people: 7.4 GB peak) than with two (5.5 GB; docs/benchmarks.md).
DEFAULT_PARALLEL_PARTNERS = os.cpu_count() or 2


def require_data_dir(zones: Zones) -> None:
    """A run reads landing/ of an existing data directory; nothing is created in a wrong one."""
    if not zones.root.is_dir():
        raise DataDirError(
            f"data directory {zones.root} does not exist; nothing was created. Fix: check "
            "--data-dir (or $MCN_DATA_DIR), or make synthetic data there with `mcn synth --out`"
        )
    if not zones.landing.is_dir():
        raise DataDirError(
            f"{zones.root} has no landing/ folder, so it is not an mcn data directory. Fix: "
            "check --data-dir (or $MCN_DATA_DIR); partners drop files in landing/<partner>/"
        )
    refuse_symbolic_links(zones)
    if zones.current.exists() and not zones.current.is_symlink():
        raise DataDirError(
            f"{zones.current} is a folder, not the pointer to the published set (copied without "
            "keeping links?). Fix: remove it; the next run points it at the set it publishes"
        )


def refuse_symbolic_links(zones: Zones) -> None:
    """The pipeline follows no link an insider planted: none may stand anywhere in the data
    directory but `published/current`, which it makes itself."""
    planted = [
        Path(top, name)
        for top, dirs, files in os.walk(zones.root, followlinks=False)
        for name in dirs + files
        if Path(top, name).is_symlink() and Path(top, name) != zones.current
    ]
    if planted:
        shown = ", ".join(str(p.relative_to(zones.root)) for p in planted[:5])
        raise DataDirError(
            f"{len(planted)} symbolic link(s) in {zones.root} ({shown}): the pipeline does not "
            "follow links inside its data directory. Fix: treat as a security incident; "
            "replace each with the real file or folder, or remove it"
        )


@contextmanager
def run_lock(zones: Zones) -> Iterator[None]:
    """Hold the data directory for one run; a second run is refused at once. The lock is the
    kernel's (flock), so a run killed hard releases it by itself."""
    path = zones.root / LOCK_FILE
    with open_append(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(
                f"another run is using {zones.root} right now. Fix: wait for it to finish "
                "(a run that was killed releases the directory by itself)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- progress -----------------------------------------------------------------------------------

_sink: Callable[[str], None] | None = None
_sink_lock = threading.Lock()


def show_progress_on_terminal() -> None:
    """Print progress lines to stderr when it is a terminal (the CLI); quiet otherwise."""
    global _sink
    if not sys.stderr.isatty() and not os.environ.get("MCN_PROGRESS"):
        return
    start = time.monotonic()

    def write(message: str) -> None:
        with _sink_lock:
            sys.stderr.write(f"[{time.monotonic() - start:6.1f}s] {message}\n")
            sys.stderr.flush()

    _sink = write


def progress(message: str) -> None:
    """One step done (partner, extract, stage, counts): shown by `mcn run` on a terminal."""
    if _sink is not None:
        _sink(message)


# --- the night's artifacts ------------------------------------------------------------------------


def ingest_rows(ingested: dict[str, list[dict]], failed: dict[str, str]) -> list[dict]:
    """One row per extract (and per failed partner), counts only."""
    rows = []
    for partner, extracts in sorted(ingested.items()):
        for c in extracts:
            rows.append(
                {
                    "partner/extract": f"{partner}/{c['extract']}",
                    "status": "already staged" if c["already_staged"] else "staged",
                    "rows in": c["rows_in"],
                    "staged": c["rows_staged"],
                    "quarantined": c["rows_quarantined"],
                    "by reason": ", ".join(f"{k} {v}" for k, v in sorted(c["reasons"].items())),
                    "opted out": c["rows_opted_out"],
                    "notices": ", ".join(
                        f"{k} {v}" for k, v in sorted((c.get("notices") or {}).items())
                    ),
                    "seconds": c.get("seconds", ""),
                }
            )
    for partner in sorted(failed):
        rows.append({"partner/extract": partner, "status": "FAILED: stale tonight", "rows in": 0})
    return rows


def night_markdown(result: dict) -> str:
    cohort = result["cohort"]
    stale = cohort.get("stale_partners") or {}
    lines = [
        f"# Night {result['run_id']} for {cohort['run_date']}",
        "",
        f"- persons: {cohort['persons']:,}; with {cohort['mcn_threshold']}+ needs: "
        f"{cohort['mcn_persons']:,} (needs {cohort['needs_version']}, lookback "
        f"{cohort['lookback_days']} days)",
        f"- records linked: {cohort['records_linked']:,}; pairs by rule: "
        + ", ".join(f"{k} {v:,}" for k, v in cohort["linkage"]["pairs_by_rule"].items()),
        f"- published set: `{cohort.get('published_set', '')}`",
    ]
    if result.get("failed"):
        lines.append("- **failed partners**: " + ", ".join(sorted(result["failed"])))
    for partner, info in sorted(stale.items()):
        lines.append(
            f"- **stale**: {partner} data last ingested for {info['last_good']} "
            f"({info['days']} days before this run)"
        )
    if cohort.get("partners_excluded"):
        lines.append("- excluded (agreement not usable): " + ", ".join(cohort["partners_excluded"]))
    for warning in result.get("agreements") or []:
        lines.append(f"- **agreement**: {warning} (see `mcn ig register`)")
    ingested = result.get("ingest") or {}
    lines += [f"- **{line}**" for line in quarantine_lines(ingested)]
    lines += [f"- {line.strip()}" for line in notice_lines(ingested)]
    lines += ["", "| needs | persons |", "|---|---|"]
    lines += [f"| {k} | {v:,} |" for k, v in cohort["persons_by_need_count"].items()]
    return "\n".join(lines)


def stale_days(last_good: dt.date, run_date: dt.date) -> int:
    return (run_date - last_good).days
