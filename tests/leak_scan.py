"""A scanner for raw identifier values in files the pipeline writes (GX results, Data Docs)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polars as pl

from schemas.registry import all_partners

# Values shorter than this are skipped: they occur in any page by chance (a two-letter name).
MIN_LENGTH = 5


@cache
def markup_words() -> frozenset[str]:
    """Every word the pages show by design: GX's own templates and styles (`white` in
    `white-space`) and the committed suites (column names, allowed codes such as `carer_support`,
    patterns). A name that is also one of these cannot be told apart, so it is skipped."""
    import great_expectations

    from flows.gx_project import REPO_GX

    view = Path(great_expectations.__file__).parent / "render" / "view"
    sources = [p for p in view.rglob("*") if p.suffix in {".j2", ".css", ".js", ".html"}]
    sources += list((REPO_GX / "expectations").rglob("*.json"))
    words: set[str] = set()
    for path in sources:
        if path.is_file():
            words |= set(re.findall(r"[A-Za-z0-9]+", path.read_text(errors="replace")))
    return frozenset(words)


def landing_identifiers(landing: Path, skip_markup: bool = True) -> set[str]:
    """Every raw identifier value in the landing files: names, dates of birth, postcodes, NHS
    numbers, NINOs, other ids and record references, as sent and stripped (less the few that
    are words of GX's page markup)."""
    values: set[str] = set()
    for partner in all_partners():
        for ex in partner.extracts:
            path = landing / partner.name / ex.file
            if not path.exists():
                continue
            if path.suffix == ".parquet":
                df = pl.read_parquet(path)
            else:
                df = pl.read_csv(path, separator=ex.delimiter, infer_schema=False)
            df = df.rename({c: c.lstrip("\ufeff") for c in df.columns})
            columns = ["record_ref", *(c for r, c in ex.identity_columns.items() if r != "sex")]
            for col in columns:
                for v in df[col].cast(pl.String).drop_nulls().to_list():
                    values |= {v, v.strip()}
    skip = markup_words() if skip_markup else frozenset()
    return {v for v in values if len(v) >= MIN_LENGTH and v.strip() not in skip}


def scanned_files(*folders: Path) -> list[Path]:
    return sorted(
        p for f in folders for p in f.rglob("*") if p.is_file() and p.suffix in {".html", ".json"}
    )


def hits(files: list[Path], values: set[str]) -> dict[str, int]:
    """file -> how many of the values it contains (as a whole token). Empty when clean."""
    pattern = re.compile(
        r"(?<![A-Za-z0-9_])(?:"
        + "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
        + r")(?![A-Za-z0-9_])"
    )
    found = {}
    for path in files:
        n = len(set(pattern.findall(path.read_text(errors="replace"))))
        if n:
            found[str(path)] = n
    return found
