"""The business-case workbook (XLSX, openpyxl): every figure in it is one already through
disclosure control (flows.business_case.Evidence); every sheet says which unit costs and
parameters made it, and ILLUSTRATIVE when the demo's table did."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flows.business_case import Evidence

REDACTED = "redacted"  # a cell disclosure control hid
NAIVE_NOTE = (
    "The before/after of the supported people alone is NOT an effect: people are supported at "
    "a crisis peak and their use falls anyway (regression to the mean). Read the difference in "
    "differences against the matched comparison group, and its interval."
)


def _rows(frame: pl.DataFrame) -> list[list]:
    return [[REDACTED if v is None else v for v in r] for r in frame.rows()]


def _cell(value: object) -> object:
    if value is None:
        return REDACTED
    return value if isinstance(value, int | float | str) else str(value)


def sheets(ev: Evidence) -> dict[str, list[list]]:
    """Sheet name -> rows (the first rows of each: the labels)."""
    labels = [[k, _cell(v)] for k, v in ev.labels().items()]
    head = [[ev.labels()["illustrative"]], *labels, []]
    out: dict[str, list[list]] = {
        "Read me": [
            ["Business case evidence (HM Treasury local-partnership CBA guidance shape)"],
            *head,
            ["parameter", "value", "source"],
            *[[n, _cell(v), s] for n, v, s in ev.parameters.rows()],
            [],
            [NAIVE_NOTE],
            [
                "Every figure is disclosure-controlled: counts of 1-7 redacted (and a second cell "
                "where a total would give one away), counts rounded to 5, money rounded."
            ],
        ],
    }
    for dim, table in ev.costs.tables.items():
        frame = table.published
        out[f"Cost by {dim.replace('_', ' ')}"] = [
            *head,
            [f"cost per person in {table.year} ({ev.costs.price_year} prices)"],
            frame.columns,
            *_rows(frame),
        ]
    dist = ev.costs.distribution
    out["Cost distribution"] = [
        *head,
        ["measure", "value"],
        *[[k, _cell(v)] for k, v in dist.items()],
    ]
    impact_keys = [k for k in ev.impact if k != "balance"]
    agencies = list(ev.impact_by_agency)
    out["Impact"] = [
        *head,
        [NAIVE_NOTE],
        ["measure", "All agencies", *agencies],
        *[
            [k, _cell(ev.impact[k]), *[_cell(ev.impact_by_agency[a].get(k)) for a in agencies]]
            for k in impact_keys
        ],
        ["starts not in the current cohort", _cell(ev.starts_not_in_cohort)],
    ]
    balance = ev.impact.get("balance") or []
    out["Balance"] = [
        *head,
        ["variable", "mean_supported", "mean_comparison", "smd"],
        *[
            [_cell(b[k]) for k in ("variable", "mean_supported", "mean_comparison", "smd")]
            for b in balance
        ],
    ]
    keys = list(ev.case[0]) if ev.case else ["agency"]
    out["Business case"] = [
        *head,
        ["per person per year, then for the people supported a year over the horizon"],
        keys,
        *[[_cell(line[k]) for k in keys] for line in ev.case],
    ]
    return out


def write_workbook(ev: Evidence, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets(ev).items():
        sheet = book.create_sheet(name[:31])
        for row in rows:
            sheet.append([_cell(c) if c is not None else None for c in row])
        sheet["A1"].font = Font(bold=True, color="8A1C00")
        sheet.column_dimensions["A"].width = 45
    case = book["Business case"]
    if ev.case:
        header_row = next(
            r for r in range(1, case.max_row + 1) if case.cell(r, 1).value == "agency"
        )
        col = list(ev.case[0]).index("net_after_optimism_bias_per_person_year") + 1
        chart = BarChart()
        chart.title = "Net fiscal benefit per person a year, after optimism bias, by agency"
        chart.add_data(
            Reference(case, min_col=col, min_row=header_row, max_row=header_row + len(ev.case)),
            titles_from_data=True,
        )
        chart.set_categories(
            Reference(case, min_col=1, min_row=header_row + 1, max_row=header_row + len(ev.case))
        )
        case.add_chart(chart, f"A{header_row + len(ev.case) + 3}")
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
