"""`mcn report`: the partnership board's report, one static folder that opens offline.

    <out>/index.html      every figure and its table; charts are inline SVG (altair, rendered
                          by vl-convert without network or browser), no fetched resource

Figures: cohort size over time (every framework in the history), need overlap per framework
(UpSet-style: a bar per combination of needs, a dot matrix beneath), the cohort by age band,
sex and area, entries and exits since last month, freshness and quality per partner (from the
audit log), linkage quality. Every count passes disclosure control under the strictest
agreement's rules (governance.disclosure: small counts redacted, totals protected, rounded), and
every figure names its framework and version. A small inline script marks each chart once the
browser has laid it out (`data-rendered`), which the headless-browser test reads.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

import altair as alt
import polars as pl

from flows import history, publish
from flows.config import Zones
from flows.errors import NothingThere
from flows.tables import STYLE
from governance.audit import read_entries
from governance.disclosure import TOTAL, Controlled, DisclosureRules, control
from transforms.framework import load as load_framework

SCRIPT = (
    "window.addEventListener('load',function(){document.querySelectorAll('figure svg')"
    ".forEach(function(s){var b=s.getBBox();s.closest('figure').dataset.rendered="
    "(b.width>0&&b.height>0)?'yes':'no';});document.body.dataset.ready='yes';});"
)


TOP = 20  # combinations drawn in a need-overlap chart


def _svg(chart: alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_json())
    return svg[svg.index("<svg") :]


def _shown(value) -> str:
    return "redacted" if value is None else f"{value:,}"


def _table(header: list[str], rows: list[list]) -> str:
    esc = html.escape
    head = "".join(f"<th scope='col'>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Page:
    def __init__(self, rules: DisclosureRules) -> None:
        self.rules = rules
        self.parts: list[str] = []
        self.figures: list[str] = []

    def h2(self, text: str, note: str = "") -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")
        if note:
            self.parts.append(f"<p>{html.escape(note)}</p>")

    def figure(self, fig_id: str, caption: str, chart, table: str) -> None:
        self.figures.append(fig_id)
        self.parts.append(
            f"<figure id='{fig_id}'>{_svg(chart)}<figcaption>{html.escape(caption)}"
            f"</figcaption>{table}</figure>"
        )

    def controlled(self, frame: pl.DataFrame, dims: list[str], count: str) -> Controlled:
        return control(frame, dims, count, self.rules)


def _bars(c: Controlled, label: str, title: str, sort=None) -> alt.Chart:
    data = c.published.filter(pl.col(c.dims[0]) != TOTAL).drop_nulls(c.count)
    return (
        alt.Chart(alt.Data(values=data.to_dicts()), title=title)
        .mark_bar(color="#1f5f8b")
        .encode(
            x=alt.X(f"{c.dims[0]}:N", sort=sort, title=label),
            y=alt.Y(f"{c.count}:Q", title="persons (rounded)"),
        )
        .properties(width=520, height=220)
    )


def _controlled_table(c: Controlled, labels: list[str]) -> str:
    return _table([*labels, "persons"], [[*r[:-1], _shown(r[-1])] for r in c.published.rows()])


def size_over_time(page: Page, rows: pl.DataFrame) -> None:
    page.h2(
        "Cohort size over time",
        "Persons in each framework's cohort on each night in the history.",
    )
    parts, table_rows = [], []
    for _name, group in rows.group_by(["framework"], maintain_order=True):
        sizes = group.group_by("snapshot_date", "framework_version").len("persons")
        sizes = sizes.sort("snapshot_date").with_columns(pl.col("snapshot_date").cast(pl.String))
        c = page.controlled(sizes.select("snapshot_date", "persons"), ["snapshot_date"], "persons")
        version = dict(sizes.select("snapshot_date", "framework_version").iter_rows())
        for day, n in c.published.rows():
            if day != TOTAL:
                parts.append({"night": day, "persons": n, "framework": version[day]})
                table_rows.append([version[day], day, _shown(n)])
    chart = (
        alt.Chart(alt.Data(values=[p for p in parts if p["persons"] is not None]))
        .mark_line(point=True)
        .encode(
            x=alt.X("night:T", title="night"),
            y=alt.Y("persons:Q", title="persons (rounded)"),
            color=alt.Color("framework:N", title="framework and version"),
        )
        .properties(width=520, height=220, title="Cohort size by night")
    )
    page.figure(
        "size-over-time",
        "Persons in the cohort, each framework and version (redacted nights not drawn)",
        chart,
        _table(["framework and version", "night", "persons"], table_rows),
    )


def need_overlap(page: Page, cohort: pl.DataFrame, fw_name: str, version: str) -> None:
    fw = load_framework(fw_name)
    labels = {n.domain: n.label for n in fw.needs}
    members = cohort.filter("mcn_flag")
    combo = pl.concat_str(
        [pl.when(pl.col(f"need_{d}")).then(pl.lit(d)) for d in fw.domains],
        separator="+",
        ignore_nulls=True,
    )
    counts = members.select(combo.alias("needs")).group_by("needs").len("persons")
    counts = counts.sort("persons", "needs", descending=[True, False])
    c = page.controlled(counts, ["needs"], "persons")
    shown = c.published.filter(pl.col("needs") != TOTAL).drop_nulls("persons").head(TOP)
    order = shown["needs"].to_list()
    bars = (
        alt.Chart(alt.Data(values=shown.to_dicts()))
        .mark_bar(color="#1f5f8b")
        .encode(
            x=alt.X("needs:N", sort=order, axis=None),
            y=alt.Y("persons:Q", title="persons (rounded)"),
        )
        .properties(width=max(120, 34 * len(order)), height=180)
    )
    dots = [
        {"needs": combo_, "need": labels[d], "on": d in combo_.split("+")}
        for combo_ in order
        for d in fw.domains
    ]
    matrix = (
        alt.Chart(alt.Data(values=dots))
        .mark_circle(size=120)
        .encode(
            x=alt.X("needs:N", sort=order, axis=None),
            y=alt.Y("need:N", title=None, sort=[labels[d] for d in fw.domains]),
            color=alt.condition("datum.on", alt.value("#222"), alt.value("#ddd")),
        )
        .properties(width=max(120, 34 * len(order)), height=22 * len(fw.domains))
    )
    chart = alt.vconcat(bars, matrix, spacing=4).properties(
        title=f"Need combinations in the cohort: {fw.title} ({version})"
    )
    page.figure(
        f"overlap-{fw_name}",
        f"{fw.title} ({version}): persons by the combination of needs they have (the "
        f"{TOP} largest drawn; all in the table); redacted combinations are not drawn",
        chart,
        _controlled_table(c, ["needs"]),
    )


def breakdowns(page: Page, cohort: pl.DataFrame, version: str) -> None:
    members = cohort.filter("mcn_flag")
    for column, label in (("age_band", "age band"), ("sex", "sex"), ("postcode_district", "area")):
        counts = (
            members.select(pl.col(column).fill_null("not known").cast(pl.String))
            .group_by(column)
            .len("persons")
            .sort(column)
        )
        c = page.controlled(counts, [column], "persons")
        page.figure(
            f"by-{column.replace('_', '-')}",
            f"Cohort ({version}) by {label}",
            _bars(c, label, f"Cohort by {label} ({version})"),
            _controlled_table(c, [label]),
        )


def movement(page: Page, rows: pl.DataFrame, fw_name: str) -> None:
    mine = rows.filter(pl.col("framework") == fw_name)
    nights = mine["snapshot_date"].unique().sort()
    page.h2("Entries and exits since last month")
    if nights.len() < 2:
        page.parts.append("<p>Only one night in the history: nothing to compare yet.</p>")
        return
    last = nights[-1]
    earlier = nights.filter(nights <= last - dt.timedelta(days=28))
    before_day = earlier[-1] if earlier.len() else nights[0]
    found = history.diff(
        history.snapshot(mine, str(before_day), fw_name),
        history.snapshot(mine, str(last), fw_name),
    )
    moved, needs = history.controlled(found, page.rules)
    version = mine.filter(pl.col("snapshot_date") == last)["framework_version"][0]
    page.figure(
        "entries-exits",
        f"{version}: persons who entered, left or stayed in the cohort from {before_day} to {last}",
        _bars(moved, "change", f"From {before_day} to {last} ({version})", sort=None),
        _controlled_table(moved, ["change"])
        + "<p>Needs gained and lost by those who stayed:</p>"
        + _controlled_table(needs, ["need", "change"]),
    )


def freshness(page: Page, zones: Zones, today: dt.date) -> None:
    latest: dict[tuple[str, str], dict] = {}
    for e in read_entries(zones.audit):
        if e.get("event") == "ingest":
            latest[(e["partner"], e["extract"])] = e
    page.h2(
        "Data freshness and quality per partner",
        "The newest extract each partner sent, its age on the report date, and the rows "
        "quarantined by the checks (rows, rounded).",
    )
    if not latest:
        page.parts.append("<p>No extract has been ingested.</p>")
        return
    frame = pl.DataFrame(
        [
            {
                "extract": f"{p}/{x}",
                "extract_date": str(e.get("extract_date") or e.get("run_date")),
                "rows": int(e["rows_in"]),
                "quarantined": int(e["rows_quarantined"]),
            }
            for (p, x), e in latest.items()
        ]
    )
    rows_in = page.controlled(frame.select("extract", "rows"), ["extract"], "rows")
    bad = page.controlled(frame.select("extract", "quarantined"), ["extract"], "quarantined")
    shown_in = dict(rows_in.published.rows())
    shown_bad = dict(bad.published.rows())
    table_rows, chart_rows = [], []
    for rec in frame.iter_rows(named=True):
        age = (today - dt.date.fromisoformat(rec["extract_date"][:10])).days
        table_rows.append(
            [
                rec["extract"],
                rec["extract_date"],
                age,
                _shown(shown_in[rec["extract"]]),
                _shown(shown_bad[rec["extract"]]),
            ]
        )
        chart_rows.append({"extract": rec["extract"], "days old": age})
    chart = (
        alt.Chart(alt.Data(values=chart_rows), title="Days since each extract")
        .mark_bar(color="#8a5a00")
        .encode(x=alt.X("days old:Q"), y=alt.Y("extract:N", sort=None, title=None))
        .properties(width=520)
    )
    page.figure(
        "freshness",
        "Days since each partner's newest extract; rows received and quarantined",
        chart,
        _table(["extract", "extract date", "days old", "rows", "quarantined"], table_rows),
    )


def linkage(page: Page, zones: Zones, run_id: str) -> None:
    path = zones.runs / run_id / "linkage_quality.json"
    page.h2("Linkage quality", "How records were linked into persons (counts rounded).")
    if not path.is_file():
        page.parts.append("<p>No linkage quality record for this run.</p>")
        return
    quality = json.loads(path.read_text())
    sizes = pl.DataFrame(
        {
            "records per person": list(quality["persons_by_cluster_size"]),
            "persons": list(quality["persons_by_cluster_size"].values()),
        }
    )
    c = page.controlled(sizes, ["records per person"], "persons")
    rates = [
        [group, value, f"{q['link_rate']:.0%}"]
        for kind in ("by_partner", "by_age_band", "by_sex")
        for value, q in (quality.get(kind) or {}).items()
        if q.get("records", 0) > page.rules.threshold
        for group in [kind.removeprefix("by_").replace("_", " ")]
    ]
    page.figure(
        "linkage",
        f"Persons by the number of records linked to them; {quality['link_rate']:.0%} of "
        "records linked to another",
        _bars(c, "records per person", "Records per person"),
        _controlled_table(c, ["records per person"])
        + "<p>Share of records linked, by group (groups of fewer than 8 records left out):</p>"
        + _table(["by", "group", "linked"], rates),
    )


def build_report(zones: Zones, out: Path, today: dt.date | None = None) -> Path:
    """Write the report folder; returns index.html. Figures under the strictest agreement's
    disclosure rules."""
    from flows.query import agreement_rules

    today = today or dt.date.today()
    manifest = publish.read_manifest(zones)
    if manifest is None:
        raise NothingThere(
            f"nothing is published under {zones.published}. Fix: run `mcn run` first, or pass "
            "--data-dir"
        )
    listed = json.loads(manifest.get("mcn.frameworks") or "[]") or [
        {"name": "mcn-default", "version": manifest.get("mcn.needs_version"), "table": "cohort"}
    ]
    frameworks = {f["name"]: f for f in listed}
    rules = agreement_rules()
    page = Page(rules)
    rows = history.read(zones.history)
    size_over_time(page, rows)
    cohorts = {
        name: pl.read_parquet(publish.verified_table(zones, f["table"]))
        for name, f in frameworks.items()
    }
    page.h2(
        "Need overlap",
        "Which needs the people in each framework's cohort have together (UpSet-style).",
    )
    for name, f in frameworks.items():
        need_overlap(page, cohorts[name], name, f["version"])
    first = next(iter(frameworks))
    page.h2("Who is in the cohort", f"Framework {frameworks[first]['version']}.")
    breakdowns(page, cohorts[first], frameworks[first]["version"])
    movement(page, rows, first)
    freshness(page, zones, today)
    linkage(page, zones, manifest["run_id"])
    names = ", ".join(f"{n} ({f['version']})" for n, f in frameworks.items())
    intro = (
        f"<h1>Multiple and complex needs: partnership board report</h1><p>Run "
        f"{html.escape(manifest['run_id'])} for {html.escape(str(manifest.get('mcn.run_date')))}"
        f"; report made {today}. Frameworks: {html.escape(names)}. Every count is "
        f"disclosure-controlled: counts from 1 to {rules.threshold} are redacted, a further "
        f"count where a total would give one away, and every count is rounded to "
        f"{rules.rounding}. Synthetic data in the demo.</p>"
    )
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        "<title>MCN partnership board report</title><link rel='icon' href='data:,'>"
        f"<style>{STYLE}figure{{margin:1em 0 2em}}figcaption{{font-style:italic}}</style>"
        f"</head><body>{intro}{''.join(page.parts)}<script>{SCRIPT}</script></body></html>\n",
        encoding="utf-8",
    )
    (out / "figures.json").write_text(json.dumps(page.figures) + "\n")
    return index
