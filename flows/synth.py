"""`mcn synth`: deterministic synthetic partner extracts, with a ground truth kept apart.

Writes landing/<partner>/<file> plus landing/<partner>/manifest.json for each partner, and
ground_truth/records.parquet (the true person behind every record). The pipeline never reads
the ground truth; only evaluation does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from flows import synth_noise, synth_realistic
from flows.synth_noise import broken_rows, duplicates
from flows.synth_people import nhs_numbers, population
from governance.optout import write_optout
from schemas import council, nhs, police
from schemas.contract import Extract
from schemas.registry import all_extracts

Progress = Callable[[str], None]
# Noise models: how each partner records a person, and the slips made typing each record.
NOISE = {
    "default": (synth_noise.partner_version, synth_noise.row_slips),
    "realistic": (synth_realistic.partner_version, synth_realistic.row_slips),
}
LOOKBACK_DAYS = 365
NHS_SEX = {"M": "1", "F": "2"}


class Draw:
    """Picks people for a kind of event and dates the events."""

    def __init__(self, pop: pl.DataFrame, rng: np.random.Generator, as_of: dt.date) -> None:
        self.pop, self.rng, self.as_of = pop, rng, np.datetime64(as_of)

    def people(self, need: str | None, p: float, most: int) -> np.ndarray:
        n = self.pop.height
        mask = self.pop[f"need_{need}"].to_numpy() if need else np.ones(n, bool)
        idx = np.flatnonzero(mask & (self.rng.random(n) < p))
        return np.repeat(idx, self.rng.integers(1, most + 1, len(idx)))

    def dates(self, m: int, recent: bool) -> np.ndarray:
        """Need events mostly inside the lookback; background events over three years."""
        inside = self.rng.random(m) < (0.85 if recent else 0.33)
        days = np.where(
            inside,
            self.rng.integers(0, LOOKBACK_DAYS, m),
            self.rng.integers(LOOKBACK_DAYS + 1, 3 * 365, m),
        )
        return self.as_of - days.astype("timedelta64[D]")

    def pick(self, values, m: int) -> np.ndarray:
        return self.rng.choice(np.array(values), m)

    def flag(self, m: int, p: float) -> np.ndarray:
        return np.where(self.rng.random(m) < p, "Y", "N")

    def frame(self, idx: np.ndarray, date_col: str, recent: bool, **cols) -> pl.DataFrame:
        return pl.DataFrame(
            {"person_idx": idx.astype(np.uint32), date_col: self.dates(len(idx), recent), **cols}
        )


def police_crimes(d: Draw) -> pl.DataFrame:
    frames = []
    for need, roles, cats, da, most, p in (
        ("offending", ("suspect", "offender"), police.OFFENCE_CATEGORIES, 0.0, 4, 1.0),
        ("domestic_abuse", ("victim",), ("violence_against_the_person",), 1.0, 3, 1.0),
        (
            None,
            ("victim", "witness"),
            ("theft", "burglary", "criminal_damage", "robbery"),
            0.0,
            1,
            0.06,
        ),
    ):
        idx = d.people(need, p, most)
        m = len(idx)
        frames.append(
            d.frame(
                idx,
                "event_date",
                need is not None,
                offence_category=d.pick(cats, m),
                role=d.pick(roles, m),
                domestic_abuse=d.flag(m, da),
                anti_social_behaviour=d.flag(m, 0.1),
            )
        )
    return pl.concat(frames)


def nhs_ae(d: Draw) -> pl.DataFrame:
    frames = []
    for need, p, most, flags in (
        ("substance", 0.6, 3, (0.6, 0.5, 0.0)),
        ("mental_health", 0.4, 2, (0.0, 0.0, 1.0)),
        (None, 0.2, 2, (0.0, 0.0, 0.0)),
    ):
        idx = d.people(need, p, most)
        m = len(idx)
        alcohol = d.flag(m, flags[0])
        drug = np.where(
            alcohol == "N", d.flag(m, 1.0 if need == "substance" else 0.0), d.flag(m, flags[1])
        )
        frames.append(
            d.frame(
                idx,
                "arrival_date",
                need is not None,
                alcohol_related=alcohol,
                drug_related=drug,
                self_harm=d.flag(m, flags[2]),
            )
        )
    return pl.concat(frames)


def nhs_mh(d: Draw) -> pl.DataFrame:
    idx = d.people("mental_health", 0.9, 2)
    return d.frame(idx, "referral_date", True, primary_reason=d.pick(nhs.MH_REASONS, len(idx)))


def nhs_treatment(d: Draw) -> pl.DataFrame:
    idx = d.people("substance", 0.7, 1)
    m = len(idx)
    frame = d.frame(idx, "triage_date", True, substance=d.pick(nhs.SUBSTANCES, m))
    ended = d.rng.random(m) < 0.4
    return frame.with_columns(
        discharge_date=pl.when(pl.lit(pl.Series(ended))).then(
            pl.col("triage_date") + pl.duration(days=90)
        )
    )


def council_homelessness(d: Draw) -> pl.DataFrame:
    idx = d.people("homelessness", 1.0, 2)
    m = len(idx)
    da = d.pop["need_domestic_abuse"].to_numpy()[idx] & (d.rng.random(m) < 0.3)
    others = [r for r in council.HOMELESS_REASONS if r != "domestic_abuse"]
    reason = np.where(da, "domestic_abuse", d.pick(others, m))
    return d.frame(
        idx,
        "decision_date",
        True,
        duty_type=d.pick(council.DUTY_TYPES, m),
        reason=reason,
        support_need_mental_health=d.flag(m, 0.3),
        support_need_substance=d.flag(m, 0.25),
    )


def council_social_care(d: Draw) -> pl.DataFrame:
    frames = []
    for need, p, reasons in (
        ("mental_health", 0.2, ("mental_health_support",)),
        ("substance", 0.15, ("substance_misuse_support",)),
        (None, 0.03, ("physical_support", "carer_support", "other")),
    ):
        idx = d.people(need, p, 1)
        frames.append(
            d.frame(idx, "contact_date", need is not None, contact_reason=d.pick(reasons, len(idx)))
        )
    return pl.concat(frames)


def dwp_claims(d: Draw) -> pl.DataFrame:
    frames = []
    for need, p, regimes, lcw in (
        (
            "worklessness",
            1.0,
            (
                "intensive_work_search",
                "no_work_requirements",
                "work_preparation",
                "work_focused_interview",
            ),
            0.4,
        ),
        (None, 0.1, ("light_touch", "working_enough"), 0.0),
    ):
        idx = d.people(need, p, 1)
        m = len(idx)
        frames.append(
            d.frame(
                idx,
                "claim_start",
                need is not None,
                regime=d.pick(regimes, m),
                limited_capability_for_work=d.flag(m, lcw),
            )
        )
    return pl.concat(frames).with_columns(claim_end=pl.lit(None, dtype=pl.Date))


BUILDERS = {
    ("police", "crimes"): police_crimes,
    ("nhs", "ae_attendances"): nhs_ae,
    ("nhs", "mh_referrals"): nhs_mh,
    ("nhs", "treatment_episodes"): nhs_treatment,
    ("council", "homelessness_cases"): council_homelessness,
    ("council", "social_care_contacts"): council_social_care,
    ("dwp", "uc_claims"): dwp_claims,
}


def format_extract(rows: pl.DataFrame, ex: Extract) -> pl.DataFrame:
    """Render every column as the partner's system writes it: text in the contract's formats."""
    out = []
    for col in ex.columns:
        src = "dob" if col.identity == "dob" else col.name
        expr = pl.col(src)
        if col.dtype == "date":
            expr = expr.dt.strftime(col.date_format) if rows.schema[src] == pl.Date else expr
        if col.identity == "sex":
            expr = (
                expr.replace_strict(NHS_SEX, default="X")
                if ex.partner == "nhs"
                else expr.fill_null("U")
            )
        out.append(expr.cast(pl.String).alias(col.name))
    return rows.select(out)


def write_extract(df: pl.DataFrame, ex: Extract, folder: Path) -> Path:
    path = folder / ex.file
    if path.suffix == ".parquet":
        df.write_parquet(path)
    else:
        df.write_csv(path, separator=ex.delimiter, include_bom=ex.partner == "council")
    return path


def write_manifest(folder: Path, partner: str, files: dict[str, int], as_of: dt.date) -> None:
    entries = {
        name: {"rows": rows, "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()}
        for name, rows in files.items()
    }
    manifest = {"partner": partner, "extract_date": as_of.isoformat(), "files": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def synthesise(
    people: int,
    seed: int,
    out: Path,
    as_of: dt.date,
    progress: Progress = lambda _m: None,
    noise: str = "default",
) -> dict[str, int]:
    """Generate every partner's extract; returns rows written per partner/extract."""
    version_of, slips = NOISE[noise]
    rng = np.random.default_rng(seed)
    progress(f"drawing {people:,} synthetic people ({noise} noise)")
    pop = population(rng, people, as_of)
    if noise == "realistic":
        pop = synth_realistic.lookalikes(pop, rng)
    draw = Draw(pop, rng, as_of)
    events = {key: build(draw) for key, build in BUILDERS.items()}
    with_nhs = np.unique(
        np.concatenate(
            [e["person_idx"].to_numpy() for (p, _), e in events.items() if p in ("nhs", "council")]
        )
    )
    numbers = pl.DataFrame(
        {"person_idx": with_nhs.astype(np.uint32), "nhs_number": nhs_numbers(rng, len(with_nhs))}
    )
    pop = pop.with_row_index("person_idx").join(numbers, on="person_idx", how="left")
    written, truth = {}, []
    for partner in ("police", "nhs", "council", "dwp"):
        progress(f"writing {partner} extracts")
        folder = out / "landing" / partner
        folder.mkdir(parents=True, exist_ok=True)
        version = version_of(pop, rng)
        files = {}
        for ex in (e for e in all_extracts() if e.partner == partner):
            rows, refs = _records(events[(partner, ex.name)], version, ex, rng, slips)
            truth.append(refs)
            formatted = format_extract(rows, ex)
            write_extract(formatted, ex, folder)
            files[ex.file] = written[f"{partner}/{ex.name}"] = formatted.height
        write_manifest(folder, partner, files, as_of)
    progress("writing the national data opt-out list")
    write_optout(out / "optout", _opted_out(pop, rng), as_of - dt.timedelta(days=3))
    (out / "ground_truth").mkdir(parents=True, exist_ok=True)
    pl.concat(truth).write_parquet(out / "ground_truth" / "records.parquet")
    return written


def _opted_out(pop: pl.DataFrame, rng: np.random.Generator, rate: float = 0.03) -> list[str]:
    """About 3% of people with an NHS number have registered a national data opt-out."""
    numbers = pop["nhs_number"].drop_nulls()
    return numbers.filter(pl.Series(rng.random(numbers.len()) < rate)).sort().to_list()


def _records(
    events: pl.DataFrame,
    version: pl.DataFrame,
    ex: Extract,
    rng: np.random.Generator,
    slips=synth_noise.row_slips,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = events.join(version, on="person_idx", how="left")
    rows = rows.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(2**31)))
    prefix = ex.name[:2].upper()
    rows = rows.with_columns(
        record_ref=pl.format(
            "{}{}", pl.lit(prefix), pl.int_range(pl.len()).cast(pl.String).str.zfill(9)
        )
    )
    if ex.partner != "nhs" and "nhs_number" in ex.column_names:  # council: often unknown
        rows = rows.with_columns(
            nhs_number=pl.when(pl.lit(pl.Series(rng.random(rows.height) < 0.6)))
            .then(None)
            .otherwise("nhs_number")
        )
    rows = duplicates(slips(rows, rng), rng)
    rows = format_extract_dates(rows, ex)
    rows = broken_rows(rows, rng, ex.event_date)
    refs = rows.select(
        pl.lit(ex.partner).alias("partner"),
        pl.lit(ex.name).alias("extract"),
        "record_ref",
        "person",
    )
    return rows, refs


def format_extract_dates(rows: pl.DataFrame, ex: Extract) -> pl.DataFrame:
    """Dates to text first, so broken rows can carry text no date parser accepts."""
    dates = [c for c in ex.columns if c.dtype == "date"]
    return rows.with_columns(
        (pl.col("dob") if c.identity == "dob" else pl.col(c.name))
        .dt.strftime(c.date_format)
        .alias("dob" if c.identity == "dob" else c.name)
        for c in dates
    )
