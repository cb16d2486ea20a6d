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
from flows.synth_draw import Draw, PartnerSynth
from flows.synth_noise import broken_rows, duplicates
from flows.synth_people import nhs_numbers, nhs_test_pool, population
from governance.optout import write_optout
from schemas.cohort import DEFAULT_LOOKBACK_DAYS, NEEDS
from schemas.contract import Extract
from schemas.registry import partner, partner_module, partner_names

Progress = Callable[[str], None]
# Noise models: how each partner records a person, and the slips made typing each record.
NOISE = {
    "default": (synth_noise.partner_version, synth_noise.row_slips),
    "realistic": (synth_realistic.partner_version, synth_realistic.row_slips),
}


def partner_synth(name: str) -> PartnerSynth:
    """The partner's generator, from its own module (flows/partners/<name>.py)."""
    synth: PartnerSynth = partner_module(name, "flows").SYNTH
    return synth


def format_extract(rows: pl.DataFrame, ex: Extract) -> pl.DataFrame:
    """Render every column as the partner's system writes it: text in the contract's formats."""
    out = []
    for col in ex.columns:
        src = "dob" if col.identity == "dob" else col.name
        expr = pl.col(src)
        if col.dtype == "date":
            expr = expr.dt.strftime(col.date_format) if rows.schema[src] == pl.Date else expr
        if col.identity == "sex":
            synth = partner_synth(ex.partner)
            expr = expr.replace_strict(synth.sex_codes, default=synth.sex_unknown)
        out.append(expr.cast(pl.String).alias(col.name))
    return rows.select(out)


def write_extract(df: pl.DataFrame, ex: Extract, folder: Path) -> Path:
    path = folder / ex.file
    if path.suffix == ".parquet":
        df.write_parquet(path)
    else:
        df.write_csv(path, separator=ex.delimiter, include_bom=partner_synth(ex.partner).bom)
    return path


def write_manifest(folder: Path, partner: str, files: dict[str, int], as_of: dt.date) -> None:
    entries = {
        name: {"rows": rows, "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()}
        for name, rows in files.items()
    }
    manifest = {"partner": partner, "extract_date": as_of.isoformat(), "files": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


HISTORY_EXTRA_DAYS = 92  # with events_until: nights up to three months before it


def synthesise(
    people: int,
    seed: int,
    out: Path,
    as_of: dt.date,
    progress: Progress = lambda _m: None,
    noise: str = "default",
    events_until: dt.date | None = None,
) -> dict[str, int]:
    """Generate every partner's extract; returns rows written per partner/extract.

    `events_until` (default `as_of`): the day the synthetic people's history runs to. An
    extract as of an earlier day holds only the events up to `as_of`, so two extracts of the
    same seed and `events_until` a month apart show the same people a month apart: events
    enter the later one, and older ones leave the lookback (`mcn cohort diff`). With it, need
    events spread over the lookback and HISTORY_EXTRA_DAYS before it, so every night in those
    months has people entering and leaving."""
    version_of, slips = NOISE[noise]
    until = events_until or as_of
    if until < as_of:
        raise ValueError("events_until is before as_of")
    rng = np.random.default_rng(seed)
    progress(f"drawing {people:,} synthetic people ({noise} noise)")
    pop = population(rng, people, until)
    if noise == "realistic":
        pop = synth_realistic.lookalikes(pop, rng)
    recent = DEFAULT_LOOKBACK_DAYS + (HISTORY_EXTRA_DAYS if events_until else 0)
    draw = Draw(pop, rng, until, recent)
    events = {
        (name, ex): build(draw)
        for name in partner_names()
        for ex, build in partner_synth(name).builders.items()
    }
    with_nhs = np.unique(
        np.concatenate(
            [
                e["person_idx"].to_numpy()
                for (p, ex), e in events.items()
                if "nhs_number" in partner(p).extract(ex).identity_columns
            ]
        )
    )
    capacity = len(nhs_test_pool())
    if len(with_nhs) > capacity:
        # Past about 3 million people the test range runs out. The people it cannot number
        # (chosen at random) have no NHS number anywhere, and no records in the extracts that
        # require one (a record without would only be quarantined): those extracts are smaller
        # than their share at that size. Scale benchmarks are what such sizes are for.
        with_nhs = np.sort(rng.choice(with_nhs, size=capacity, replace=False))
        numbered = pl.Series("person_idx", with_nhs.astype(np.uint32))
        dropped = 0
        for (p, ex), e in events.items():
            extract = partner(p).extract(ex)
            name = extract.identity_columns.get("nhs_number")
            if name is not None and extract.column(name).required:
                kept = e.filter(pl.col("person_idx").cast(pl.UInt32).is_in(numbered.implode()))
                dropped += e.height - kept.height
                events[(p, ex)] = kept
        progress(
            f"the NHS test range holds {capacity:,} valid numbers, fewer than the people who "
            f"need one: the rest have no NHS number, and {dropped:,} records of extracts that "
            "require an NHS number were not written"
        )
    numbers = pl.DataFrame(
        {"person_idx": with_nhs.astype(np.uint32), "nhs_number": nhs_numbers(rng, len(with_nhs))}
    )
    pop = pop.with_row_index("person_idx").join(numbers, on="person_idx", how="left")
    written, truth = {}, []
    for name in partner_names():
        progress(f"writing {name} extracts")
        folder = out / "landing" / name
        folder.mkdir(parents=True, exist_ok=True)
        version = version_of(pop, rng)
        files = {}
        for ex in partner(name).extracts:
            rows, refs = _records(events[(name, ex.name)], version, ex, rng, slips, as_of)
            truth.append(refs)
            formatted = format_extract(rows, ex)
            if noise == "realistic":
                formatted = synth_realistic.as_written(formatted, ex, partner_synth(name))
            write_extract(formatted, ex, folder)
            files[ex.file] = written[f"{name}/{ex.name}"] = formatted.height
        write_manifest(folder, name, files, as_of)
    progress("writing the national data opt-out list")
    write_optout(out / "optout", _opted_out(pop, rng), as_of - dt.timedelta(days=3))
    (out / "ground_truth").mkdir(parents=True, exist_ok=True)
    pl.concat(truth).write_parquet(out / "ground_truth" / "records.parquet")
    pop.select("person", *[f"need_{n}" for n in NEEDS]).write_parquet(
        out / "ground_truth" / "people.parquet"
    )
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
    as_of: dt.date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = events.join(version, on="person_idx", how="left")
    rows = rows.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(2**31)))
    prefix = ex.name[:2].upper()
    rows = rows.with_columns(
        record_ref=pl.format(
            "{}{}", pl.lit(prefix), pl.int_range(pl.len()).cast(pl.String).str.zfill(9)
        )
    )
    known = partner_synth(ex.partner).nhs_number_known
    if known < 1 and "nhs_number" in ex.column_names:
        rows = rows.with_columns(
            nhs_number=pl.when(pl.lit(pl.Series(rng.random(rows.height) < 1 - known)))
            .then(None)
            .otherwise("nhs_number")
        )
    rows = duplicates(slips(rows, rng), rng)
    day = pl.col(ex.event_date)
    rows = format_extract_dates(rows.with_columns(day.alias("_event_day")), ex)
    rows = broken_rows(rows, rng, ex.event_date)
    # Events after the extract's date are not in it yet. Filtered last, so every draw above is
    # the same whatever the date: an event has the same reference in every extract showing it.
    if as_of is not None:
        rows = rows.filter(pl.col("_event_day") <= as_of)
    rows = rows.drop("_event_day")
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
