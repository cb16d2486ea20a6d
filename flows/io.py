"""All file reading and writing for partner data. Errors name the file and column, never a value."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import polars as pl

from schemas.contract import Extract
from schemas.errors import SchemaError


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.is_file():
        raise SchemaError(
            "manifest.json is missing",
            str(folder),
            "ask the partner to send the manifest with the drop",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        return {name: (int(e["rows"]), str(e["sha256"])) for name, e in manifest["files"].items()}
    except (ValueError, KeyError, TypeError):
        raise SchemaError(
            "manifest.json is not valid (needs files.<name>.rows and .sha256)",
            str(path),
            "ask the partner to resend the manifest",
        ) from None


def read_extract(folder: Path, ex: Extract, manifest: dict) -> tuple[pl.DataFrame, str]:
    """Every column as text, exactly the contract's columns; returns (rows, content sha256)."""
    path = folder / ex.file
    if not path.is_file():
        raise SchemaError(
            f"extract file {ex.file} is missing",
            str(folder),
            f"ask {ex.partner} to resend {ex.file}, or check the landing path",
        )
    if ex.file not in manifest:
        raise SchemaError(
            f"{ex.file} is not listed in manifest.json",
            str(folder),
            "ask the partner to resend the manifest",
        )
    content = sha256_file(path)
    rows, expected = manifest[ex.file]
    if content != expected:
        raise SchemaError(
            "file content does not match its manifest checksum (incomplete or altered transfer)",
            str(path),
            "ask the partner to resend the file",
        )
    df = _read_text(path, ex)
    missing = [c for c in ex.column_names if c not in df.columns]
    if missing:
        raise SchemaError(
            f"columns missing from the header: {', '.join(missing)}",
            str(path),
            f"compare the file with docs/schemas.md ({ex.partner}/{ex.name})",
        )
    if df.height != rows:
        raise SchemaError(
            f"file has {df.height} rows but its manifest says {rows}",
            str(path),
            "ask the partner to resend the file and manifest",
        )
    return df.select(ex.column_names), content


def _read_text(path: Path, ex: Extract) -> pl.DataFrame:
    # Polars messages can quote a line of the file, so they are never passed on.
    try:
        if path.suffix == ".parquet":
            df = pl.read_parquet(path)
            return df.with_columns(pl.all().cast(pl.String))
        df = pl.read_csv(path, separator=ex.delimiter, infer_schema=False, encoding="utf8")
    except UnicodeDecodeError:
        raise SchemaError(
            "file is not UTF-8 text", str(path), "ask the partner to export as UTF-8"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear message
        kind = type(exc).__name__
        raise SchemaError(
            f"file could not be read as {path.suffix.lstrip('.')} ({kind})",
            str(path),
            f"check the delimiter is '{ex.delimiter}' and every line has the same number of fields",
        ) from None
    return df.rename({c: c.lstrip("\ufeff").strip() for c in df.columns})


def write_parquet_atomic(df: pl.DataFrame, path: Path, metadata: dict | None = None) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half.

    `metadata` goes into the Parquet footer (key ids, versions: never values)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        df.write_parquet(tmp, metadata=metadata)
        os.chmod(tmp, 0o640)  # group readers (the service's group) may read outputs
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json_atomic(data: dict, path: Path) -> None:
    """Write beside the target under a fresh name (never through a planted link), then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, indent=2, default=str) + "\n")
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def open_append(path: Path):
    """A text file opened for appending, created 0640, never through a symbolic link."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
    return os.fdopen(fd, "a", encoding="utf-8")
