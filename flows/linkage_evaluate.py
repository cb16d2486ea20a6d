"""`mcn linkage evaluate --config FILE`: measure the linker on any files with a known truth.

The files are pseudonymised under a throwaway random key exactly as the pipeline does (the same
canonical forms, match keys and field tokens), then linked, and scored against the column that
names the true entity. This is how an analyst checks linkage on a clerically reviewed sample.

Config (YAML or JSON):

    link_type: dedupe_and_link    # default: every pair counts; link_only: only pairs across files
    files:
      - path: left.csv            # CSV or Parquet; paths relative to the config file
        delimiter: ","            # CSV only (default ",")
        truth: entity_id          # column naming the true entity
        columns:                  # identity field -> column(s) in this file; all optional
          forename: first_name
          surname: last_name
          full_name: name         # first word forename, last word surname (titles dropped)
          dob: birth_date
          dob_format: "%m/%d/%Y"  # strftime format of dob (default %Y-%m-%d)
          sex: gender
          postcode: zip           # UK or any other postal code
          address: [line1, line2] # address lines: exact and Bloom-filter (Dice) evidence
          nhs_number: nhs_no
          nino: ni
          other_id: member_id
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from governance import canonical as canon
from governance.agreement import Agreement, Policy
from governance.keys import SecretKey
from governance.pseudonymise import apply_policy
from schemas.contract import Column, Extract
from schemas.errors import SchemaError
from transforms.evaluate import pairwise_quality
from transforms.link import TOKEN_COLUMNS, as_codes, link_records

ROLES = ("forename", "surname", "dob", "sex", "postcode", "nhs_number", "nino", "other_id")


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    forename: str | None = Field(None, description="Given name column.")
    surname: str | None = Field(None, description="Family name column.")
    full_name: str | None = Field(None, description="Whole name column (first word, last word).")
    dob: str | None = Field(None, description="Date of birth column.")
    dob_format: str = Field("%Y-%m-%d", description="strftime format of the date of birth.")
    sex: str | None = Field(None, description="Sex column (M/F, male/female, 1/2).")
    postcode: str | None = Field(None, description="Postal code column, any country.")
    address: list[str] | None = Field(None, description="Address line columns.")
    nhs_number: str | None = Field(None, description="NHS number column.")
    nino: str | None = Field(None, description="National Insurance number column.")
    other_id: str | None = Field(None, description="Any other unique identifier column.")


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: Path = Field(description="CSV or Parquet file.")
    delimiter: str = Field(",", description="CSV delimiter.")
    truth: str = Field(description="Column naming the true entity.")
    format: Literal["csv", "parquet"] | None = Field(None, description="Default: from suffix.")
    columns: Mapping = Field(description="Identity field -> column.")


class EvaluationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[Source] = Field(min_length=1, description="Two or more files to link.")
    link_type: Literal["dedupe_and_link", "link_only"] = Field(
        "dedupe_and_link",
        description="link_only: score only pairs of records from different files (two files "
        "each free of duplicates, as FEBRL4); dedupe_and_link: every pair.",
    )


def load_config(path: Path) -> EvaluationConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text())
        config = EvaluationConfig.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        detail = (
            "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_input=False)
            )
            if isinstance(exc, ValidationError)
            else type(exc).__name__
        )
        raise SchemaError(
            f"linkage evaluation config is not valid ({detail})",
            str(path),
            "see `mcn linkage evaluate --help` for its shape",
        ) from None
    if config.link_type == "link_only" and len(config.files) < 2:
        raise SchemaError(
            "link_type link_only scores pairs across files, and the config lists one file",
            str(path),
            "list two or more files, or use link_type dedupe_and_link",
        )
    for source in config.files:
        if not source.path.is_absolute():
            source.path = Path(path).parent / source.path
    return config


def _read(source: Source) -> pl.DataFrame:
    kind = source.format or ("parquet" if source.path.suffix == ".parquet" else "csv")
    try:
        if kind == "parquet":
            return pl.read_parquet(source.path).with_columns(pl.all().cast(pl.String))
        return pl.read_csv(source.path, separator=source.delimiter, infer_schema=False)
    except Exception as exc:  # noqa: BLE001 - reader messages can quote a line: never passed on
        raise SchemaError(
            f"file could not be read ({type(exc).__name__})",
            str(source.path),
            "check the path, format and delimiter in the config",
        ) from None


def standard_rows(source: Source, label: str) -> pl.DataFrame:
    """The file's identity columns under standard names, plus record_ref and truth."""
    df, m = _read(source), source.columns
    wanted = [
        c
        for c in (
            m.forename,
            m.surname,
            m.full_name,
            m.dob,
            m.sex,
            m.postcode,
            m.nhs_number,
            m.nino,
            m.other_id,
            source.truth,
            *(m.address or []),
        )
        if c
    ]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise SchemaError(
            f"columns not in the file: {', '.join(missing)}",
            str(source.path),
            "fix the column names in the config",
        )
    out = {
        "record_ref": pl.format("{}-{}", pl.lit(label), pl.int_range(pl.len())),
        "truth": pl.col(source.truth),
    }
    words = canon.name_words(pl.col(m.full_name)) if m.full_name else None
    # a one-word full name is a surname: its word is not also the forename ("Clarke" is not
    # "Clarke Clarke", whose forename token would be rare and link every Clarke to it)
    given = pl.when(words.list.len() > 1).then(words.list.first()) if words is not None else None
    out["forename"] = pl.col(m.forename) if m.forename else given
    out["surname"] = (
        pl.col(m.surname) if m.surname else (words.list.last() if words is not None else None)
    )
    for role, col in (
        ("date_of_birth", m.dob),
        ("sex", m.sex),
        ("nhs_number", m.nhs_number),
        ("nino", m.nino),
        ("other_id", m.other_id),
    ):
        out[role] = pl.col(col) if col else None
    if m.address:
        out["address"] = pl.concat_str(
            [pl.col(c) for c in m.address], separator=" ", ignore_nulls=True
        )
    out["postcode"] = pl.col(m.postcode) if m.postcode else None
    return df.select(expr.alias(name) for name, expr in out.items() if expr is not None)


def _extract(rows: pl.DataFrame, label: str, dob_format: str) -> tuple[Extract, Policy]:
    roles = {
        "forename": "forename",
        "surname": "surname",
        "date_of_birth": "dob",
        "sex": "sex",
        "postcode": "postcode",
        "address": "address",
        "nhs_number": "nhs_number",
        "nino": "nino",
        "other_id": "other_id",
    }
    columns = [Column("record_ref", "str", "Row reference.", required=True)] + [
        Column(
            c,
            "date" if c == "date_of_birth" else "str",
            c,
            identity=roles[c],
            date_format=dob_format if c == "date_of_birth" else None,
        )
        for c in rows.columns
        if c in roles
    ]
    ex = Extract("evaluation", label, label, "evaluation file", tuple(columns), "record_ref")
    agreement = Agreement.model_construct(valid_from=dt.date.min, valid_to=dt.date.max)
    treatments = {c.name: ("keep" if c.name == "record_ref" else "pseudonymise") for c in columns}
    return ex, Policy.model_construct(
        partner="evaluation", agreement=agreement, extracts={label: treatments}
    )


def evaluate(config: EvaluationConfig) -> dict:
    """Pseudonymise (throwaway key), link and score; stage timings in seconds."""
    timings, start = {}, time.perf_counter()
    key = SecretKey.from_hex(secrets.token_hex(32), "throwaway")
    sources = [(f"f{i}", s) for i, s in enumerate(config.files)]
    rows = {label: standard_rows(source, label) for label, source in sources}
    timings["read"] = time.perf_counter() - start
    staged, truth = [], []
    for label, source in sources:
        ex, policy = _extract(rows[label].drop("truth"), label, source.columns.dob_format)
        staged.append(apply_policy(rows[label].drop("truth"), ex, policy, key, dt.date.today()))
        truth.append(rows[label].select("record_ref", "truth").with_columns(extract=pl.lit(label)))
    timings["pseudonymise"] = time.perf_counter() - start - timings["read"]
    records = pl.concat(staged, how="diagonal_relaxed")
    records = records.with_columns(
        pl.lit(None, pl.String).alias(c) for c in TOKEN_COLUMNS if c not in records.columns
    )
    t = time.perf_counter()
    linkage = link_records(as_codes(records.select("record_key", *TOKEN_COLUMNS)), key=key)
    timings["link"] = time.perf_counter() - t
    assigned = (
        records.select("record_key", "extract", "record_ref")
        .join(linkage.links, on="record_key")
        .join(pl.concat(truth), on=["extract", "record_ref"])
    )
    quality = pairwise_quality(
        assigned, across="extract" if config.link_type == "link_only" else None
    )
    quality["link_type"] = config.link_type
    quality["linked_pairs_by_rule"] = dict(
        linkage.pairs.group_by("rule").len().sort("rule").iter_rows()
    )
    model = linkage.model
    quality["model"] = None if model is None else model.summary()
    quality["seconds"] = {k: round(v, 3) for k, v in timings.items()}
    quality["seconds"]["total"] = round(time.perf_counter() - start, 3)
    return quality


def write_json(result: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(result, indent=2) + "\n")
