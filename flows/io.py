"""All file reading and writing for partner data. Errors name the file and column, never a value."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import polars as pl

from flows.reader import (
    READER_VERSION,
    Read,
    parse_csv,
    parse_parquet,
    read_blank_values,
    read_date_times,
    read_whole_floats,
)
from governance import canonical as canon
from schemas.contract import ENCODINGS, MAX_FIELD_CHARS, Extract
from schemas.errors import ExtractError
from schemas.formats import WHOLE_FLOAT

MAX_BLANK_VALUES = 20  # texts a manifest may declare blank for one file
# BLANK_VALUE_REFUSED's fix when the list is the contract's, not a manifest's.
CONTRACT_BLANKS_FIX = (
    "remove the text from the extract's `blank_values` in its contract (schemas/partners/), "
    "or declare the file's own list in the manifest (`files.<name>.blank_values`)"
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict:
    """{file name: {rows, sha256, encoding, blank_values, extract_date}} from the drop's
    manifest.json.

    `files.<name>.encoding` (optional) declares a CSV file's encoding, overriding the contract's;
    `files.<name>.blank_values` (optional) lists the text the export writes for an empty field,
    overriding the contract's list; `extract_date` (optional, top level) is the date the
    partner's extract was taken."""
    path = folder / "manifest.json"
    if not path.is_file():
        raise ExtractError("MANIFEST_MISSING", "manifest.json is missing", str(folder))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        extract_date = manifest.get("extract_date")
        if extract_date is not None:
            extract_date = dt.date.fromisoformat(extract_date).isoformat()
        return {
            str(name): _manifest_entry(e, extract_date) for name, e in manifest["files"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError, LookupError):
        raise ExtractError(
            "MANIFEST_INVALID",
            "manifest.json is not valid (needs files.<name>.rows and .sha256; an optional "
            f"encoding, one of {', '.join(ENCODINGS)}; optional blank_values, a list of at most "
            f"{MAX_BLANK_VALUES} texts of at most {MAX_FIELD_CHARS} characters; an optional "
            "extract_date, YYYY-MM-DD)",
            str(path),
        ) from None


def _manifest_entry(entry: dict, extract_date: str | None) -> dict:
    if isinstance(entry["rows"], bool) or not isinstance(entry["rows"], int | str):
        raise ValueError("rows")
    rows, sha256 = int(entry["rows"]), entry["sha256"]
    if rows < 0 or not isinstance(sha256, str):
        raise ValueError("rows")
    encoding = entry.get("encoding")
    if encoding is not None:
        encoding = codecs.lookup(encoding).name
        if encoding not in ENCODINGS:
            raise ValueError("encoding")
    blanks = entry.get("blank_values")
    if blanks is not None:
        if not isinstance(blanks, list) or len(blanks) > MAX_BLANK_VALUES:
            raise ValueError("blank_values")
        if not all(isinstance(b, str) and len(b) <= MAX_FIELD_CHARS for b in blanks):
            raise ValueError("blank_values")
        blanks = tuple(blanks)
    return {
        "rows": rows,
        "sha256": sha256,
        "encoding": encoding,
        "blank_values": blanks,
        "extract_date": extract_date,
    }


def checked_content(folder: Path, ex: Extract, manifest: dict) -> str:
    """The file's content sha256, once it is there, listed and matches its manifest."""
    path = folder / ex.file
    if path.is_dir():
        raise ExtractError(
            "FILE_UNREADABLE",
            f"{ex.file} is a folder, not a file (Spark writes a folder of part files)",
            str(path),
            "ask the partner to send one file under this name (Spark: write with coalesce(1) "
            "and send the one part file)",
        )
    if not path.is_file():
        raise ExtractError(
            "FILE_MISSING",
            f"extract file {ex.file} is missing",
            str(folder),
            f"ask {ex.partner} to resend {ex.file}, or check the landing path",
        )
    if ex.file not in manifest:
        raise ExtractError(
            "NOT_IN_MANIFEST", f"{ex.file} is not listed in manifest.json", str(folder)
        )
    content = sha256_file(path)
    if content != manifest[ex.file]["sha256"]:
        raise ExtractError(
            "CHECKSUM_MISMATCH",
            "file content does not match its manifest checksum (incomplete or altered transfer)",
            str(path),
        )
    return content


def file_encoding(ex: Extract, entry: dict) -> str:
    """The manifest's declared encoding, else the contract's."""
    return entry.get("encoding") or codecs.lookup(ex.encoding).name


def file_blank_values(ex: Extract, entry: dict, where: str) -> tuple[str, ...]:
    """The manifest's declared blank values, else the contract's; refused (BLANK_VALUE_REFUSED)
    if one of them is data: an allowed code of one of the extract's columns (a "Y" declared
    blank erases need flags), or a valid NHS number or National Insurance number (declared
    blank, a number could no longer be matched to its opt-out). The message names the kind and
    the column, never the text."""
    declared = entry.get("blank_values")
    blanks = ex.blank_values if declared is None else declared
    where = where if declared is not None else f"the contract of {ex.file}"
    fix = None if declared is not None else CONTRACT_BLANKS_FIX
    # Each text as it is and as its field is finally read: blank values are applied before a
    # whole number written as a float loses its ".0" (flows.reader), so "9991234567.0" would
    # erase the number 9991234567.
    texts = [t for b in blanks for t in {b.strip(), re.sub(WHOLE_FLOAT, r"\1", b.strip())}]
    for col in ex.columns:
        codes = {a.strip().casefold() for a in col.allowed or ()}
        if any(t.casefold() in codes for t in texts):
            raise ExtractError(
                "BLANK_VALUE_REFUSED",
                f"blank_values lists an allowed code of column {col.name}",
                where,
                fix,
            )
    given = pl.Series(texts, dtype=pl.String)
    for canonical, label in (
        (canon.nhs_number_canonical, "a valid NHS number"),
        (canon.nino_canonical, "a valid National Insurance number"),
    ):
        if pl.select(canonical(pl.lit(given)).is_not_null().any()).item():
            raise ExtractError("BLANK_VALUE_REFUSED", f"blank_values lists {label}", where, fix)
    return blanks


def read_as(entry: dict) -> dict:
    """How a file is read, as its staged sidecar records it: the reader's version and what the
    manifest declares (its encoding, its blank values). A staged file read otherwise is read
    again (flows.stages)."""
    blanks = entry.get("blank_values")
    declared = {
        "encoding": entry.get("encoding"),
        # as read_blank_values reads them (trimmed, once each), so a list in another order or
        # spacing reads the same and the file is not read again for it
        "blank_values": None if blanks is None else sorted({b.strip() for b in blanks} - {""}),
    }
    return {"reader": READER_VERSION} | {k: v for k, v in declared.items() if v is not None}


def read_rows(folder: Path, ex: Extract, manifest: dict) -> Read:
    """Every record of the file as a text row or a rejected line, checked against the manifest's
    row count: fewer records than it says is FILE_TRUNCATED; more rows read than it says is
    ROW_COUNT_MISMATCH. Rejected lines may stand for fewer records than their number (a broken
    quoted record is rejected line by line), so a count between the two is accepted."""
    path, entry = folder / ex.file, manifest[ex.file]
    blanks = file_blank_values(ex, entry, str(folder / "manifest.json"))  # refused before reading
    if path.suffix == ".parquet":
        read = parse_parquet(path, ex, str(path))
    else:
        read = parse_csv(path.read_bytes(), ex, file_encoding(ex, entry), str(path))
    read = read_blank_values(read, ex, blanks)
    # Parquet floats are judged by their type (parse_parquet), and its text columns as CSV's:
    # pandas' astype(str) writes a float column of numbers as "9991234567.0" text
    read = read_whole_floats(read, ex)
    read = read_date_times(read, ex)
    expected = entry["rows"]
    if read.records < expected:
        raise ExtractError(
            "FILE_TRUNCATED",
            f"the file has {read.records} records but its manifest says {expected}",
            str(path),
        )
    if read.rows.height > expected:
        raise ExtractError(
            "ROW_COUNT_MISMATCH",
            f"the file has {read.rows.height} rows but its manifest says {expected}",
            str(path),
        )
    return read


def read_extract(folder: Path, ex: Extract, manifest: dict) -> tuple[Read, str]:
    """(every record as a row or a rejected line, content sha256)."""
    content = checked_content(folder, ex, manifest)
    return read_rows(folder, ex, manifest), content


# zstd at level 1, not polars' default 3: a staged A&E extract at a million people wrote in 2.9
# CPU s instead of 3.5, and its file came out smaller (156 MB against 162: tokens are random
# hex, which only entropy coding shrinks). docs/benchmarks.md.
ZSTD_LEVEL = 1


def write_parquet_atomic(df: pl.DataFrame, path: Path, metadata: dict | None = None) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half.

    `metadata` goes into the Parquet footer (key ids, versions: never values)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        df.write_parquet(tmp, metadata=metadata, compression_level=ZSTD_LEVEL)
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
