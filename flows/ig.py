"""Reading what the IG views need: agreements with their signature state, for the register."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from governance.errors import PolicySignatureError, Problem
from governance.policy import agreements_in, check_all, policy_path
from governance.register import Entry, Signatures, entry
from governance.signing import verify_policy


def signatures_of(path: Path) -> Signatures:
    try:
        return Signatures(verify_policy(path).signers)
    except PolicySignatureError as exc:
        return Signatures((), exc.code, str(exc).split("] ", 1)[-1].split(". Fix:")[0])


def register_entries(
    policy_dir: Path | None, on: dt.date, window: int
) -> tuple[list[Entry], list[Problem]]:
    """Every agreement whose policy loads, with its statuses; and the problems of those that
    do not (which stop their partner as surely as an expired agreement)."""
    policies, problems = check_all(policy_dir, verify=False, names=agreements_in(policy_dir))
    entries = [
        entry(name, policy, signatures_of(policy_path(name, policy_dir)), on, window)
        for name, policy in policies.items()
    ]
    return entries, problems


SECURITY_DOC = Path(__file__).parents[1] / "docs" / "security.md"


def security_measures(doc: Path = SECURITY_DOC) -> str:
    """The measures named in the security documentation (its numbered sections), one line."""
    import re

    if not doc.exists():
        return "see docs/security.md"
    heads = re.findall(r"^## \d+\. (.+)$", doc.read_text(encoding="utf-8"), flags=re.M)
    kept = [h for h in heads if not h.lower().startswith("what an outside review")]
    return "Described in docs/security.md: " + "; ".join(kept)


def write_xlsx(path: Path, title: str, preface: list[tuple[str, str]], header, rows) -> None:
    """The record as the ICO template lays it out: a controller sheet, particulars on top, then
    one row per processing activity under the template's column headings."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Controller"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in preface:
        sheet.append([label, value])
    sheet.append([])
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r in rows:
        sheet.append([str(c) for c in r])
    for col in sheet.columns:
        sheet.column_dimensions[col[0].column_letter].width = 40
    book.save(path)
