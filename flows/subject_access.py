"""Subject access (Article 15) and objection (Article 21): finding one person's records.

The person's identifiers become keyed tokens (governance.subject) and only tokens are compared:
raw rows in landing/ and quarantine/ are tokenised here as the ingest would, staged and vault
files already hold tokens and record keys. The pack lists zones, files, counts, partner record
references and cohort needs: never an identifier that was typed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from flows.config import Zones
from flows.io import read_manifest
from flows.reader import parse_csv, parse_parquet
from flows.staging import staged_files, vault_for
from governance.keys import SecretKey
from governance.subject import matches, raw_tokens
from schemas.contract import Extract
from schemas.registry import all_extracts


@dataclass
class Holding:
    zone: str
    partner: str
    extract: str
    where: str  # path relative to the data directory
    records: int
    record_refs: list[str] = field(default_factory=list)


@dataclass
class Pack:
    holdings: list[Holding]
    person_ids: list[str]
    needs: list[dict]

    def zones(self) -> list[str]:
        return sorted({h.zone for h in self.holdings})


def _raw_frame(path: Path, ex: Extract) -> pl.DataFrame | None:
    try:
        if path.suffix == ".parquet":
            return parse_parquet(path, ex, str(path)).rows
        manifest = read_manifest(path.parent)
        encoding = manifest.get(ex.file, {}).get("encoding") or ex.encoding
        return parse_csv(path.read_bytes(), ex, encoding, str(path)).rows
    except Exception:  # noqa: BLE001 - an unreadable drop holds nothing we can find
        return None


def _refs(frame: pl.DataFrame, hit: pl.Series) -> list[str]:
    if "record_ref" not in frame.columns:
        return []
    return sorted(str(v) for v in frame.filter(hit)["record_ref"].drop_nulls().to_list())


def _raw_holding(zones: Zones, zone: str, path: Path, ex: Extract, tokens, key) -> Holding | None:
    frame = pl.read_parquet(path) if zone == "quarantine" else _raw_frame(path, ex)
    if frame is None or not set(ex.identity_columns.values()) <= set(frame.columns):
        return None
    hit = matches(raw_tokens(frame.select(ex.column_names), ex, key), tokens)
    if not hit.any():
        return None
    rel = str(path.relative_to(zones.root))
    return Holding(zone, ex.partner, ex.name, rel, int(hit.sum()), _refs(frame, hit))


def raw_holdings(zones: Zones, tokens: dict[str, str], key: SecretKey) -> list[Holding]:
    out = []
    for ex in all_extracts():
        landing = zones.landing / ex.partner / ex.file
        places = [("landing", landing)] if landing.exists() else []
        places += [
            ("quarantine", p)
            for p in sorted((zones.quarantine / ex.partner).glob(f"*/{ex.name}.parquet"))
        ]
        for zone, path in places:
            found = _raw_holding(zones, zone, path, ex, tokens, key)
            if found:
                out.append(found)
    return out


def staged_holdings(zones: Zones, tokens: dict[str, str], key: SecretKey) -> tuple[list, set]:
    out, record_keys = [], set()
    for ex in all_extracts():
        for f in staged_files(zones, ex, key):
            frame = pl.read_parquet(f.path)
            hit = matches(frame, tokens)
            if not hit.any():
                continue
            keys = set(frame.filter(hit)["record_key"].to_list())
            record_keys |= keys
            rel = str(f.path.relative_to(zones.root))
            out.append(Holding("staged", ex.partner, ex.name, rel, len(keys), _refs(frame, hit)))
            vault = vault_for(zones, f.path)
            if vault.exists():
                held = pl.read_parquet(vault, columns=["record_key"])
                n = int(held["record_key"].is_in(list(keys)).sum())
                if n:
                    out.append(
                        Holding("vault", ex.partner, ex.name, str(vault.relative_to(zones.root)), n)
                    )
    return out, record_keys


def published_holdings(zones: Zones, record_keys: set) -> tuple[list, list[str], list[dict]]:
    if not zones.links.exists() or not record_keys:
        return [], [], []
    links = pl.read_parquet(zones.links)
    persons = sorted(set(links.filter(pl.col("record_key").is_in(list(record_keys)))["person_id"]))
    mine = links.filter(pl.col("person_id").is_in(persons))
    out = [
        Holding(
            "published links",
            partner,
            extract,
            str(zones.links.relative_to(zones.root)),
            group.height,
            sorted(str(r) for r in group["record_ref"].to_list()),
        )
        for (partner, extract), group in mine.group_by(["partner", "extract"], maintain_order=True)
    ]
    cohort = pl.read_parquet(zones.cohort).filter(pl.col("person_id").is_in(persons))
    needs = cohort.select("person_id", "mcn_flag", pl.col("^need_.*$")).to_dicts()
    if cohort.height:
        rel = str(zones.cohort.relative_to(zones.root))
        out.append(Holding("published cohort", "-", "cohort", rel, cohort.height))
    pairs = pl.read_parquet(zones.link_pairs)
    keys = mine["record_key"].implode()
    touched = pairs.filter(pl.col("record_key_l").is_in(keys) | pl.col("record_key_r").is_in(keys))
    if touched.height:
        rel = str(zones.link_pairs.relative_to(zones.root))
        out.append(Holding("published link pairs", "-", "link_pairs", rel, touched.height))
    return out, persons, needs


def find_subject(zones: Zones, tokens: dict[str, str], key: SecretKey) -> Pack:
    """Every zone holding records about the person the tokens stand for."""
    raw = raw_holdings(zones, tokens, key)
    staged, record_keys = staged_holdings(zones, tokens, key)
    published, persons, needs = published_holdings(zones, record_keys)
    return Pack(raw + staged + published, persons, needs)
