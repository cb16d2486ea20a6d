"""Object storage at the two ends of a night, through fsspec (`s3://bucket/prefix` via s3fs, or
any local folder): partners' drops are read from it, the published output set is written to it.

    <storage>/landing/<partner>/...     read: copied into <data>/landing/<partner>/ by that
                                         partner's ingest task, then checked as any drop is
    <storage>/published/<run_id>/...    written: the run's set (tables and manifest.json)
    <storage>/published/current         written last: the run_id of the set in use

Everything in between (staged, vault, quarantine, audit, runs) is the working set and stays in
the local data directory (on a Dask cluster: a folder every worker mounts at the same path).
Credentials and endpoint come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_ENDPOINT_URL...; docs/operations.md), never from a parameter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.config import Zones
from flows.errors import StorageError, UsageError

ENV_STORAGE = "MCN_STORAGE_URL"
CURRENT = "current"


def location(url: str | None = None) -> str | None:
    """The storage location of a run: the one given, else $MCN_STORAGE_URL, else none. It is
    a flow parameter (shown in the UI), so it may not carry credentials."""
    found = (url or os.environ.get(ENV_STORAGE) or "").rstrip("/") or None
    if found and "@" in found.split("/")[2 if "://" in found else 0]:
        raise UsageError(
            "the storage location holds credentials (user@ or key:secret@), which would be "
            "shown and stored with the run. Fix: give them as AWS_* environment variables"
        )
    return found


@contextmanager
def reaching(url: str, doing: str) -> Iterator[None]:
    """Any failure to reach the storage as one StorageError: what, where, how to fix (the
    library's own message is left out: only the error's type is named)."""
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError:
        raise StorageError(
            f"{doing}: {url} does not exist (no such bucket or folder). Fix: create it, or "
            "correct --storage / $MCN_STORAGE_URL"
        ) from None
    except PermissionError:
        raise StorageError(
            f"{doing}: access to {url} was refused. Fix: give the run credentials that may read "
            "and write it (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - botocore's errors: credentials, endpoint, network
        fix = (
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            if "Credentials" in type(exc).__name__
            else "check AWS_ENDPOINT_URL, the network and the credentials"
        )
        raise StorageError(
            f"{doing}: {url} cannot be reached ({type(exc).__name__}). Fix: {fix}"
        ) from None


def _fs(url: str):
    from fsspec.core import url_to_fs

    # a new client per call: credentials and endpoint are read from the environment now
    return url_to_fs(url, skip_instance_cache=True)


def check(url: str) -> None:
    """Fail in a second, before any partner is read, when the drops cannot be listed."""
    with reaching(f"{url}/landing", "reading partner drops"):
        fs, root = _fs(url)
        if not fs.isdir(f"{root}/landing"):
            raise FileNotFoundError(root)


def fetch_landing(url: str, partner: str, zones: Zones) -> int:
    """Copy the partner's drop from storage into the local landing folder; files copied."""
    where = f"{url}/landing/{partner}"
    with reaching(where, f"reading {partner}'s drop"):
        fs, root = _fs(where)
        files = [f for f in fs.find(root) if not f.endswith("/")]
        if not files:
            raise FileNotFoundError(root)
        for remote in files:
            local = zones.landing / partner / Path(remote).relative_to(root)
            local.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(remote, str(local))
    return len(files)


def publish_set(url: str, zones: Zones, run_id: str) -> dict[str, str]:
    """Copy the run's published set to storage, then point `published/current` at it (the
    pointer last: a reader following it never finds a partial set). Objects written, by
    storage path relative to the location, with the local file's sha256 (from the manifest)."""
    import json

    folder = zones.published / run_id
    manifest = json.loads((folder / "manifest.json").read_text())
    with reaching(url, "publishing the output set"):
        fs, root = _fs(url)
        if "file" in fs.protocol:  # a folder; object stores have no folders to make
            fs.makedirs(f"{root}/published/{run_id}", exist_ok=True)
        for path in sorted(folder.iterdir()):
            fs.put_file(str(path), f"{root}/published/{run_id}/{path.name}")
        fs.pipe_file(f"{root}/published/{CURRENT}", run_id.encode())
    return {
        f"published/{run_id}/{Path(local).name}": sha for local, sha in manifest["files"].items()
    }
