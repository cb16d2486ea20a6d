"""The national data opt-out: NHS numbers whose records must not be used, at every use.

The list lives in <data>/optout/: nhs_numbers.csv (one column, nhs_number) and manifest.json
({"as_of": "YYYY-MM-DD", "rows": n, "sha256": ...}). It is applied twice: before staging, to
every extract the national data opt-out covers (health and adult social care), removing rows whose
NHS number is listed; and at every cohort build, where the current list is tokenised under the
linkage key and every person linked to a listed number is dropped from the cohort, the links and
the link pairs, so a person who opts out after their records were staged is gone from the next
build. Rows without a valid NHS number cannot be checked: they are counted and reported. A list
that is missing, altered, dated in the future or older than the agreement allows stops ingest and
build (fail closed). Only counts are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from governance import canonical as canon
from governance.agreement import Policy
from governance.errors import OptOutError
from governance.keys import SecretKey
from governance.match_keys import key_named, plaintext, token_column
from governance.pseudonymise import hmac_tokens
from schemas.contract import Extract

LIST_FILE, MANIFEST = "nhs_numbers.csv", "manifest.json"


@dataclass(frozen=True)
class OptOutList:
    as_of: dt.date
    sha256: str
    numbers: pl.Series  # canonical ten-digit NHS numbers

    def __repr__(self) -> str:  # never the numbers
        return f"OptOutList(as_of={self.as_of}, rows={self.numbers.len()})"


def load_optout(folder: Path) -> OptOutList:
    fix = "place the current national data opt-out list and its manifest there"
    path, manifest_path = folder / LIST_FILE, folder / MANIFEST
    if not (path.is_file() and manifest_path.is_file()):
        raise OptOutError(
            f"national data opt-out list missing ({path} and {manifest_path}); "
            f"NHS-sourced data cannot be ingested without it. Fix: {fix}"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        as_of, rows = dt.date.fromisoformat(manifest["as_of"]), int(manifest["rows"])
    except (ValueError, KeyError, TypeError):
        raise OptOutError(
            f"{manifest_path} needs as_of (YYYY-MM-DD), rows and sha256. Fix: {fix}"
        ) from None
    content = hashlib.sha256(path.read_bytes()).hexdigest()
    if content != manifest.get("sha256"):
        raise OptOutError(f"{path} does not match its manifest checksum. Fix: {fix}")
    numbers = (
        pl.read_csv(path, infer_schema=False)
        .select(canon.nhs_number_canonical(pl.col("nhs_number")))["nhs_number"]
        .drop_nulls()
        .unique()
    )
    if numbers.len() != rows:
        raise OptOutError(
            f"{path} holds {numbers.len()} valid distinct NHS numbers but its "
            f"manifest says {rows}. Fix: {fix}"
        )
    return OptOutList(as_of, content, numbers)


def require_fresh(optout: OptOutList, policy: Policy, run_date: dt.date) -> None:
    rule = policy.agreement.opt_out
    age = (run_date - optout.as_of).days
    if age < 0:
        raise OptOutError(
            f"national data opt-out list is dated {optout.as_of}, after the run date {run_date}: "
            "a list cannot come from the future. Fix: check the manifest's as_of and the run date"
        )
    if rule and age > rule.max_list_age_days:
        raise OptOutError(
            f"national data opt-out list is {age} days old (as of {optout.as_of}); "
            f"agreement {policy.agreement.id} allows {rule.max_list_age_days}. "
            f"Nothing from {policy.partner} was read. Fix: obtain the current list"
        )


@dataclass(frozen=True)
class OptOutResult:
    kept: pl.DataFrame
    removed: int
    unchecked: int  # rows the opt-out covers that carry no valid NHS number


def remove_opted_out(raw: pl.DataFrame, ex: Extract, optout: OptOutList) -> OptOutResult:
    """Rows whose NHS number is on the list are removed; rows with no valid NHS number are kept
    and counted as unchecked."""
    column = ex.identity_columns.get("nhs_number")
    if column is None:
        return OptOutResult(raw, 0, raw.height)
    number = canon.nhs_number_canonical(pl.col(column))
    flags = raw.select(
        listed=number.is_in(optout.numbers.implode()).fill_null(False),
        unchecked=number.is_null(),
    )
    kept = raw.filter(~flags["listed"])
    return OptOutResult(kept, raw.height - kept.height, int(flags["unchecked"].sum()))


def optout_tokens(optout: OptOutList, key: SecretKey) -> pl.Series:
    """The list's NHS number tokens under the linkage key, as staged data carries them."""
    nhs = key_named("nhs")
    frame = pl.DataFrame({"w_nhs": optout.numbers}).select(plaintext(nhs).alias(token_column(nhs)))
    return hmac_tokens(frame, [token_column(nhs)], key)[token_column(nhs)]


def write_optout(folder: Path, numbers: list[str], as_of: dt.date) -> None:
    """Write a list in the shape load_optout reads (used by the synthetic generator)."""
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"nhs_number": numbers}, schema={"nhs_number": pl.String}).write_csv(
        folder / LIST_FILE
    )
    content = hashlib.sha256((folder / LIST_FILE).read_bytes()).hexdigest()
    (folder / MANIFEST).write_text(
        json.dumps({"as_of": as_of.isoformat(), "rows": len(numbers), "sha256": content}, indent=2)
        + "\n"
    )
