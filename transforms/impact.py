"""What changed after support, honestly: a difference in differences against a matched
comparison group, never a before/after alone.

People join an MCN cohort at a crisis peak: their service use in the months after any date
chosen at a peak falls whatever is done (regression to the mean), so a before/after of the
supported people alone shows a "saving" that nothing caused. The comparison group is chosen the
same way: for each supported person, the `neighbours` people never supported who, at the same
start month, were in the same age band, sex and area and were nearest in prior service use (the
month just before the start, and the mean of the months before that). Their change over the
same months is what would have happened anyway; the estimate is the supported people's change
less theirs, corrected for what matching leaves of a prior-use gap by a least-squares model of
the change fitted on the matched comparison (Abadie and Imbens 2011).

    panel       person_id, month (a Date, first of the month), value (cost or count)
    people      person_id and the matching columns (default age_band, sex, area)
    supported   person_id, start (a Date; the month it falls in is the start month)

`estimate` returns the naive before/after (labelled as such), the difference in differences
with a bootstrap confidence interval, the numbers matched and unmatched, and the balance of
every matching variable before and after matching (standardised mean differences). Months
without a row in the panel are zeros (no service use that month).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

MATCH_ON = ("age_band", "sex", "area")


@dataclass(frozen=True)
class ImpactSettings:
    months_before: int = 6
    months_after: int = 6
    match_on: tuple[str, ...] = MATCH_ON
    neighbours: int = 3  # comparison people per supported person
    bootstrap: int = 500
    confidence: float = 0.95
    seed: int = 20140401  # the HM Treasury / PSTN CBA guidance month, as a fixed seed


@dataclass
class Impact:
    naive_change: float  # supported people's mean change, after less before (NOT an effect)
    did: float  # difference in differences: their change less the matched comparison's
    ci_low: float
    ci_high: float
    supported: int
    matched: int
    unmatched: int
    comparison_people: int
    balance: list[dict] = field(default_factory=list)
    settings: ImpactSettings = field(default_factory=ImpactSettings)
    outside_observed: int = 0  # supported people whose windows run past the data: left out

    def includes_zero(self) -> bool:
        return self.ci_low <= 0 <= self.ci_high

    def summary(self) -> dict:
        return {
            "estimate": "difference in differences against a matched comparison group",
            "did_per_person_month": round(self.did, 4),
            "ci": [round(self.ci_low, 4), round(self.ci_high, 4)],
            "confidence": self.settings.confidence,
            "naive_before_after_per_person_month": round(self.naive_change, 4),
            "naive_warning": "before/after of the supported people alone: includes regression "
            "to the mean, not an effect",
            "supported": self.supported,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "comparison_people": self.comparison_people,
            "left_out_windows_outside_the_data": self.outside_observed,
            "months_before": self.settings.months_before,
            "months_after": self.settings.months_after,
            "matched_on": [
                *self.settings.match_on,
                "prior use: month before start, baseline months (nearest, bias-corrected)",
            ],
            "neighbours": self.settings.neighbours,
            "balance": self.balance,
        }


def _month(d: dt.date, shift: int = 0) -> dt.date:
    index = d.year * 12 + d.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def windows(
    panel: pl.DataFrame, people: pl.Series, start: dt.date, settings: ImpactSettings
) -> pl.DataFrame:
    """For each person, at one start month: mean use before, in the month just before, and
    mean use after (months without a row are zeros)."""
    first = _month(start, -settings.months_before)
    stop = _month(start, settings.months_after)
    rows = panel.filter(
        pl.col("person_id").is_in(people.implode())
        & pl.col("month").is_between(first, stop, closed="left")
    )
    last = _month(start, -1)
    sums = rows.group_by("person_id").agg(
        pl.col("value").filter(pl.col("month") < start).sum().alias("before_sum"),
        pl.col("value").filter(pl.col("month") == last).sum().alias("last_month"),
        pl.col("value").filter(pl.col("month") >= start).sum().alias("after_sum"),
    )
    out = pl.DataFrame({"person_id": people}).join(sums, on="person_id", how="left").fill_null(0)
    return out.select(
        "person_id",
        (pl.col("before_sum") / settings.months_before).alias("before"),
        pl.col("last_month").cast(pl.Float64),
        ((pl.col("before_sum") - pl.col("last_month")) / max(1, settings.months_before - 1)).alias(
            "baseline"
        ),
        (pl.col("after_sum") / settings.months_after).alias("after"),
    ).with_columns((pl.col("after") - pl.col("before")).alias("change"))


def matched_pairs(
    panel: pl.DataFrame, people: pl.DataFrame, supported: pl.DataFrame, settings: ImpactSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each supported person with their `neighbours` nearest comparison people at the same start
    month, in the same age band, sex and area, nearest on prior use (log of the month just
    before, and of the mean of the months before that): a crisis peak is matched by a crisis
    peak. Returns (treated rows with `change`, the matched comparison rows with `match_of`).
    Comparison people are those never supported."""
    supported = supported.with_columns(pl.col("start").dt.truncate("1mo").alias("start_month"))
    # only starts whose whole before and after windows lie inside the observed months: a month
    # past the data's end is not a month of no use
    first, last = panel["month"].min(), panel["month"].max()
    supported = supported.filter(
        (pl.col("start_month") >= _month(first, settings.months_before))  # type: ignore[arg-type]
        & (pl.col("start_month") <= _month(last, 1 - settings.months_after))  # type: ignore[arg-type]
    )
    never = people.join(supported.select("person_id"), on="person_id", how="anti")["person_id"]
    treated_rows, control_rows = [], []
    for start in sorted(supported["start_month"].unique().to_list()):
        treated_ids = supported.filter(pl.col("start_month") == start)["person_id"]
        pool = pl.concat([treated_ids, never]).unique(maintain_order=True)
        w = windows(panel, pool, start, settings).join(people, on="person_id", how="left")
        w = w.with_columns(
            pl.col("person_id").is_in(treated_ids.implode()).alias("supported"),
            pl.lit(start).alias("start_month"),
        )
        month_picks = []
        groups = (
            w.sort("person_id").group_by(list(settings.match_on), maintain_order=True)
            if settings.match_on
            else [((), w.sort("person_id"))]
        )
        for _, group in groups:
            t = group.filter(pl.col("supported"))
            c = group.filter(~pl.col("supported"))
            if t.is_empty():
                continue
            if c.height < settings.neighbours:
                treated_rows.append(t.with_columns(pl.lit(False).alias("matched")))
                continue
            features = ["last_month", "baseline"]
            xt = np.log1p(t.select(features).to_numpy())
            xc = np.log1p(c.select(features).to_numpy())
            scale = np.log1p(w.select(features).to_numpy()).std(axis=0)
            scale[scale == 0] = 1.0
            dist = (((xt[:, None, :] - xc[None, :, :]) / scale) ** 2).sum(axis=2)
            nearest = np.argsort(dist, axis=1)[:, : settings.neighbours]
            treated_rows.append(t.with_columns(pl.lit(True).alias("matched")))
            gap = (
                np.repeat(t.select(features).to_numpy(), settings.neighbours, axis=0)
                - c.select(features).to_numpy()[nearest.ravel()]
            )
            picked = c[nearest.ravel().tolist()].with_columns(
                pl.Series("match_of", np.repeat(t["person_id"].to_numpy(), settings.neighbours)),
                pl.Series("gap_last", gap[:, 0]),
                pl.Series("gap_baseline", gap[:, 1]),
            )
            month_picks.append(picked)
        if month_picks:
            # bias correction (Abadie and Imbens 2011): what matching leaves of a gap in prior
            # use, priced by an outcome model fitted on the matched comparison people
            picks = pl.concat(month_picks)
            beta = _outcome_model(picks.unique("person_id"))
            control_rows.append(
                picks.with_columns(
                    (
                        pl.col("change")
                        + pl.col("gap_last") * beta[0]
                        + pl.col("gap_baseline") * beta[1]
                    ).alias("change_adjusted")
                ).drop("gap_last", "gap_baseline")
            )
    if not treated_rows:
        empty = pl.DataFrame(
            schema={"person_id": pl.String, "change": pl.Float64, "matched": pl.Boolean}
        )
        return empty, empty.with_columns(
            pl.lit(None, pl.String).alias("match_of"),
            pl.lit(None, pl.Float64).alias("change_adjusted"),
        )
    treated = pl.concat(treated_rows, how="diagonal_relaxed")
    controls = (
        pl.concat(control_rows, how="diagonal_relaxed")
        if control_rows
        else pl.DataFrame(schema={**treated.schema, "match_of": pl.String})
    )
    return treated, controls


def _outcome_model(pool: pl.DataFrame) -> np.ndarray:
    """Least squares of the change on prior use (last month, baseline) among the comparison
    pool: the slope used to correct what matching leaves of a prior-use gap."""
    x = pool.select("last_month", "baseline").to_numpy()
    if len(x) < 3:
        return np.zeros(2)
    design = np.column_stack([np.ones(len(x)), x])
    coef, *_ = np.linalg.lstsq(design, pool["change"].to_numpy(), rcond=None)
    return coef[1:]


def estimate(
    panel: pl.DataFrame,
    people: pl.DataFrame,
    supported: pl.DataFrame,
    settings: ImpactSettings = ImpactSettings(),
) -> Impact:
    treated, controls = matched_pairs(panel, people, supported, settings)
    outside = supported.height - treated.height  # windows not inside the observed months
    naive = float(treated["change"].mean() or 0.0) if treated.height else 0.0  # type: ignore[arg-type]
    matched = (
        treated.filter(pl.col("matched"))
        .join(
            controls.group_by("match_of").agg(
                pl.col("change_adjusted").mean().alias("control_change")
            ),
            left_on=["person_id"],
            right_on=["match_of"],
        )
        .sort("person_id")
    )  # the bootstrap draws by position: the same inputs, the same interval
    if matched.height == 0:
        nan = float("nan")
        return Impact(
            naive, nan, nan, nan, treated.height, 0, treated.height, 0, [], settings, outside
        )
    did = float((matched["change"] - matched["control_change"]).mean())  # type: ignore[arg-type]
    low, high = _bootstrap(matched, controls, settings)
    return Impact(
        naive,
        did,
        low,
        high,
        treated.height,
        matched.height,
        treated.height - matched.height,
        controls["person_id"].n_unique(),
        balance(matched, controls, settings),
        settings,
        outside,
    )


def _bootstrap(
    matched: pl.DataFrame, controls: pl.DataFrame, s: ImpactSettings
) -> tuple[float, float]:
    """Percentile interval: supported people resampled, and each one's matched comparison
    people resampled, so both sources of chance are in the interval."""
    rng = np.random.default_rng(s.seed)
    order = {pid: i for i, pid in enumerate(matched["person_id"].to_list())}
    own = matched["change"].to_numpy()
    theirs = np.zeros((len(order), s.neighbours))
    counts = np.zeros(len(order), dtype=int)
    for pid, change in controls.select("match_of", "change_adjusted").iter_rows():
        i = order.get(pid)
        if i is not None and counts[i] < s.neighbours:
            theirs[i, counts[i]] = change
            counts[i] += 1
    stats = np.empty(s.bootstrap)
    n = len(own)
    for b in range(s.bootstrap):
        pick = rng.integers(0, n, n)
        cols = rng.integers(0, s.neighbours, (n, s.neighbours))
        control = np.take_along_axis(theirs[pick], cols, axis=1).mean(axis=1)
        stats[b] = (own[pick] - control).mean()
    alpha = (1 - s.confidence) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


def balance(matched: pl.DataFrame, controls: pl.DataFrame, s: ImpactSettings) -> list[dict]:
    """How alike the supported and their matched comparison are, per matching variable: means
    and the standardised mean difference (|SMD| under 0.1 is the usual mark of balance). Counts
    and means only."""
    variables: list[tuple[str, pl.Expr]] = [
        ("prior use: month before start", pl.col("last_month")),
        ("prior use: baseline months", pl.col("baseline")),
    ]
    for col in s.match_on:
        for value in sorted(matched[col].drop_nulls().unique().to_list()):
            variables.append((f"{col} = {value}", (pl.col(col) == value).cast(pl.Float64)))
    rows = []
    for name, expr in variables:
        a = matched.select(expr.alias("x"))["x"].to_numpy()
        b = controls.select(expr.alias("x"))["x"].to_numpy()
        rows.append(
            {
                "variable": name,
                "mean_supported": round(float(a.mean()), 3),
                "mean_comparison": round(float(b.mean()), 3),
                "smd": _smd(a, b),
            }
        )
    return rows


def _smd(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    pooled = np.sqrt((a.var() + b.var()) / 2)
    return round(float((a.mean() - b.mean()) / pooled), 3) if pooled > 0 else 0.0
