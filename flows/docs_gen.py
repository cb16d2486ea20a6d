"""Generate docs/schemas.md from the contracts, so the reference never drifts from the code.

uv run python -m flows.docs_gen        (writes docs/schemas.md; a test checks it is current)
"""

from __future__ import annotations

from pathlib import Path

from governance.match_keys import FIELD_TOKENS, MATCH_KEYS
from schemas.cohort import COLUMNS as COHORT_COLUMNS
from schemas.registry import all_partners
from transforms.needs import NEED_RULES, NEEDS_VERSION

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


def render() -> str:
    out = [
        "# Data contracts (generated from schemas/; do not edit by hand)",
        "",
        "Regenerate with `uv run python -m flows.docs_gen`. Every extract is read as text and "
        "checked against these rules; a row breaking a rule is quarantined with the rule's "
        "reason code (`MISSING`, `BAD_DATE`, `BAD_CODE`, `BAD_NHS_NUMBER`, `BAD_NINO`, "
        "`DUPLICATE_REF`) and the column name.",
        "",
    ]
    for partner in all_partners():
        out += [f"## {partner.name}", "", partner.description, ""]
        for ex in partner.extracts:
            out += [
                f"### {partner.name}/{ex.name}: `landing/{partner.name}/{ex.file}`",
                "",
                f"{ex.description} Event date: `{ex.event_date}`.",
                "",
                "| column | type | identity role | rules | description |",
                "|---|---|---|---|---|",
                *[_column_row(c) for c in ex.columns],
                "",
            ]
    out += [
        "## Cohort table: `published/current/cohort.parquet`",
        "",
        "| column | type | identity role | rules | description |",
        "|---|---|---|---|---|",
        *[_column_row(c) for c in COHORT_COLUMNS],
        "",
        f"## Need definitions ({NEEDS_VERSION})",
        "",
        "| need | partner/extract | qualifying event |",
        "|---|---|---|",
        *[f"| {r.need} | {r.partner}/{r.extract} | {r.description} |" for r in NEED_RULES],
        "",
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
