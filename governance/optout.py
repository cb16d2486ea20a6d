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
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance import canonical as canon
from governance import signatures as sig
from governance.agreement import Policy
from governance.errors import OptOutError
from governance.keys import SecretKey
from governance.match_keys import key_named, plaintext, token_column
from governance.pseudonymise import hmac_tokens
from schemas.contract import Extract
from schemas.formats import WHOLE_FLOAT

LIST_FILE, MANIFEST = "nhs_numbers.csv", "manifest.json"


@dataclass(frozen=True)
class OptOutList:
    as_of: dt.date
    sha256: str
    numbers: pl.Series  # canonical ten-digit NHS numbers

    def __repr__(self) -> str:  # never the numbers
        return f"OptOutList(as_of={self.as_of}, rows={self.numbers.len()})"


SIGN_FIX = (
    "an IG officer checks the list against the copy received from NHS England and signs it "
    "with `mcn optout sign --key APPROVER.key --approver NAME`"
)


def _message(as_of: object, rows: object, sha256: object, signed_at: object) -> tuple:
    return (as_of, rows, sha256, signed_at)


def load_optout(folder: Path, approvers: dict | None = None) -> OptOutList:
    """The list, checked: present, its manifest's hash and row count hold, and signed by a
    trusted IG approver (`approvers`: key id -> (name, public key); None skips only the
    signature, for signing it)."""
    fix = "place the current national data opt-out list and its manifest there"
    path, manifest_path = folder / LIST_FILE, folder / MANIFEST
    if not (path.is_file() and manifest_path.is_file()):
        raise OptOutError(
            f"national data opt-out list missing ({path} and {manifest_path}); health and "
            f"social care data cannot be used without it. Fix: {fix}"
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
    if approvers is not None and not _signed(manifest, approvers):
        raise OptOutError(
            f"{manifest_path} is not signed by a trusted IG approver (or was changed since): "
            f"anyone who can write the data directory could have edited the list. Fix: {SIGN_FIX}"
        )
    numbers = _numbers(path, fix)
    if numbers.len() != rows:
        raise OptOutError(
            f"{path} holds {numbers.len()} valid distinct NHS numbers but its "
            f"manifest says {rows}. Fix: {fix}"
        )
    return OptOutList(as_of, content, numbers)


def _numbers(path: Path, fix: str) -> pl.Series:
    """The list's distinct canonical numbers. The reader's own errors can quote a line of the
    file (an NHS number), so they are never passed on."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except Exception:  # noqa: BLE001 - any failure becomes one clear, value-free message
        raise OptOutError(f"{path} cannot be read as CSV. Fix: {fix}") from None
    if frame.columns != ["nhs_number"]:
        raise OptOutError(
            f"{path} must have one column headed nhs_number (found {len(frame.columns)} "
            f"column(s) with another header). Fix: {fix}"
        )
    return (
        frame.select(canon.nhs_number_canonical(pl.col("nhs_number")))["nhs_number"]
        .drop_nulls()
        .unique()
    )


def _signed(manifest: dict, approvers: dict) -> bool:
    approver = approvers.get(str(manifest.get("approver_key_id")))
    fields = _message(
        manifest.get("as_of"),
        manifest.get("rows"),
        manifest.get("sha256"),
        manifest.get("signed_at"),
    )
    return approver is not None and sig.verifies(
        approver[1], manifest.get("signature"), "optout-list", *fields
    )


def sign_manifest(folder: Path, approver: str, key: Ed25519PrivateKey) -> dict:
    """Sign the list as it is (after checking its hash and rows): the IG officer's word that it
    is the list received from NHS England."""
    load_optout(folder)  # the list must hold together before anyone vouches for it
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    signed_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    fields = _message(manifest["as_of"], manifest["rows"], manifest["sha256"], signed_at)
    manifest.update(
        signed_by=approver,
        approver_key_id=sig.key_id(key.public_key(), "a"),
        signed_at=signed_at,
        signature=sig.sign(key, "optout-list", *fields),
    )
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def used_as_of(entries: list[dict]) -> list[str]:
    """The as_of dates of every list earlier runs applied, from their audit entries."""
    found = [str(e["optout_as_of"]) for e in entries if e.get("optout_as_of")]
    found += [
        str(e["optout"]["as_of"])
        for e in entries
        if e.get("event") == "cohort" and isinstance(e.get("optout"), dict)
    ]
    return found


def current_list(folder: Path, approvers: dict, entries: list[dict]) -> OptOutList:
    """The list a run may apply: complete, signed, and not older than one already applied."""
    optout = load_optout(folder, approvers)
    require_not_older_than_used(optout, used_as_of(entries))
    return optout


def require_not_older_than_used(optout: OptOutList, used: list[str]) -> None:
    """A list is never swapped for an older one: `used` are the as_of dates of lists earlier
    runs applied (from the audit log)."""
    newest = max((dt.date.fromisoformat(u) for u in used if u), default=None)
    if newest is not None and optout.as_of < newest:
        raise OptOutError(
            f"the opt-out list is dated {optout.as_of}, older than the list dated {newest} that "
            "an earlier run already applied: an older list would bring back people who have "
            "opted out since. Fix: place the current list (and have it signed)"
        )


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
    if raw.get_column(column).str.contains(".0", literal=True).any():
        # a number written as a float ("9990000018.0") where the reader did not read the column
        # as numbers (fewer than half of it, flows.reader): still that person's number, so the
        # row is removed, not kept (identifiable) in quarantine
        whole = canon.nhs_number_canonical(pl.col(column).str.replace(WHOLE_FLOAT, "${1}"))
        number = pl.coalesce(number, whole)
    flags = raw.select(
        listed=number.is_in(optout.numbers.implode()).fill_null(False),
        unchecked=number.is_null(),
    )
    kept = raw.filter(~flags["listed"])
    return OptOutResult(kept, raw.height - kept.height, int(flags["unchecked"].sum()))


# Ten digits standing alone in a line, written plain or grouped 3-3-4 by spaces or hyphens:
# where an NHS number may sit in a line that could not be split into fields.
_NUMBER_IN_LINE = re.compile(r"(?<![0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?![0-9])")


def remove_opted_out_lines(
    lines: pl.DataFrame, raw_line: str, ex: Extract, optout: OptOutList
) -> tuple[pl.DataFrame, int]:
    """Lines that could not be read as rows (kept whole in quarantine: an undecodable byte, a
    stray quote, an extra comma) and that hold a listed NHS number anywhere are removed too, so
    an opted-out person's record is never kept because their line was broken. (lines kept,
    lines removed)."""
    if ex.identity_columns.get("nhs_number") is None or lines.height == 0:
        return lines, 0
    listed = set(optout.numbers.to_list())

    def holds_listed(line: bytes | None) -> bool:
        text = (line or b"").decode("latin-1")  # digits are ASCII in every allowed encoding
        found = (re.sub(r"[ -]", "", m) for m in _NUMBER_IN_LINE.findall(text))
        return any(n in listed for n in found)

    hit = pl.Series([holds_listed(b) for b in lines.get_column(raw_line).to_list()])
    return lines.filter(~hit), int(hit.sum())


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
