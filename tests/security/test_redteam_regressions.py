"""The red team's attacks (an outside review of issue 7's safeguards), kept as regressions. Each
docstring says what the attack did when it was found; each test now asserts it fails.

The attacker is the insider of docs/security.md section 1: read and write on every file under
the data directory, none of the keys. Where a test needs an operator step (the nightly run, a
seal, retention) or a granted user's step, it runs that step exactly as they would, through the
real CLI. Synthetic data only. (The review's landing-drop attack, a partner's unsigned drop used
as an oracle for keyed ids, is a documented limit: docs/security.md section 10.)
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from flows.cli import main
from flows.config import Zones
from governance import canonical as canon
from governance.audit import entry_hash, read_entries
from governance.policy import POLICY_DIR
from tests.conftest import (
    RUN_DATE,
    grant_user,
    keep_operator_head,
    set_dev_keys,
    sign_as_every_party,
    sign_optout,
    trust_test_approver,
    vault_sealed_long_ago,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@dataclass
class World:
    data: Path
    work: Path
    analyst: Path
    worker: Path
    mp: pytest.MonkeyPatch


def _run(data: Path, *extra: str) -> int:
    return main(["run", "--data-dir", str(data), "--run-date", str(RUN_DATE), *extra])


def _verify(data: Path, *extra: str) -> int:
    return main(["audit", "verify", "--data-dir", str(data), *extra])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam")
    data, work = root / "data", root / "work"
    mp = pytest.MonkeyPatch()
    set_dev_keys(work / "keys", mp)
    synth = ["synth", "--people", "2500", "--seed", "7", "--out", str(data)]
    assert main([*synth, "--as-of", str(RUN_DATE)]) == 0
    sign_optout(data)
    assert _run(data) == 0
    analyst = grant_user(data, work, mp, "analyst", ["service_planning"], "Test Analyst")
    worker = grant_user(data, work, mp, "mcn_caseworker", ["safeguarding"], "Test Worker")
    yield World(data, work, analyst, worker, mp)
    mp.undo()


@pytest.fixture
def data(world, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(world.data, copy, symlinks=True)
    keep_operator_head(world.data, copy)
    return copy


def _person_with_several_partners(data: Path) -> str:
    cohort = pl.read_parquet(Zones(data).cohort)
    return cohort.filter(pl.col("n_partners") >= 2).sort("person_id")["person_id"][0]


# --- 1. retention follows the insider's paths out of the data directory (HIGH) -----------------


def test_retention_never_deletes_outside_the_data_directory(world, data, tmp_path):
    """Insider: list files outside the data directory in a landing manifest, mark the drop old,
    or plant a symlink in runs/. The operator's `mcn retention apply` deletes them: here a copy
    of the operator's linkage key, an approver's public key, and the audit log itself (a fresh
    log is then started and verifies)."""
    outside = tmp_path / "operator"
    outside.mkdir()
    linkage_copy, approver_copy = outside / "linkage.key", outside / "approver.json"
    linkage_copy.write_text(secrets.token_hex(32) + "\n")
    approver_copy.write_text("{}\n")
    runs_target = tmp_path / "operator-runs-target"
    runs_target.mkdir()
    (runs_target / "vault.key").write_text(secrets.token_hex(64) + "\n")

    manifest = data / "landing" / "police" / "manifest.json"
    m = json.loads(manifest.read_text())
    m["files"] = {
        "../../../operator/approver.json": {"rows": 0, "sha256": "x"},  # ../ traversal
        "../../audit/head.json": {"rows": 0, "sha256": "x"},
        "../../audit/audit.jsonl": {"rows": 0, "sha256": "x"},
        **m["files"],
    }
    m["extract_date"] = "2000-01-01"
    manifest.write_text(json.dumps(m))
    (data / "runs" / "20000101T000000-aaaaaa").symlink_to(runs_target)
    size_before = len(read_entries(data / "audit"))
    retention = ["retention", "apply", "--data-dir", str(data), "--today", str(RUN_DATE)]
    try:
        main(retention)
    except OSError:
        pass  # rmtree refuses the emptied symlinked folder, after the deletions
    size_after = len(read_entries(data / "audit"))
    # an absolute name: Path / "/abs" is "/abs"; the receipt then crashes, after the deletion
    manifest.parent.mkdir(parents=True, exist_ok=True)  # retention removed the emptied folder
    manifest.write_text(json.dumps({**m, "files": {str(linkage_copy): {"rows": 0, "sha256": "x"}}}))
    try:
        main(retention)
    except ValueError:
        pass
    problems = [
        what
        for what, bad in (
            ("deleted a key named by absolute path", not linkage_copy.exists()),
            ("followed ../ out of the data directory", not approver_copy.exists()),
            ("followed a symlink planted in runs/", not (runs_target / "vault.key").exists()),
            ("erased the audit log and restarted it", size_after < size_before),
        )
        if bad
    ]
    assert not problems, f"retention {problems}"


def test_the_pipeline_never_writes_through_a_planted_symlink(world, data, tmp_path):
    """Insider: pre-create the predictable temporary file of the head (`audit/.head.json.tmp`)
    as a symlink to a file outside the data directory. The next seal (here after an analyst's
    query) overwrites that file with the head's JSON, as the operator."""
    canary = tmp_path / "operator-file.txt"
    canary.write_text("the operator's file\n")
    (data / "audit" / ".head.json.tmp").symlink_to(canary)
    sql = "select count(*) from cohort"
    assert main(["query", sql, "--data-dir", str(data), "--key", str(world.analyst)]) == 0
    assert main(["audit", "seal", "--yes", "--data-dir", str(data)]) == 0
    assert canary.read_text() == "the operator's file\n", "seal wrote through the symlink"


# --- 2. the national data opt-out list is not authenticated (HIGH) ------------------------------


def test_an_insider_cannot_take_someone_off_the_opt_out_list(world, data):
    """Insider: delete one NHS number from optout/nhs_numbers.csv and recompute the manifest's
    rows and sha256 (the manifest is the only integrity check and sits beside the list); delete
    the staged NHS files so the next night re-stages them from landing. The opted-out person's
    records are staged, linked and published; the audit log verifies."""
    zones = Zones(data)
    listed = pl.read_csv(zones.optout / "nhs_numbers.csv", infer_schema=False)
    landing = pl.read_parquet(data / "landing" / "nhs" / "ae_attendances.parquet").with_columns(
        number=canon.nhs_number_canonical(pl.col("nhs_number"))
    )
    hit = landing.join(listed, left_on="number", right_on="nhs_number").sort("record_ref")
    victim = hit["number"][0]
    refs = landing.filter(pl.col("number") == victim)["record_ref"].to_list()

    listed.filter(pl.col("nhs_number") != victim).write_csv(zones.optout / "nhs_numbers.csv")
    manifest = json.loads((zones.optout / "manifest.json").read_text())
    manifest["rows"] -= 1
    manifest["sha256"] = hashlib.sha256((zones.optout / "nhs_numbers.csv").read_bytes()).hexdigest()
    (zones.optout / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(data / "staged" / "nhs")

    code = _run(data)
    links = pl.read_parquet(zones.links)
    published = links.filter(pl.col("partner") == "nhs", pl.col("record_ref").is_in(refs))
    assert code != 0 or published.is_empty(), (
        f"opted-out person's records {published['record_ref'].to_list()} are published "
        f"(person {published['person_id'].unique().to_list()}); audit verify: {_verify(data)}"
    )


def test_a_malformed_opt_out_list_never_puts_an_nhs_number_in_an_error(world, data, capsys):
    """Not an attack, a supplier's format: the list arrives without its header line. polars'
    ColumnNotFoundError quotes the first row as the 'valid column' and the exception escapes
    uncaught (exit 1, traceback), so an opted-out person's NHS number reaches stderr, the Prefect
    logs and database, and ~/.prefect/storage (persisted failure state)."""
    optout = data / "optout"
    rows = (optout / "nhs_numbers.csv").read_text().splitlines()[1:]
    (optout / "nhs_numbers.csv").write_text("\n".join(rows) + "\n")
    manifest = json.loads((optout / "manifest.json").read_text())
    manifest["sha256"] = hashlib.sha256((optout / "nhs_numbers.csv").read_bytes()).hexdigest()
    (optout / "manifest.json").write_text(json.dumps(manifest))
    try:
        code, message = _run(data, "--partner", "nhs"), ""
    except Exception as exc:  # noqa: BLE001
        code, message = None, f"{type(exc).__name__}: {exc}"
    out = capsys.readouterr()
    assert rows[0] not in message + out.out + out.err, "an NHS number is in the error"
    assert code == 11


# --- 3. staged-file bindings are unauthenticated (MEDIUM-HIGH) ----------------------------------


def test_a_build_never_uses_a_file_staged_under_an_older_policy(world, data, tmp_path):
    """IG narrows nhs.yaml (sex no longer kept) and re-signs it. Insider: rename the staged
    ae_attendances file made under the old policy to the new binding's name and edit its
    sidecar's policy_sha256. The ingest calls it 'already staged' under the new policy, and the
    build reads the column the agreement no longer allows."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    path = policies / "nhs.yaml"
    keep_sex, drop_sex = "    sex: [pseudonymise, keep]\n", "    sex: pseudonymise\n"
    narrowed = path.read_text().replace(keep_sex, drop_sex)
    path.write_text(narrowed)
    approver = trust_test_approver(world.work, world.mp)
    for p in policies.glob("*.yaml"):
        sign_as_every_party(p, approver, "Test IG officer")
    new_sha = hashlib.sha256(path.read_bytes()).hexdigest()

    for zone in ("staged", "vault"):
        for old in (data / zone / "nhs" / "ae_attendances").glob("*.parquet"):
            content16, _, key_id = old.name.split(".")[:3]
            new = old.with_name(f"{content16}.{new_sha[:12]}.{key_id}.parquet")
            meta = json.loads(old.with_suffix(".json").read_text())
            new.with_suffix(".json").write_text(json.dumps({**meta, "policy_sha256": new_sha}))
            old.with_suffix(".json").unlink()
            old.rename(new)

    world.mp.setenv("MCN_POLICY_DIR", str(policies))
    try:
        code = _run(data)
    finally:
        world.mp.delenv("MCN_POLICY_DIR")
    staged = list((data / "staged" / "nhs" / "ae_attendances").glob("*.parquet"))
    used = [e for e in read_entries(data / "audit") if e["event"] == "cohort"][-1]["inputs"]
    assert code != 0 or not any(
        "sex" in pl.read_parquet_schema(f) and str(f.relative_to(data)) in used for f in staged
    ), "the build used a staged file that still carries a column the new policy drops"


# --- 4. audit log ----------------------------------------------------------------------------


def _forge_unsigned_attempt(data: Path, victim_grant: dict, person: str) -> None:
    log = data / "audit" / "audit.jsonl"
    lines = log.read_text().splitlines()
    last = json.loads(lines[-1])
    entry = {
        "seq": last["seq"] + 1,
        "time": last["time"],
        "event": "reidentify_refused",
        "reason": "G05",
        "person_id": person,
        "purpose": "personal_curiosity",
        "role_asked": "mcn_caseworker",
        "grant": victim_grant,  # a genuine grant, copied from data/grants: no key needed
        "prev": last["hash"],
    }
    entry["hash"] = entry_hash(entry)
    log.write_text("\n".join([*lines, json.dumps(entry, sort_keys=True)]) + "\n")


def test_an_unsigned_entry_cannot_be_attributed_to_a_user(world, data, tmp_path, capsys):
    """Insider, no key: append an UNSIGNED reidentify_refused entry embedding another user's
    genuine grant. verify accepts it (as 'unauthenticated'), the operator's seal describes it as
    'signed by user Test Analyst' and seals it, and the IG report lists it as that user's
    attempt, with their role and grant id."""
    grant = json.loads(next((data / "grants").glob("test-analyst.*.json")).read_text())
    _forge_unsigned_attempt(data, grant, _person_with_several_partners(data))
    capsys.readouterr()
    assert main(["audit", "seal", "--yes", "--data-dir", str(data)]) == 10  # refused outright
    assert _verify(data) == 10
    sealed = capsys.readouterr().out
    out = tmp_path / "report"
    args = ["--from", "2000-01-01", "--to", "2100-01-01", "--out", str(out)]
    assert main(["audit", "report", "--data-dir", str(data), *args]) == 0
    md = next(out.glob("*.md")).read_text()
    reid = md.split("## Re-identification", 1)[1].split("##", 1)[0]
    assert "user Test Analyst" not in sealed, "the seal says the forged entry is signed by them"
    assert "Test Analyst" not in reid, "the IG report attributes the forged attempt to them"


@pytest.mark.parametrize("how", ["cut_before_first_checkpoint", "delete_the_log"])
def test_the_next_run_never_seals_a_cut_back_log(world, data, how):
    """Insider, no key: cut audit.jsonl before its first checkpoint and delete head.json (verify
    now fails: good), or delete audit/ altogether. The next `mcn run` seals what is left (or
    starts a new log) without a word, and verify exits 0 again: the history is gone unless an
    IG officer kept a witness."""
    audit = data / "audit"
    if how == "cut_before_first_checkpoint":
        lines = (audit / "audit.jsonl").read_text().splitlines()
        first = next(i for i, x in enumerate(lines) if json.loads(x)["event"] == "checkpoint")
        (audit / "audit.jsonl").write_text("\n".join(lines[:first]) + "\n")
        (audit / "head.json").unlink()
        assert _verify(data) == 10
    else:
        shutil.rmtree(audit)
    _run(data)
    assert _verify(data) == 10, "the nightly run laundered the cut-back log"


# --- 5. re-identification trusts unauthenticated files (MEDIUM) ---------------------------------


def _reidentify(data: Path, person: str, key: Path) -> int:
    args = ["--data-dir", str(data), "--person-id", person, "--purpose", "safeguarding"]
    return main(["reidentify", *args, "--key", str(key)])


def test_a_vault_past_its_retention_is_never_opened_whatever_its_sidecar_says(world, data):
    """The vault is past its 730 days (simulated by backdating, as tests/security does): R07.
    Insider: write today's date into each vault sidecar's sealed_on. The caseworker's
    `mcn reidentify` opens it, and retention no longer deletes it."""
    person = _person_with_several_partners(data)
    sidecars = list((data / "vault").rglob("*.json"))
    vault_sealed_long_ago(data)
    assert _reidentify(data, person, world.worker) == 12  # R07, as promised
    assert read_entries(data / "audit")[-1]["reason"] == "R07"
    for sidecar in sidecars:  # the insider's edit
        meta = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**meta, "sealed_on": RUN_DATE.isoformat()}))
    assert _reidentify(data, person, world.worker) == 12, "an expired vault was opened"
    assert read_entries(data / "audit")[-1]["reason"] == "R09"  # the edit is caught


def test_one_reidentification_opens_one_persons_records(world, data):
    """Insider: rewrite published/links.parquet so every record belongs to one person_id. The
    caseworker's `mcn reidentify --person-id P` then opens the whole vault, audited as a
    re-identification of P."""
    person = _person_with_several_partners(data)
    links = pl.read_parquet(Zones(data).links)
    true_records = links.filter(pl.col("person_id") == person).height
    links.with_columns(person_id=pl.lit(person)).write_parquet(Zones(data).links)
    code = _reidentify(data, person, world.worker)
    opened = read_entries(data / "audit")[-1].get("records_opened", 0)
    assert code == 12 or opened <= true_records, f"{opened} records opened for one person"


def test_every_reidentification_attempt_is_audited(world, data):
    """'Every attempt, granted or refused for any reason, is audited.' Insider: write a
    non-date into a vault sidecar's sealed_on. A granted caseworker's attempt then dies with a
    ValueError traceback (exit 1) before anything is written to the audit log."""
    person = _person_with_several_partners(data)
    for sidecar in (data / "vault").rglob("*.json"):
        meta = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**meta, "sealed_on": "not-a-date"}))
    before = len(read_entries(data / "audit"))
    try:
        _reidentify(data, person, world.worker)
    except Exception:  # noqa: BLE001
        pass
    assert len(read_entries(data / "audit")) > before, "the attempt left no audit entry"


def test_the_vault_library_demands_a_real_audited_entry(world, data, tmp_path):
    """`governance.vault.unseal` 'demands the signed reidentify entry already in the audit log'.
    It checks neither the signature nor which log: any file holding the claimed hash will do.
    (The vault key is the documented boundary; this is the library's own promise.)"""
    from governance.vault import Access, load_vault_key, records_digest, unseal

    vault = pl.read_parquet(next((data / "vault").rglob("*.parquet"))).head(3)
    fake_log = tmp_path / "not-the-audit-log.jsonl"
    fake_log.write_text(json.dumps({"hash": "h"}) + "\n")
    entry = {
        "event": "reidentify",
        "sig": "not a signature",
        "hash": "h",
        "records_digest": records_digest(vault["record_key"].to_list()),
    }
    before = len(read_entries(data / "audit"))
    try:
        opened = unseal(vault, load_vault_key(), Access(fake_log, entry))
    except Exception:  # noqa: BLE001 - refused, as promised
        opened = []
    assert len(opened) == 0, f"{len(opened)} identities opened with no audit entry"
    assert len(read_entries(data / "audit")) == before


# --- 6. grants cannot be withdrawn (MEDIUM) ------------------------------------------------------


def test_a_withdrawn_grant_stays_withdrawn(world, data):
    """Found: the only way to withdraw a grant was to delete its file, and the user restored it
    from any of their own audit entries, which embed the signed grant. Now `mcn revoke` records
    the withdrawal, signed, in the audit log, and a grant file coming back changes nothing."""
    sql = "select count(*) from cohort"
    query = ["query", sql, "--data-dir", str(data), "--key", str(world.analyst)]
    assert main(query) == 0
    grant_id = json.loads(next((data / "grants").glob("test-analyst.*.json")).read_text())
    trust_test_approver(world.work, world.mp)
    approver = world.work / "approver-keys" / "test-ig-officer.key"
    revoke = ["revoke", "--data-dir", str(data), "--grant-id", grant_id["grant_id"]]
    assert main([*revoke, "--reason", "left", "--key", str(approver), "--approver", "IG"]) == 0
    assert main(query) == 12
    grant = next(e["grant"] for e in read_entries(data / "audit") if e["event"] == "query")
    (data / "grants" / "restored.json").write_text(json.dumps(grant))
    assert main(query) == 12, "the withdrawn grant works again"
