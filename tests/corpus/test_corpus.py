"""The malformed-extract corpus through the real ingest step (process_extract): every kind, for
two partners, gets its code, and rows in = staged + quarantined + opted out, exactly.

great-expectations takes seconds per suite even on a dozen rows, and its results neither decide
a code nor move a row (the raw suite reports; the staged suite is a gate that clean samples pass),
so most cases run with GX validation stubbed; the cases in REAL_GX run it for real, including
both empty-extract cases.
"""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

from flows.config import Zones
from flows.ingest import ingest_context
from flows.io import read_extract, read_manifest, sha256_file
from flows.reader import RAW_LINE, READER_VERSION, SOURCE_ROW
from flows.stages import process_extract
from flows.staging import staged_files
from governance.keys import load_linkage_key
from governance.optout import load_optout, remove_opted_out
from schemas.codes import CODES
from schemas.errors import ExtractError
from schemas.registry import partner as partner_schema
from tests.corpus.kinds import KINDS, RUN_DATE, Sample
from transforms.quality import reason_counts, split_rows

BASE_ROWS = 12
REAL_GX = {
    "header_only-police.crimes",
    "header_only-nhs.ae_attendances",
    "extra_fields-dwp.uc_claims",
    "exact_duplicates-nhs.ae_attendances",
}
IDENTIFYING = ("forename", "surname", "postcode", "nhs_number", "nino", "record_ref")
CASES = [
    pytest.param(kind, variant, id=f"{kind.name}-{variant.replace('/', '.')}")
    for kind in KINDS
    for variant in kind.variants
]


def _extract(variant: str):
    partner, name = variant.split("/")
    return partner_schema(partner).extract(name)


@pytest.fixture(scope="session")
def clean_rows(synthetic_dir) -> dict:
    """Per extract: BASE_ROWS rows that pass every check, then (where the national data opt-out
    applies) one row whose NHS number is on the opt-out list; and how many of those."""
    optout = load_optout(synthetic_dir / "optout")
    out = {}
    for variant in {v for kind in KINDS for v in kind.variants}:
        ex = _extract(variant)
        landing = synthetic_dir / "landing" / ex.partner
        read, _ = read_extract(landing, ex, read_manifest(landing))
        good, _ = split_rows(read.rows.drop(SOURCE_ROW), ex, RUN_DATE)
        if ex.national_data_opt_out:
            kept = remove_opted_out(good, ex, optout).kept
            listed = good.join(kept, on="record_ref", how="anti").head(1)
            out[variant] = (pl.concat([kept.head(BASE_ROWS), listed]), listed.height)
        else:
            if "nhs_number" in ex.column_names:  # council: keep rows that have a number
                good = good.filter(pl.col("nhs_number").is_not_null())
            out[variant] = (good.head(BASE_ROWS), 0)
    return out


@pytest.fixture
def world(tmp_path, synthetic_dir, dev_keys, request, monkeypatch):
    if request.node.callspec.id not in REAL_GX:
        monkeypatch.setattr("flows.checks.validate", lambda *args, **kwargs: [])
    root = tmp_path / "data"
    root.mkdir()
    shutil.copytree(synthetic_dir / "optout", root / "optout")
    return root


def ingest(root, ex, run_id: str = "run-1"):
    manifest = read_manifest(root / "landing" / ex.partner)
    return process_extract(ingest_context(str(root), ex.partner, RUN_DATE, run_id), ex, manifest)


def _values(rows: pl.DataFrame) -> set[str]:
    """Raw values of the sample that must appear in no message, count, log or audit entry."""
    cols = [c for c in IDENTIFYING if c in rows.columns]
    return {v for c in cols for v in rows[c].drop_nulls().to_list() if len(v.strip()) > 4}


def _texts(root, counts=None, error=None) -> list[str]:
    texts = [json.dumps(counts.as_dict())] if counts is not None else []
    texts += [str(error)] if error is not None else []
    for folder in ("audit", "runs", "staged"):
        texts += [
            p.read_text() for p in (root / folder).rglob("*") if p.suffix in (".json", ".jsonl")
        ]
    return texts


@pytest.mark.parametrize(("kind", "variant"), CASES)
def test_every_kind_gets_its_code_and_exact_row_accounting(
    kind, variant, world, clean_rows, caplog
):
    ex = _extract(variant)
    rows, opted_out = clean_rows[variant]
    sample = Sample(world, ex, rows, opted_out)
    secrets = _values(rows)
    assert len(secrets) > 5
    if kind.before is not None:
        kind.before(sample)
        ingest(world, ex, "run-0")
    expect = kind.corrupt(sample)
    if kind.level == "file":
        assert expect is None
        with pytest.raises(ExtractError) as info:
            ingest(world, ex)
        assert info.value.code == kind.code
        assert not (world / "staged").exists() and not (world / "quarantine").exists()
        _assert_no_values(_texts(world, error=info.value) + [caplog.text], secrets)
        return
    contract = expect.contract or ex
    counts = first = ingest(world, contract)
    if kind.twice:
        staged_before = {p.name: sha256_file(p) for p in (world / "staged").rglob("*.parquet")}
        counts = ingest(world, contract, "run-2")
        assert counts.already_staged
        assert staged_before == {
            p.name: sha256_file(p) for p in (world / "staged").rglob("*.parquet")
        }
    assert kind.code in set(counts.notices) | {r.split(":")[0] for r in counts.reasons}
    assert counts.reasons == expect.reasons
    assert counts.rows_in == expect.rows_in
    assert counts.rows_opted_out == (
        sample.opted_out if expect.opted_out is None else expect.opted_out
    )
    assert counts.rows_in == counts.rows_staged + counts.rows_quarantined + counts.rows_opted_out
    _assert_outputs(world, ex, first)
    _assert_no_values(_texts(world, counts) + [caplog.text], secrets)
    if kind.name == "late_file":
        key = load_linkage_key()
        assert [f.meta["extract_date"] for f in staged_files(Zones(world), ex, key)] == [
            sample.extract_date,
            RUN_DATE.isoformat(),
        ], "the newer extract must sort last, so its rows win in the build"


def _assert_outputs(root, ex, counts) -> None:
    """The staged file holds the staged rows; the quarantine file every quarantined row or line,
    with its reason and line number, and raw bytes only for lines that are not rows."""
    staged = [
        p
        for p in (root / "staged" / ex.partner / ex.name).glob("*.parquet")
        if p.name.startswith(counts.content_sha256[:16])
    ]
    assert len(staged) == 1 and pl.read_parquet(staged[0]).height == counts.rows_staged
    assert "ethnicity" not in pl.read_parquet_schema(staged[0])
    quarantine = root / "quarantine" / ex.partner / "run-1" / f"{ex.name}.parquet"
    if not counts.rows_quarantined:
        assert not quarantine.exists()
        return
    q = pl.read_parquet(quarantine)
    assert q.height == counts.rows_quarantined and reason_counts(q) == counts.reasons
    assert q[SOURCE_ROW].is_unique().all() and q[SOURCE_ROW].is_not_null().all()
    line_level = q["quarantine_reason"].is_in([c for c, v in CODES.items() if v.level == "line"])
    if RAW_LINE in q.columns:
        assert (q[RAW_LINE].is_not_null() == line_level).all()
    else:
        assert not line_level.any()


def _assert_no_values(texts: list[str], secrets: set[str]) -> None:
    for text in texts:
        leaked = [v for v in secrets if v in text]
        assert not leaked, f"{len(leaked)} raw value(s) in an output, message or log"


def test_the_corpus_is_at_least_twenty_kinds_each_for_two_partners_or_two_parquet_extracts():
    assert len(KINDS) >= 20
    for kind in KINDS:
        partners = {v.split("/")[0] for v in kind.variants}
        assert len(set(kind.variants)) == 2
        assert len(partners) == 2 or partners == {"nhs"}, kind.name
        assert CODES[kind.code].level == kind.level, kind.name


@pytest.mark.parametrize("variant", ["police/crimes", "nhs/ae_attendances"])
def test_a_file_is_read_again_once_its_manifest_declares_how_to_read_it(
    variant, world, clean_rows, monkeypatch
):
    """The night's summary asks the partner to declare the NULLs it counted (BLANK_LIKE_VALUES);
    once the manifest declares them, the same file is read again, not "already staged", and
    its staged file replaced: one staged file, read the new way. Unchanged, it is staged once;
    read by an earlier version of the reader, it is read again."""
    ex = _extract(variant)
    rows, opted_out = clean_rows[variant]
    sample = Sample(world, ex, rows, opted_out)
    sample.rows = rows.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("NULL"))
        .otherwise(pl.col("record_ref"))
        .alias("record_ref")
    )
    sample.write()
    sample.seal()
    first = ingest(world, ex)
    assert first.notices.get("BLANK_LIKE_VALUES") == 1 and not first.reasons
    sample.blank_values = ["NULL"]
    sample.seal()  # the same file; only the manifest changed
    second = ingest(world, ex, "run-2")
    assert not second.already_staged and second.notices.get("BLANK_VALUES") == 1
    assert second.reasons == {"MISSING:record_ref": 1}
    assert second.rows_staged == first.rows_staged - 1
    files = staged_files(Zones(world), ex, load_linkage_key())
    assert len(files) == 1
    assert files[0].meta["read_as"] == {"reader": READER_VERSION, "blank_values": ["NULL"]}
    assert pl.read_parquet(files[0].path).height == second.rows_staged
    third = ingest(world, ex, "run-3")
    assert third.already_staged and third.rows_staged == second.rows_staged
    sample.blank_values = [" NULL", "NULL "]  # the same list, spelt another way: read the same
    sample.seal()
    assert ingest(world, ex, "run-4").already_staged
    # a reader that reads some files differently: staged files from the one before are read again
    monkeypatch.setattr("flows.io.READER_VERSION", READER_VERSION + 1)
    fifth = ingest(world, ex, "run-5")
    assert not fifth.already_staged and fifth.rows_staged == second.rows_staged
    assert ingest(world, ex, "run-6").already_staged


@pytest.mark.parametrize(
    ("broken", "code"),
    [
        (lambda line: line + b",stray", "EXTRA_FIELDS"),  # an unquoted comma
        (lambda line: line + b"\x92", "UNDECODABLE_LINE"),  # a cp1252 byte in a UTF-8 file
    ],
    ids=["extra_field", "cp1252_byte"],
)
def test_an_opted_out_persons_broken_line_is_removed_not_kept_in_quarantine(
    broken, code, world, synthetic_dir
):
    """A line that cannot be read as a row is kept whole in quarantine; when it holds an
    opted-out person's NHS number it is removed and counted as opted out instead, so their
    record is never kept because their line was broken (an outside attack found it kept)."""
    ex = _extract("council/social_care_contacts")
    landing = synthetic_dir / "landing" / ex.partner
    read, _ = read_extract(landing, ex, read_manifest(landing))
    good, _ = split_rows(read.rows.drop(SOURCE_ROW), ex, RUN_DATE)
    everyone = remove_opted_out(good, ex, load_optout(synthetic_dir / "optout")).kept
    listed = good.join(everyone, on="record_ref", how="anti").head(1)
    kept = everyone.filter(pl.col("nhs_number").is_not_null()).head(4)
    assert listed.height == 1
    sample = Sample(
        world, ex, pl.concat([kept, listed, kept.head(1).with_columns(record_ref=pl.lit("R-X"))]), 1
    )
    sample.write()
    lines = sample.path.read_bytes().splitlines()
    lines[-2] = broken(lines[-2])  # the opted-out person's line
    lines[-1] = broken(lines[-1])  # and someone else's: kept in quarantine as before
    sample.put(b"\n".join(lines) + b"\n")
    sample.seal()
    counts = ingest(world, ex)
    assert counts.rows_opted_out == 1 and counts.rows_staged == 4
    assert counts.rows_quarantined == 1 and counts.reasons == {code: 1}
    quarantined = pl.read_parquet(next((world / "quarantine").rglob("*.parquet")))
    held = b"".join(quarantined[RAW_LINE].to_list())
    assert listed["nhs_number"][0].encode() not in held
