"""Crash-safe publishing of the output set: all of it from one run, or none of it.

    published/<run_id>/cohort.parquet, links.parquet, link_pairs.parquet, service_use.parquet,
                       manifest.json
                       (and cohort_<framework>.parquet for each further needs framework)
    published/current -> <run_id>        (a symlink, switched atomically with rename)

A build writes its whole set into a folder of its own, then its manifest (the last file: a set
without one is incomplete), then switches `current` in one rename. Readers open
`published/current/...` (or resolve `current` once to read several tables of one set), so they
see the old set or the new one, never a mix. A run killed at any point leaves the last published
set in place; the next run removes what it left behind (temporary files, incomplete sets) before
it starts, and keeps the previous set beside the current one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl

from flows.config import Zones
from flows.errors import NothingThere, PublishedIntegrityError
from flows.io import sha256_file, write_json_atomic, write_parquet_atomic

TABLES = ("cohort", "links", "link_pairs", "service_use")
MANIFEST = "manifest.json"
KEEP_SETS = 2  # the current set and the one before it


def set_folder(zones: Zones, run_id: str) -> Path:
    return zones.published / run_id


def write_set(
    zones: Zones, run_id: str, tables: dict[str, pl.DataFrame], footer: dict[str, str]
) -> dict[str, str]:
    """Write every table of a run's set (TABLES and any further framework's cohort), then its
    manifest; returns outputs by path."""
    missing = set(TABLES) - set(tables)
    if missing:
        raise RuntimeError(f"a published set needs {', '.join(sorted(missing))}")
    folder = set_folder(zones, run_id)
    outputs = {}
    for name in tables:
        path = folder / f"{name}.parquet"
        write_parquet_atomic(tables[name], path, footer)
        outputs[str(path.relative_to(zones.root))] = sha256_file(path)
    write_json_atomic({"run_id": run_id, "files": outputs, **footer}, folder / MANIFEST)
    return outputs


def switch_current(zones: Zones, run_id: str) -> None:
    """Point `published/current` at the run's set, in one atomic rename."""
    if not (set_folder(zones, run_id) / MANIFEST).is_file():
        raise RuntimeError(f"published set {run_id} is incomplete; not switched")
    tmp = zones.published / f".current.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_id, target_is_directory=True)
    os.replace(tmp, zones.published / "current")


def current_run(zones: Zones) -> str | None:
    link = zones.published / "current"
    return os.readlink(link) if link.is_symlink() else None


def complete_sets(zones: Zones) -> list[str]:
    """Run ids of complete sets, oldest first (run ids sort by time)."""
    if not zones.published.is_dir():
        return []
    return sorted(
        p.name
        for p in zones.published.iterdir()
        if p.is_dir() and not p.is_symlink() and (p / MANIFEST).is_file()
    )


def prune(zones: Zones) -> dict[str, str]:
    """Remove complete sets older than the last KEEP_SETS (never the current one); outputs
    deleted, by path and hash, for the audit log."""
    current = current_run(zones)
    sets = [s for s in complete_sets(zones) if s != current]
    gone = {}
    for run_id in sets[: max(0, len(sets) - (KEEP_SETS - 1))]:
        gone.update(_remove_set(zones, run_id))
    return gone


def _remove_set(zones: Zones, run_id: str) -> dict[str, str]:
    folder = set_folder(zones, run_id)
    gone = {
        str(p.relative_to(zones.root)): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    shutil.rmtree(folder)
    return gone


def recover(zones: Zones) -> dict[str, int]:
    """Before a run: remove what an interrupted one left behind. Counts by kind (no values)."""
    found = {"temporary_files": 0, "incomplete_sets": 0}
    for tmp in _temporary_files(zones):
        tmp.unlink()
        found["temporary_files"] += 1
    current = current_run(zones)
    if zones.published.is_dir():
        for folder in zones.published.iterdir():
            if folder.is_dir() and not folder.is_symlink() and folder.name != current:
                if not (folder / MANIFEST).is_file():
                    shutil.rmtree(folder)
                    found["incomplete_sets"] += 1
    return found


def _temporary_files(zones: Zones) -> list[Path]:
    """Files our atomic writes leave only when killed between write and rename."""
    if not zones.root.is_dir():
        return []
    found = {p for p in zones.root.rglob(".*.tmp") if p.is_file() or p.is_symlink()}
    found |= {p for p in zones.root.rglob("*.json.tmp") if p.is_file()}
    return sorted(found)


def read_manifest(zones: Zones) -> dict | None:
    try:
        return json.loads((zones.published / "current" / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def verified_table(zones: Zones, table: str) -> Path:
    """The current set's table, after checking it is byte for byte what the pipeline published:
    its hash must be the one in the signed `published` entry of the audit log for that run
    (audit public keys from $MCN_AUDIT_PUBLIC_KEY_FILE). A file an insider swapped or edited,
    or a `current` pointed elsewhere, is refused."""
    from governance import signatures
    from governance.audit import audit_key_id, body_digest, load_audit_public_keys, read_entries

    run_id = current_run(zones)
    if run_id is None or "/" in run_id:
        raise NothingThere(
            f"nothing is published under {zones.published}. Fix: run `mcn run` first, or pass "
            "--data-dir"
        )
    path = set_folder(zones, run_id) / f"{table}.parquet"
    entries = read_entries(zones.audit)
    log_id = entries[0].get("log_id") if entries else None
    published = [e for e in entries if e.get("event") == "published" and e.get("run_id") == run_id]
    trusted = {audit_key_id(k): k for k in load_audit_public_keys()}
    entry = published[-1] if published else {}
    public = trusted.get(str(entry.get("signer")))
    signed = public is not None and signatures.verifies(
        public, entry.get("sig"), "audit-entry", log_id, body_digest(entry)
    )
    rel = str(path.relative_to(zones.root))
    if not signed or not path.is_file() or sha256_file(path) != entry.get("outputs", {}).get(rel):
        raise PublishedIntegrityError(
            f"{rel} is not what the pipeline published (no signed record of it in the audit log, "
            "or its content differs): refused. Fix: treat as a security incident; the next "
            "`mcn run` publishes a fresh set"
        )
    return path
