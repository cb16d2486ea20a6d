"""The cohort history: every night's cohort, per needs framework, in one Delta Lake table.

    <data>/history/cohort/    Parquet files and a _delta_log (deltalake); DuckDB, Spark, pandas
                              and polars (`pl.read_delta`) read it

One row per person in a framework's cohort (mcn_flag true) per snapshot: `snapshot_date` (the
run date), `run_id`, `framework`, `framework_version`, the cohort contract's columns, and
`record_keys` (the keyed record keys linked into the person). A build replaces its own snapshot
date and frameworks in one commit (`overwrite` with a predicate), so building a night again does
not add it twice.

A person_id is stable only while the person's linked records are unchanged (a new record can
change it), so two snapshots are matched on shared record keys, not on person_id: a person of
the later snapshot holding any record of a person of the earlier one stayed (measured on the
synthetic two-night demo: matching on person_id alone showed 20 entries and 20 exits where the
ground truth had 5 and 3; on record keys it agrees with the truth).

Opt-outs and objections reach history (docs/decisions.md). At every build, before tonight's
rows are added, the rows of every person removed tonight by the national data opt-out or an
Article 21 objection (any row holding one of their record keys, or their person_id) are
deleted from every snapshot, rows older than the shortest staged
retention of the agreements in use are deleted, and the table is vacuumed with retention 0
(files no longer in the latest version are removed at once) and its log cut back to a fresh
checkpoint. So Delta's time travel cannot bring an opted-out person back: a diff between two
nights (`mcn cohort diff`) reads the snapshot_date column of the current version, never an old
version. Column statistics are kept for snapshot_date and framework only, so the transaction
log itself never holds a person_id.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flows.errors import NothingThere, UsageError
from governance.disclosure import Controlled, DisclosureRules, control
from schemas.cohort import COLUMN_NAMES, NEEDS
from transforms.framework import DEFAULT_FRAMEWORK, Framework

KEYS = ("snapshot_date", "run_id", "framework", "framework_version")
CONFIG = {
    # statistics (min/max in the log) of these columns only: never of a person_id
    "delta.dataSkippingStatsColumns": "snapshot_date,framework",
    # the log keeps no history beyond the last checkpoint (cleanup_metadata after each build)
    "delta.logRetentionDuration": "interval 0 days",
    "delta.deletedFileRetentionDuration": "interval 0 days",
}
_VERSION = re.compile(r"^[a-z0-9-]+@[0-9a-f]{12}$")


def _table(path: Path):
    from deltalake import DeltaTable

    return DeltaTable(str(path)) if (path / "_delta_log").is_dir() else None


def history_rows(
    run_id: str, run_date: dt.date, fw: Framework, cohort: pl.DataFrame, links: pl.DataFrame
) -> pl.DataFrame:
    members = links.group_by("person_id").agg(pl.col("record_key").sort().alias("record_keys"))
    return (
        cohort.filter(pl.col("mcn_flag"))
        .join(members, on="person_id", how="left")
        .select(
            pl.lit(run_date).alias("snapshot_date"),
            pl.lit(run_id).alias("run_id"),
            pl.lit(fw.name).alias("framework"),
            pl.lit(fw.version).alias("framework_version"),
            *COLUMN_NAMES,
            "record_keys",
        )
    )


def record(
    path: Path,
    run_id: str,
    run_date: dt.date,
    cohorts: dict[Framework, pl.DataFrame],
    links: pl.DataFrame,
    removed: pl.DataFrame,
    limit_days: int | None,
) -> dict:
    """Delete the persons removed tonight (`removed`: their person_id and record_key) and rows
    past retention, add tonight's snapshot (`links`: record_key -> person_id), vacuum. Counts
    only."""
    out = {"rows_added": 0, "rows_deleted_opted_out": 0, "rows_deleted_retention": 0}
    table = _table(path)
    if table is not None and removed.height:
        held = (
            pl.read_delta(str(path), columns=["person_id", "record_keys"])
            .explode("record_keys")
            .join(removed, left_on="record_keys", right_on="record_key", how="semi")
        )
        persons = pl.concat([held["person_id"], removed["person_id"]]).unique()
        source = pl.DataFrame({"person_id": persons}).to_arrow()
        metrics = (
            table.merge(source, "t.person_id = s.person_id", source_alias="s", target_alias="t")
            .when_matched_delete()
            .execute()
        )
        out["rows_deleted_opted_out"] = int(metrics.get("num_target_rows_deleted", 0))
    if table is not None and limit_days is not None:
        oldest = run_date - dt.timedelta(days=limit_days)
        metrics = table.delete(f"snapshot_date < '{oldest.isoformat()}'")
        out["rows_deleted_retention"] = int(metrics.get("num_deleted_rows", 0))
    rows = pl.concat([history_rows(run_id, run_date, fw, df, links) for fw, df in cohorts.items()])
    names = ", ".join(f"'{fw.name}'" for fw in cohorts)  # checked names: [a-z0-9-]
    rows.write_delta(
        str(path),
        mode="overwrite" if table is not None else "error",
        delta_write_options=(
            {
                "predicate": f"snapshot_date = '{run_date.isoformat()}' AND framework IN ({names})",
                "schema_mode": "merge",  # a column added to the cohort contract is added here
            }
            if table is not None
            else {"configuration": CONFIG}
        ),
    )
    out["rows_added"] = rows.height
    table = _table(path)
    assert table is not None
    out["files_vacuumed"] = len(
        table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    )
    table.create_checkpoint()
    table.cleanup_metadata()
    out["version"] = table.version()
    return out


def read(path: Path) -> pl.DataFrame:
    if _table(path) is None:
        raise NothingThere(
            f"no cohort history at {path}. Fix: run `mcn run` or `mcn cohort build` first "
            "(each build adds a snapshot)"
        )
    return pl.read_delta(str(path))


@dataclass(frozen=True)
class Snapshot:
    label: str  # framework version and date: what the diff compares
    rows: pl.DataFrame


def snapshot(history: pl.DataFrame, ref: str, framework: str | None) -> Snapshot:
    """A snapshot by date (of `framework`, default mcn-default) or by framework version (its
    latest snapshot date)."""
    try:
        day = dt.date.fromisoformat(ref)
    except ValueError:
        day = None
    if day is not None:
        name = framework or DEFAULT_FRAMEWORK
        rows = history.filter(pl.col("snapshot_date") == day, pl.col("framework") == name)
        if not rows.height:
            dates = history.filter(pl.col("framework") == name)["snapshot_date"].unique().sort()
            raise NothingThere(
                f"no {name} snapshot for {day} in the cohort history. Snapshots: "
                f"{', '.join(str(d) for d in dates) or 'none'}"
            )
        return Snapshot(f"{rows['framework_version'][0]} on {day}", rows)
    if not _VERSION.match(ref):
        raise UsageError(
            f"'{ref}' is neither a date (2026-11-01) nor a framework version "
            "(mcn-default@0123456789ab; see `mcn cohort frameworks`)"
        )
    rows = history.filter(pl.col("framework_version") == ref)
    if not rows.height:
        versions = history["framework_version"].unique().sort()
        raise NothingThere(
            f"no snapshot of {ref} in the cohort history. Versions: {', '.join(versions)}"
        )
    last = rows["snapshot_date"].max()
    return Snapshot(f"{ref} on {last}", rows.filter(pl.col("snapshot_date") == last))


@dataclass
class Diff:
    movement: pl.DataFrame  # change, persons (exact)
    needs: pl.DataFrame  # need, change (gained/lost), persons (exact), among those who stayed
    rows: pl.DataFrame  # person_id, change: row level, for the accredited role only


def matched(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """(person_id, person_id_to) of persons of the two snapshots holding a common record."""
    keys = ["person_id", "record_keys"]
    a = before.select(keys).explode("record_keys")
    b = after.select(keys).explode("record_keys")
    return (
        a.join(b, on="record_keys", suffix="_to")
        .select("person_id", "person_id_to")
        .unique()
        .sort("person_id", "person_id_to")
    )


def diff(before: Snapshot, after: Snapshot) -> Diff:
    """Entries, exits and need changes between two snapshots (persons matched on records)."""
    flags = [f"need_{n}" for n in NEEDS]
    pairs = matched(before.rows, after.rows)
    # a person split or merged between the nights: one pair each way (the first)
    pairs = pairs.unique("person_id", keep="first").unique("person_id_to", keep="first")
    a = before.rows.select("person_id", *flags)
    b = after.rows.select("person_id", *flags)
    entered = b.join(pairs, left_on="person_id", right_on="person_id_to", how="anti")
    left = a.join(pairs, on="person_id", how="anti")
    both = pairs.join(a, on="person_id").join(
        b.rename({f: f"{f}_to" for f in flags}).rename({"person_id": "person_id_to"}),
        on="person_id_to",
    )
    changes = []
    for n in NEEDS:
        was, now = pl.col(f"need_{n}"), pl.col(f"need_{n}_to")
        for change, when in (("gained", now & ~was), ("lost", was & ~now)):
            changes.append(
                both.filter(when).select(
                    pl.col("person_id_to").alias("person_id"),
                    pl.lit(n).alias("need"),
                    pl.lit(change).alias("change"),
                )
            )
    changed = pl.concat(changes)
    movement = pl.DataFrame(
        {
            "change": ["entered", "left", "stayed"],
            "persons": [
                entered["person_id"].n_unique(),
                left["person_id"].n_unique(),
                both.height,
            ],
        }
    )
    grid = pl.DataFrame({"need": list(NEEDS)}).join(
        pl.DataFrame({"change": ["gained", "lost"]}), how="cross"
    )
    needs = grid.join(
        changed.group_by("need", "change").len("persons"), on=["need", "change"], how="left"
    ).select("need", "change", pl.col("persons").fill_null(0).cast(pl.Int64))
    rows = pl.concat(
        [
            entered.select("person_id", pl.lit("entered").alias("change")),
            left.select("person_id", pl.lit("left").alias("change")),
            changed.select("person_id", (pl.col("change") + ":" + pl.col("need")).alias("change")),
        ]
    ).sort("change", "person_id")
    return Diff(movement, needs, rows)


def controlled(d: Diff, rules: DisclosureRules) -> tuple[Controlled, Controlled]:
    """The diff's two tables under disclosure control (what a default analyst sees)."""
    return (
        control(d.movement, ["change"], "persons", rules),
        control(d.needs, ["need", "change"], "persons", rules),
    )
