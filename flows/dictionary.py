"""The data dictionary, generated from the contracts, the policies and the needs frameworks:
every column of every extract with its type, identity role, the agreement's treatment and the
outputs it reaches; the cohort table; the qualifying events and each framework's needs; each
agreement's retention and disclosure rules. Markdown and HTML from the same sections.

uv run python -m flows.dictionary     (writes docs/data-dictionary.md and .html; a test checks
                                       they are current)
"""

from __future__ import annotations

from pathlib import Path

from flows import tables
from governance.policy import load_policy
from schemas.cohort import COLUMNS as COHORT_COLUMNS
from schemas.cohort import GROUPABLE
from schemas.registry import all_partners
from transforms import framework
from transforms.dataflow import column_flow
from transforms.needs import all_events

DOCS = Path(__file__).resolve().parent.parent / "docs"
TITLE = "Data dictionary (generated; do not edit by hand)"
INTRO = [
    "Generated from schemas/ (data contracts), governance/policies/ (data-sharing agreements) "
    "and transforms/frameworks/ (needs frameworks) by `uv run python -m flows.dictionary`; a "
    "test fails when this file is not current. The contracts' checking rules and reason codes "
    "are in schemas.md.",
]


def sections() -> list[tables.Section]:
    out: list[tables.Section] = []
    agreements = []
    for p in all_partners():
        policy = load_policy(p.name, verify=False)
        a = policy.agreement
        r = a.retention
        agreements.append(
            [
                p.name,
                a.id,
                f"{a.valid_from} to {a.valid_to}",
                f"landing {r.landing}, quarantine {r.quarantine}, staged {r.staged}, "
                f"vault {r.vault}",
                f"redact 1-{a.disclosure.threshold}, round to {a.disclosure.rounding}",
            ]
        )
        for ex in p.extracts:
            rows = []
            for col in ex.columns:
                flow = column_flow(policy, ex, col.name)
                rows.append(
                    [
                        col.name,
                        col.dtype,
                        col.identity or "",
                        flow.treatment,
                        ", ".join(flow.published) or "",
                        col.description,
                    ]
                )
            out.append(
                (
                    f"{p.name}/{ex.name} ({ex.description})",
                    ["column", "type", "identity role", "treatment", "reaches", "description"],
                    rows,
                )
            )
    out.insert(
        0,
        (
            "Agreements",
            ["partner", "agreement", "valid", "retention (days)", "disclosure"],
            agreements,
        ),
    )
    out.append(
        (
            "Cohort table (published/current/cohort.parquet, and cohort_<framework>.parquet)",
            ["column", "type", "analyst may group by", "description"],
            [
                [c.name, c.dtype, "yes" if c.name in GROUPABLE else "no", c.description]
                for c in COHORT_COLUMNS
            ],
        )
    )
    out.append(
        (
            "Qualifying events (transforms/partners/<partner>.py EVENTS)",
            ["event", "partner/extract", "columns read", "description"],
            [
                [
                    e.name,
                    f"{e.partner}/{e.extract}",
                    ", ".join(e.columns) or "any record",
                    e.description,
                ]
                for kind in all_events().values()
                for e in kind
            ],
        )
    )
    for name in framework.shipped():
        fw = framework.load(name)
        out.append(
            (
                f"Needs framework {fw.title} ({fw.version}): {fw.threshold}+ needs",
                ["cohort column", "label", "events", "lookback (days)"],
                [
                    [f"need_{n.domain}", n.label, ", ".join(n.events), n.lookback_days]
                    for n in fw.needs
                ],
            )
        )
    return out


def render() -> tuple[str, str]:
    parts = sections()
    return tables.markdown(TITLE, INTRO, parts), tables.html_page(TITLE, INTRO, parts)


def write() -> tuple[Path, Path]:
    md, page = render()
    DOCS.mkdir(exist_ok=True)
    (DOCS / "data-dictionary.md").write_text(md)
    (DOCS / "data-dictionary.html").write_text(page)
    return DOCS / "data-dictionary.md", DOCS / "data-dictionary.html"


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path}")  # noqa: T201
