"""Generate docs/schemas.md from the contracts, so the reference never drifts from the code.

uv run python -m flows.docs_gen        (writes docs/schemas.md; a test checks it is current)
"""

from __future__ import annotations

from pathlib import Path

from governance.match_keys import FIELD_TOKENS, MATCH_KEYS
from schemas.codes import CODES
from schemas.cohort import COLUMNS as COHORT_COLUMNS
from schemas.contract import (
    COMMON_BLANK_MARKERS,
    EARLIEST_DATE,
    ENCODINGS,
    MAX_FIELD_CHARS,
    UK_TIME_ZONE,
)
from schemas.registry import all_partners
from schemas.service_use import COLUMNS as USE_COLUMNS
from transforms import framework
from transforms.needs import all_events
from transforms.service_use import use_rules

TARGET = Path(__file__).resolve().parent.parent / "docs" / "schemas.md"


def _column_row(c) -> str:
    rules = []
    if c.required:
        rules.append("required")
    if c.date_format:
        rules.append(f"date `{c.date_format}`")
    if c.format:
        rules.append(f"format {c.format}")
    if c.category:
        rules.append(
            {
                "special": "**Art 9 special category**",
                "criminal_offence": "**Art 10 criminal offence**",
            }[c.category]
        )
    if c.allowed:
        rules.append("one of " + ", ".join(f"`{a}`" for a in c.allowed))
    return f"| `{c.name}` | {c.dtype} | {c.identity or ''} | {'; '.join(rules)} | {c.description} |"


LEVELS = {
    "file": "the file is not used; that partner stops tonight (the others go on), exit code 3",
    "line": "the CSV line is quarantined as a line (line number, code, raw bytes); the rest "
    "is staged",
    "row": "the row is quarantined with `CODE:column`; the rest is staged",
    "notice": "nothing is lost; reported in the counts and the audit log",
}


def _codes() -> list[str]:
    """The extract codes of schemas.codes, and the reading rules they come from."""
    out = [
        "## Extract codes",
        "",
        "How a partner's file is read (`flows/reader.py`): CSV files are cut into lines at LF, "
        "CRLF or CR, then decoded in the contract's encoding (UTF-8, a leading byte-order mark "
        "removed) or the one the manifest declares for the file (`files.<name>.encoding`, one "
        f"of {', '.join(f'`{e}`' for e in ENCODINGS)}). Bytes that are not valid in that "
        "encoding make their line `UNDECODABLE_LINE` (in the header: `BAD_ENCODING`, since no "
        "line can be read without it). A quoted field may hold line breaks. A line that "
        "cannot be read as a row is quarantined as a line and the rest of the file is staged; "
        "so is a line that holds no record (`NOT_A_RECORD`: only delimiters and spaces, a rule "
        "of dashes under the header, the header again), which is never counted as a row. "
        "Parquet files are read with pyarrow; every column as text. A field holding only text "
        "the partner's export writes for an empty field (`NULL`, say) is blank once it is "
        "declared: `blank_values` in the contract, or a list in the manifest "
        "(`files.<name>.blank_values`, which replaces the contract's for that file); compared "
        "exactly, after trimming spaces, so a required column holding it is `MISSING` "
        "(`BLANK_VALUES` counts them). A list holding data is refused before the file is "
        "read (`BLANK_VALUE_REFUSED`): an allowed code of one of the file's columns, or a "
        "valid NHS number or National Insurance number (read as blank, it would erase need "
        "flags, or the numbers opt-outs are matched on). Undeclared, such text stays a value and "
        "`BLANK_LIKE_VALUES` counts the fields holding one of "
        f"{', '.join(f'`{m}`' for m in COMMON_BLANK_MARKERS if m)}. A date written with a "
        "time of day, as database exports write dates (`2026-10-01 00:00:00`, "
        "`01/10/2026 14:30`, `2026-10-01T23:30:00Z`, SQL Server's "
        "`2026-10-01 00:00:00.0000000 +00:00`, PostgreSQL's `2026-10-01 00:00:00+00`), is read "
        "as its date (`TIME_DROPPED`): "
        "with no zone, or at midnight in any zone (`1980-01-15 00:00:00 +01:00`, a date kept "
        "east of the UK), the writer's own date; with another zoned time, the date in the UK "
        f"at that moment ({UK_TIME_ZONE}: `1967-04-22T23:00:00Z` is 23 April, midnight in "
        "British Summer Time). A column whose naive times are all UK midnights written in "
        "UTC (midnight on winter's dates, 23:00 the day before on summer's: a database or "
        "Spark session in UTC, the zone dropped) is read as the UK dates. "
        "A time that is no time (`25:00`, `13:00 PM`, an offset of "
        "`+00:99`) is left for the date rule (`BAD_DATE`). "
        "A column whose given values are mostly "
        "whole numbers written as floats or decimals (`9991234567.0`: pandas writes a column of "
        "numbers with a gap so; `9991234567.00`, a database's decimal, padded or signed; "
        "`9991234567,0`, a decimal comma, with one or two zeros, `,000` being a thousands "
        "group; in "
        "Parquet, a float or decimal column) is read as the numbers (`WHOLE_FLOATS`); "
        "its other values (`12.5`, `1e300`) are left for the rules of their own rows. "
        "NaN or infinity in a Parquet float column is a gap (`NAN_VALUES`); a float32 column "
        "holding numbers past 2^24 is refused (`WRONG_TYPE`: it rounds them to other numbers); "
        "Spark's INT96 timestamps are read as UTC moments; columns outside the contract are "
        "not read (`EXTRA_COLUMNS`). "
        "A blank value that a float column would read as data (`9991234567.0`) is refused as "
        "that data would be. "
        "An extract that quarantines a tenth of its "
        "rows or more is named in the night's summary with its commonest reasons.",
        "",
        "Accounting: rows in = CSV records (lines that are not blank, a multi-line quoted "
        "record counted once) or Parquet rows = staged + quarantined (rows and lines) + opted "
        "out, for every extract. The manifest's `rows` is the number of records the partner "
        "wrote: fewer records in the file is `FILE_TRUNCATED`, more rows read than it says is "
        "`ROW_COUNT_MISMATCH`; a count in between is accepted, since a broken multi-line "
        "record is quarantined line by line. An optional top-level `extract_date` "
        "(YYYY-MM-DD) dates the extract: a file for an older date than one already staged is "
        "staged (`LATE_EXTRACT`) and the newer extract's rows still win in the build.",
        "",
        f"No field may be longer than {MAX_FIELD_CHARS:,} characters or hold a NUL; no date "
        f"may be before {EARLIEST_DATE}, and no event date after the run date. Of exact "
        "duplicate rows the first is kept. Messages name the file, line, column and code, "
        "never a value.",
        "",
        *[f"- `{level}`: {what}." for level, what in LEVELS.items()],
        "",
        "| code | level | meaning | fix |",
        "|---|---|---|---|",
        *[f"| `{c.name}` | {c.level} | {c.meaning} | {c.fix} |" for c in CODES.values()],
        "",
    ]
    return out


def _frameworks() -> list[str]:
    """The qualifying events the partners declare, and each needs framework built on them."""
    out = [
        "## Qualifying events",
        "",
        "Declared by each partner (`transforms/partners/<partner>.py` `EVENTS`); the needs "
        "frameworks below say which count towards which need.",
        "",
        "| event | partner/extract | condition | description |",
        "|---|---|---|---|",
        *[
            f"| `{e.name}` | {e.partner}/{e.extract} | "
            f"{', '.join(f'`{c}`' for c in e.columns) or 'any record'} | {e.description} |"
            for kind in all_events().values()
            for e in kind
        ],
        "",
    ]
    for name in framework.shipped():
        fw = framework.load(name)
        out += [
            f"## Needs framework: {fw.title} (`{fw.version}`)",
            "",
            f"{fw.description} Source: {fw.source}. In the cohort at {fw.threshold} or more "
            f"needs. File: `transforms/frameworks/{name}.yaml`.",
            "",
            "| need (domain) | label | events | lookback (days) |",
            "|---|---|---|---|",
            *[
                f"| `need_{n.domain}` | {n.label} | {', '.join(f'`{e}`' for e in n.events)} "
                f"| {n.lookback_days} |"
                for n in fw.needs
            ],
            "",
        ]
    return out


def render() -> str:
    out = [
        "# Data contracts (generated from schemas/; do not edit by hand)",
        "",
        "Regenerate with `uv run python -m flows.docs_gen`. Every extract is read as text and "
        "checked against these rules; a row breaking a rule is quarantined with the rule's "
        "reason code and the column name (`BAD_DATE:event_date`); every code is listed under "
        "[Extract codes](#extract-codes).",
        "",
    ]
    for partner in all_partners():
        out += [f"## {partner.name}", "", partner.description, ""]
        for ex in partner.extracts:
            out += [
                f"### {partner.name}/{ex.name}: `landing/{partner.name}/{ex.file}`",
                "",
                f"{ex.description} Event date: `{ex.event_date}`."
                + (f" Encoding: `{ex.encoding}`." if ex.file.endswith(".csv") else "")
                + (
                    " Read as blank: " + ", ".join(f"`{b}`" for b in ex.blank_values) + "."
                    if ex.blank_values
                    else ""
                ),
                "",
                "| column | type | identity role | rules | description |",
                "|---|---|---|---|---|",
                *[_column_row(c) for c in ex.columns],
                "",
            ]
    out += _codes()
    out += [
        "## Cohort table: `published/current/cohort.parquet`",
        "",
        "| column | type | identity role | rules | description |",
        "|---|---|---|---|---|",
        *[_column_row(c) for c in COHORT_COLUMNS],
        "",
        "## Service-use table: `published/current/service_use.parquet`",
        "",
        "| column | type | identity role | rules | description |",
        "|---|---|---|---|---|",
        *[_column_row(c) for c in USE_COLUMNS],
        "",
        "## Event types (service use, priced by the unit cost table)",
        "",
        "| event type | partner/extract | event |",
        "|---|---|---|",
        *[f"| `{r.event_type}` | {r.partner}/{r.extract} | {r.description} |" for r in use_rules()],
        "",
        *_frameworks(),
        "## Match keys (linkage tokens)",
        "",
        "| key | rank | fields |",
        "|---|---|---|",
        *[f"| `tok_{k.name}` | {k.rank} | {k.description} |" for k in MATCH_KEYS],
        "",
        "## Field tokens (probabilistic linkage, see linkage.md)",
        "",
        "| token | field |",
        "|---|---|",
        *[f"| `tok_{k.name}` | {k.description} |" for k in FIELD_TOKENS],
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
