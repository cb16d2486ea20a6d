"""The fitted linkage model as a chart: match weight per field and comparison level.

Rendered to SVG offline (altair + vl-convert), written beside the run's linkage report. Only
model parameters are drawn (weights, m, u): no record, token or value.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl


def model_frame(summary: dict) -> pl.DataFrame:
    """One row per field and level: weight = log2(m/u), with m and u."""
    rows = [
        {
            "field": f,
            "level": f"{k}: {name}",
            "match weight": summary["weights"][f][k],
            "m": summary["m"][f][k],
            "u": summary["u"][f][k],
        }
        for f, names in summary["levels"].items()
        for k, name in enumerate(names)
    ]
    return pl.DataFrame(rows)


def model_chart(summary: dict) -> alt.Chart:
    frame = model_frame(summary)
    expected = summary.get("expected") or {}
    title = (
        f"Match weights (log2 m/u) by field and level; threshold {summary.get('threshold')}, "
        f"expected precision {expected.get('precision', float('nan')):.3f}, "
        f"recall {expected.get('recall', float('nan')):.3f}"
    )
    return (
        alt.Chart(alt.Data(values=frame.to_dicts()), title=title)
        .mark_bar()
        .encode(
            x=alt.X("match weight:Q"),
            y=alt.Y("level:N", sort=None, title=None),
            color=alt.condition(
                "datum['match weight'] > 0", alt.value("#1b7837"), alt.value("#b2182b")
            ),
            row=alt.Row("field:N", sort=list(summary["levels"]), header=alt.Header(labelAngle=0)),
            tooltip=["field:N", "level:N", "match weight:Q", "m:Q", "u:Q"],
        )
        .resolve_scale(y="independent")
        .properties(width=420)
    )


def write_model_chart(summary: dict, path: Path) -> Path:
    """Write the chart as SVG (no network, no browser)."""
    import vl_convert as vlc

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(vlc.vegalite_to_svg(model_chart(summary).to_json()))
    return path
