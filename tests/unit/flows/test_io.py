import json

import polars as pl
import pytest

from flows.io import read_extract, read_manifest, sha256_file, write_parquet_atomic
from schemas import council, dwp
from schemas.errors import SchemaError

SECRET = "Zebedee"  # a value that must never appear in an error


def _drop(folder, ex, text: str, rows: int | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ex.file
    path.write_bytes(text.encode("utf-8"))
    entry = {
        "rows": rows if rows is not None else text.count("\n") - 1,
        "sha256": sha256_file(path),
    }
    (folder / "manifest.json").write_text(json.dumps({"files": {ex.file: entry}}))
    return read_manifest(folder)


def _csv(ex, sep=",", bom=False, extra_line=""):
    header = sep.join(ex.column_names)
    row = sep.join(SECRET if c == "surname" else "x" for c in ex.column_names)
    return ("\ufeff" if bom else "") + f"{header}\n{row}\n{extra_line}"


def test_reads_csv_with_bom_as_text(tmp_path):
    manifest = _drop(tmp_path, council.SOCIAL_CARE, _csv(council.SOCIAL_CARE, bom=True))
    df, content = read_extract(tmp_path, council.SOCIAL_CARE, manifest)
    assert df.columns == council.SOCIAL_CARE.column_names and df.height == 1
    assert all(t == pl.String for t in df.schema.values()) and len(content) == 64


def test_wrong_delimiter_names_the_file_and_the_fix_but_no_value(tmp_path):
    manifest = _drop(tmp_path, dwp.UC_CLAIMS, _csv(dwp.UC_CLAIMS, sep=","))
    with pytest.raises(SchemaError) as info:
        read_extract(tmp_path, dwp.UC_CLAIMS, manifest)
    message = str(info.value)
    assert "uc_claims.csv" in message and "Fix:" in message and SECRET not in message


def test_ragged_line_is_one_clear_error_without_the_line(tmp_path):
    ex = council.SOCIAL_CARE
    too_many = ",".join([SECRET] * (len(ex.column_names) + 3))
    manifest = _drop(tmp_path, ex, _csv(ex, extra_line=too_many + "\n"), rows=2)
    with pytest.raises(SchemaError) as info:
        read_extract(tmp_path, ex, manifest)
    assert SECRET not in str(info.value)


def test_row_count_must_match_manifest(tmp_path):
    manifest = _drop(tmp_path, council.SOCIAL_CARE, _csv(council.SOCIAL_CARE), rows=5)
    with pytest.raises(SchemaError, match="manifest says 5"):
        read_extract(tmp_path, council.SOCIAL_CARE, manifest)


def test_altered_file_fails_its_checksum(tmp_path):
    manifest = _drop(tmp_path, council.SOCIAL_CARE, _csv(council.SOCIAL_CARE))
    (tmp_path / council.SOCIAL_CARE.file).write_text(_csv(council.SOCIAL_CARE) + "\n")
    with pytest.raises(SchemaError, match="checksum"):
        read_extract(tmp_path, council.SOCIAL_CARE, manifest)


def test_missing_manifest_is_named(tmp_path):
    with pytest.raises(SchemaError, match="manifest.json is missing"):
        read_manifest(tmp_path)


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    write_parquet_atomic(pl.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
