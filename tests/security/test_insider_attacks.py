"""Each attack of issue 7, tried as an insider with write access to the data directory (and, where
stated, a granted user's own key) would, through the real CLI and files. Each must now fail or be
detected. The threat model is docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flows.cli import main
from flows.config import Zones
from governance import canonical as canon
from governance import grants
from governance import signatures as sig
from governance.audit import body_digest, entry_hash, read_entries
from governance.keys import ENV_KEY_FILE, load_linkage_key
from governance.optout import write_optout
from governance.policy import POLICY_DIR
from governance.sql_sandbox import POLARS_FILE_FUNCTIONS
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
NEXT_NIGHT = "2026-11-02"


@dataclass
class World:
    data: Path
    work: Path
    analyst: Path
    worker: Path
    second_worker: Path
    night_one_audit: Path  # what an insider saved of the audit folder after night one
    mp: pytest.MonkeyPatch


def _run(data: Path, date: str = str(RUN_DATE), *extra: str) -> int:
    return main(["run", "--data-dir", str(data), "--run-date", date, *extra])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("insider")
    data, work = root / "data", root / "work"
    mp = pytest.MonkeyPatch()
    set_dev_keys(work / "keys", mp)
    synth = ["synth", "--people", "2500", "--seed", "7", "--out", str(data)]
    assert main([*synth, "--as-of", str(RUN_DATE)]) == 0
    sign_optout(data)
    assert _run(data) == 0
    saved = root / "saved-audit"
    shutil.copytree(data / "audit", saved)
    assert _run(data, NEXT_NIGHT) == 0
    yield World(
        data,
        work,
        grant_user(data, work, mp, "analyst", ["service_planning"], "Test Analyst"),
        grant_user(data, work, mp, "mcn_caseworker", ["safeguarding"], "Test Worker"),
        grant_user(data, work, mp, "mcn_caseworker", ["safeguarding"], "Second Worker"),
        saved,
        mp,
    )
    mp.undo()


@pytest.fixture
def data(world, tmp_path):
    """A copy of the world's data directory for one attack."""
    copy = tmp_path / "data"
    shutil.copytree(world.data, copy, symlinks=True)
    keep_operator_head(world.data, copy)
    return copy


def _verify(data: Path, *extra: str) -> int:
    return main(["audit", "verify", "--data-dir", str(data), *extra])


def _lines(data: Path) -> list[str]:
    return (data / "audit" / "audit.jsonl").read_text().splitlines()


def _write_lines(data: Path, lines: list[str]) -> None:
    (data / "audit" / "audit.jsonl").write_text("\n".join(lines) + "\n")


def _person_with_several_partners(data: Path) -> str:
    cohort = pl.read_parquet(Zones(data).cohort)
    return cohort.filter(pl.col("n_partners") >= 2).sort("person_id")["person_id"][0]


# --- the audit log ------------------------------------------------------------------------------


def test_key_free_truncation_at_every_checkpoint_is_detected(data, capsys):
    """Cut the log just before a checkpoint and forge head.json from that checkpoint's own
    signature: at every checkpoint, verify fails."""
    lines = _lines(data)
    checkpoints = [json.loads(x) for x in lines if json.loads(x)["event"] == "checkpoint"]
    head = json.loads((data / "audit" / "head.json").read_text())
    assert len(checkpoints) >= 8
    for cp in checkpoints:
        size = cp["covers_seq"] + 1
        _write_lines(data, lines[:size])
        forged = {**head, "size": size, "hash": cp["covers_hash"], "signature": cp["signature"]}
        (data / "audit" / "head.json").write_text(json.dumps(forged))
        assert _verify(data) == 10, f"cut before the checkpoint at entry {cp['seq']}"
    assert "does not verify as a head" in capsys.readouterr().err


def test_a_checkpoint_signature_used_as_a_head_is_refused(data, capsys):
    lines = _lines(data)
    last_cp = [json.loads(x) for x in lines if json.loads(x)["event"] == "checkpoint"][-1]
    head = json.loads((data / "audit" / "head.json").read_text())
    head["signature"] = last_cp["signature"]  # same log, same size: only the purpose differs
    (data / "audit" / "head.json").write_text(json.dumps(head))
    assert _verify(data) == 10
    assert "head" in capsys.readouterr().err


def test_log_and_head_rolled_back_below_a_witnessed_head_are_caught(world, data, tmp_path, capsys):
    witness = tmp_path / "ig-officer" / "head-2026-11-02.json"
    assert main(["audit", "head", "--data-dir", str(data), "--out", str(witness)]) == 0
    # the insider puts back the log and head they saved after night one: both validly signed
    shutil.rmtree(data / "audit")
    shutil.copytree(world.night_one_audit, data / "audit")
    assert _verify(data) == 0  # without a witness a rollback cannot be seen (docs/security.md)
    capsys.readouterr()
    assert _verify(data, "--witness", str(witness)) == 10
    assert "rolled back" in capsys.readouterr().err


def test_a_forged_entry_offered_to_the_sealing_command_is_refused(data, capsys):
    lines = _lines(data)
    last = json.loads(lines[-1])
    log_id = json.loads(lines[0])["log_id"]
    forged = {
        "seq": last["seq"] + 1,
        "time": last["time"],
        "event": "retention_delete",
        "zone": "vault",
        "partner": "nhs",
        "prev": last["hash"],
        "signer": json.loads(lines[0])["signer"],  # claims the audit key, signs with their own
    }
    forged["sig"] = sig.sign(
        Ed25519PrivateKey.generate(), "audit-entry", log_id, body_digest(forged)
    )
    forged["hash"] = entry_hash(forged)
    _write_lines(data, [*lines, json.dumps(forged, sort_keys=True)])
    before = _lines(data)
    assert main(["audit", "seal", "--yes", "--data-dir", str(data)]) == 10
    assert "not sealed" in capsys.readouterr().err
    assert _lines(data) == before  # nothing was sealed over it
    assert _verify(data) == 10


def test_a_reidentifier_cannot_rewrite_or_remove_someone_elses_entry(world, data, capsys):
    person = _person_with_several_partners(data)
    args = [
        "reidentify",
        "--data-dir",
        str(data),
        "--person-id",
        person,
        "--purpose",
        "safeguarding",
    ]
    assert main([*args, "--key", str(world.second_worker)]) == 0
    assert main(["audit", "seal", "--yes", "--data-dir", str(data)]) == 0  # e.g. the next night
    assert main([*args, "--key", str(world.worker)]) == 0
    capsys.readouterr()
    entries = [json.loads(x) for x in _lines(data)]
    victim = next(
        i for i, e in enumerate(entries) if e.get("grant", {}).get("user") == "Second Worker"
    )
    attacker = grants.load_user_key(world.worker)
    own_grant = entries[-1]["grant"]
    log_id = entries[0]["log_id"]

    def resign(chain):
        prev = chain[victim - 1]["hash"]
        for e in chain[victim:]:
            e["prev"] = prev
            if e.get("grant", {}).get("user") in ("Second Worker", "Test Worker"):
                e["signer"], e["grant"] = attacker.key_id, own_grant  # in their own name
                e["sig"] = sig.sign(attacker.private, "audit-entry", log_id, body_digest(e))
            e["hash"] = entry_hash(e)
            prev = e["hash"]
        return [json.dumps(e, sort_keys=True) for e in chain]

    altered = [dict(e) for e in entries]
    altered[victim]["records_opened"] = 0  # rewrite the other worker's entry
    _write_lines(data, resign(altered))
    assert _verify(data) == 10
    removed = [dict(e) for i, e in enumerate(entries) if i != victim]  # or remove it
    for i, e in enumerate(removed):
        e["seq"] = i
    _write_lines(data, resign(removed))
    assert _verify(data) == 10
    # and the worker's key cannot seal the log in the audit key's place
    world.mp.setenv("MCN_AUDIT_KEY_FILE", str(world.worker))
    try:
        assert main(["audit", "seal", "--yes", "--data-dir", str(data)]) == 10
    finally:
        world.mp.setenv("MCN_AUDIT_KEY_FILE", str(world.work / "keys" / "audit.key"))


# --- the analyst's SQL --------------------------------------------------------------------------


@pytest.mark.parametrize("function", sorted(POLARS_FILE_FUNCTIONS))
def test_every_sql_table_function_is_refused_through_mcn_query(world, data, function, capsys):
    key_text = Path(world.work / "keys" / "linkage.key").read_text().strip()
    targets = {
        "linkage key": world.work / "keys" / "linkage.key",
        "landing": data / "landing" / "police" / "crimes.csv",
        "landing parquet": data / "landing" / "nhs" / "ae_attendances.parquet",
        "vault": next((data / "vault").rglob("*.parquet")),
    }
    refused = len([e for e in read_entries(data / "audit") if e["event"] == "query_refused"])
    for what, path in targets.items():
        sql = f"select * from {function}('{path}')"
        code = main(["query", sql, "--data-dir", str(data), "--key", str(world.analyst)])
        out = capsys.readouterr()
        assert code == 13, what
        assert key_text not in out.out + out.err and str(path) not in out.err
    after = [e for e in read_entries(data / "audit") if e["event"] == "query_refused"]
    assert len(after) == refused + len(targets)
    assert all("sql_sha256" in e and "reason" in e for e in after)


def test_every_query_is_audited_with_user_tables_and_rows(world, data):
    sql = "select need_count, count(*) as n from cohort group by 1"
    assert main(["query", sql, "--data-dir", str(data), "--key", str(world.analyst)]) == 0
    started, finished = read_entries(data / "audit")[-2:]
    assert started["event"] == "query" and started["grant"]["user"] == "Test Analyst"
    assert (
        started["sql_sha256"] == finished["sql_sha256"] == hashlib.sha256(sql.encode()).hexdigest()
    )
    assert started["tables"] == ["cohort"] and started["status"] == "started"
    assert finished["event"] == "query_finished" and finished["rows_returned"] > 0
    assert sql not in json.dumps([started, finished])


def test_everything_the_pipeline_writes_is_private_to_its_group(data):
    loose = [
        str(p.relative_to(data))
        for p in data.rglob("*")
        if p.stat().st_mode & 0o027 and not p.is_symlink()
    ]
    assert not loose, loose[:5]


# --- the opt-out --------------------------------------------------------------------------------


def test_an_opt_out_added_after_staging_is_absent_from_the_next_build(data, capsys):
    zones = Zones(data)
    links = pl.read_parquet(zones.links)
    nhs = links.filter(pl.col("partner") == "nhs")
    landing = pl.read_parquet(data / "landing" / "nhs" / "ae_attendances.parquet")
    multi = links.group_by("person_id").agg(pl.col("partner").n_unique().alias("n"))
    candidates = (
        nhs.join(multi.filter(pl.col("n") >= 2), on="person_id")
        .join(
            landing.select("record_ref", canon.nhs_number_canonical(pl.col("nhs_number"))),
            on="record_ref",
        )
        .drop_nulls("nhs_number")
        .sort("record_ref")
    )
    person, number = candidates["person_id"][0], candidates["nhs_number"][0]
    record_keys = links.filter(pl.col("person_id") == person)["record_key"]
    listed = pl.read_csv(zones.optout / "nhs_numbers.csv", infer_schema=False)["nhs_number"]
    write_optout(zones.optout, [*listed.to_list(), number], RUN_DATE)
    sign_optout(data)
    assert _run(data) == 0  # same drop: everything is already staged
    last_ingest = [e for e in read_entries(data / "audit") if e.get("partner") == "nhs"][-1]
    assert last_ingest["event"] == "ingest_already_staged"
    cohort = pl.read_parquet(zones.cohort)
    links2, pairs = pl.read_parquet(zones.links), pl.read_parquet(zones.link_pairs)
    assert person not in cohort["person_id"].to_list()
    assert not links2["record_key"].is_in(record_keys.implode()).any()
    touched = pairs["record_key_l"].is_in(record_keys.implode()) | pairs["record_key_r"].is_in(
        record_keys.implode()
    )
    assert not touched.any()
    cohort_entry = [e for e in read_entries(data / "audit") if e["event"] == "cohort"][-1]
    assert cohort_entry["optout"]["persons_removed"] >= 1


def test_adult_social_care_rows_are_checked_against_the_opt_out(world):
    ingest = [
        e
        for e in read_entries(world.data / "audit")
        if e["event"] == "ingest" and e.get("extract") == "social_care_contacts"
    ]
    assert ingest and ingest[0]["rows_opted_out"] > 0 and ingest[0]["rows_optout_unchecked"] > 0
    homeless = [
        e for e in read_entries(world.data / "audit") if e.get("extract") == "homelessness_cases"
    ]
    assert homeless[0]["rows_opted_out"] == 0  # the opt-out does not cover housing data


def test_a_future_dated_opt_out_list_is_refused(data, capsys):
    listed = pl.read_csv(data / "optout" / "nhs_numbers.csv", infer_schema=False)["nhs_number"]
    write_optout(data / "optout", listed.to_list(), RUN_DATE.replace(day=20))
    sign_optout(data)
    assert _run(data) == 11
    assert "future" in capsys.readouterr().err


# --- staging bound to policy and key ------------------------------------------------------------


def _resign(world, data: Path, tmp_path: Path, edit) -> Path:
    """A copy of the policies with nhs.yaml edited and signed by a trusted test approver."""
    policies = tmp_path / "policies"
    if not policies.exists():
        shutil.copytree(POLICY_DIR, policies)
    path = policies / "nhs.yaml"
    path.write_text(edit(path.read_text()))
    for p in policies.glob("*.yaml"):
        sign_as_every_party(p, trust_test_approver(world.work, world.mp), "Test IG officer")
    world.mp.setenv("MCN_POLICY_DIR", str(policies))
    return path


def _staged_ae(data: Path) -> list[Path]:
    return sorted((data / "staged" / "nhs" / "ae_attendances").glob("*.parquet"))


def test_a_narrowed_policy_after_staging_is_applied_to_what_is_staged(world, data, tmp_path):
    narrow = lambda t: t.replace("    sex: [pseudonymise, keep]\n", "    sex: pseudonymise\n", 1)  # noqa: E731
    try:
        path = _resign(world, data, tmp_path, narrow)
        new_sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert _run(data) == 0  # landing still holds the drop: re-staged from landing
        files = _staged_ae(data)
        assert len(files) == 1 and "sex" not in pl.read_parquet_schema(files[0])
        ingest = [
            e
            for e in read_entries(data / "audit")
            if e.get("extract") == "ae_attendances" and e["event"] == "ingest"
        ][-1]
        assert ingest["staged_under_policy_sha256"] == new_sha
        # widen it again after the landing file is gone: cannot be remade, the build refuses
        (data / "landing" / "nhs" / "ae_attendances.parquet").unlink()
        _resign(
            world,
            data,
            tmp_path,
            lambda t: t.replace("    sex: pseudonymise\n", "    sex: [pseudonymise, keep]\n", 1),
        )
        assert _run(data) == 14
    finally:
        world.mp.delenv("MCN_POLICY_DIR", raising=False)


def test_a_narrowed_policy_is_cut_from_staged_data_when_landing_is_gone(
    world, data, tmp_path, capsys
):
    (data / "landing" / "nhs" / "ae_attendances.parquet").unlink()
    narrow = lambda t: t.replace("    sex: [pseudonymise, keep]\n", "    sex: pseudonymise\n", 1)  # noqa: E731
    try:
        _resign(world, data, tmp_path, narrow)
        assert _run(data) == 3  # the NHS drop is incomplete tonight, the build still runs
        files = _staged_ae(data)
        assert len(files) == 1 and "sex" not in pl.read_parquet_schema(files[0])
        restaged = [e for e in read_entries(data / "audit") if e["event"] == "restaged"]
        assert restaged and restaged[0]["from_policy_sha256"] != restaged[0]["policy_sha256"]
    finally:
        world.mp.delenv("MCN_POLICY_DIR", raising=False)


def test_one_bad_policy_stops_only_its_partner_audited_and_named(world, data, tmp_path, capsys):
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    police = policies / "police.yaml"
    police.write_text(police.read_text().replace("staged: 730", "staged: 729"))  # unsigned edit
    world.mp.setenv("MCN_POLICY_DIR", str(policies))
    try:
        code = _run(data)
    finally:
        world.mp.delenv("MCN_POLICY_DIR")
    err = capsys.readouterr().err
    assert code == 4 and "police" in err and "POL031" in err
    entries = read_entries(data / "audit")
    assert any(e["event"] == "ingest_refused" and e["partner"] == "police" for e in entries)
    cohort_entry = [e for e in entries if e["event"] == "cohort"][-1]
    assert "police" in cohort_entry["partners_excluded"]
    assert "police" not in ",".join(pl.read_parquet(Zones(data).cohort)["partners"].to_list())


# --- re-identification --------------------------------------------------------------------------


def _reidentify(data: Path, person: str, *extra: str) -> int:
    return main(["reidentify", "--data-dir", str(data), "--person-id", person, *extra])


def test_a_forged_role_is_refused_and_every_attempt_is_audited(world, data, tmp_path, capsys):
    person = _person_with_several_partners(data)
    purpose = ["--purpose", "safeguarding"]
    attempts = []
    # an analyst claims the caseworker role
    attempts.append(
        _reidentify(data, person, *purpose, "--role", "mcn_caseworker", "--key", str(world.analyst))
    )
    # an insider makes their own grant, signed by an approver key nobody trusts
    rogue, boss = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = grants.issue(
        "Rogue",
        rogue.public_key(),
        "mcn_caseworker",
        ["safeguarding"],
        RUN_DATE.replace(year=2030),
        "Fake IG",
        boss,
        RUN_DATE,
    )
    grants.write(forged, data / "grants")
    rogue_key = tmp_path / "rogue.key"
    rogue_key.write_bytes(sig.private_pem(rogue))
    attempts.append(_reidentify(data, person, *purpose, "--key", str(rogue_key)))
    # or edits a genuine grant to add a purpose
    for path in (data / "grants").glob("test-analyst.*.json"):
        g = json.loads(path.read_text())
        g["role"] = "mcn_caseworker"
        path.write_text(json.dumps(g))
    attempts.append(_reidentify(data, person, *purpose, "--key", str(world.analyst)))
    # no key at all; an unknown person; a purpose the grant does not cover
    world.mp.delenv("MCN_USER_KEY_FILE", raising=False)
    attempts.append(_reidentify(data, person, *purpose))
    attempts.append(_reidentify(data, "0" * 16, *purpose, "--key", str(world.worker)))
    attempts.append(_reidentify(data, person, "--purpose", "curiosity", "--key", str(world.worker)))
    assert attempts == [12] * 6
    refused = [e for e in read_entries(data / "audit") if e["event"] == "reidentify_refused"]
    assert [e["reason"] for e in refused[-6:]] == ["G04", "G02", "G02", "R01", "R02", "G05"]
    assert _verify(data) == 0  # refusals are part of a log that still verifies


def test_vault_key_problems_are_refused_and_audited(world, data, tmp_path, capsys):
    from governance.vault import ENV_VAULT_KEY_FILE, create_vault_key

    person = _person_with_several_partners(data)
    args = ["--purpose", "safeguarding", "--key", str(world.worker)]
    world.mp.delenv(ENV_VAULT_KEY_FILE)
    try:
        assert _reidentify(data, person, *args) == 12
        create_vault_key(tmp_path / "other-vault.key")
        world.mp.setenv(ENV_VAULT_KEY_FILE, str(tmp_path / "other-vault.key"))
        assert _reidentify(data, person, *args) == 12
    finally:
        world.mp.setenv(ENV_VAULT_KEY_FILE, str(world.work / "keys" / "vault.key"))
    refused = [e for e in read_entries(data / "audit") if e["event"] == "reidentify_refused"]
    assert [e["reason"] for e in refused[-2:]] == ["R04", "R05"]


def test_a_vault_past_its_retention_is_never_opened_and_is_deleted(world, data, capsys):
    person = _person_with_several_partners(data)
    vault_sealed_long_ago(data)
    assert _reidentify(data, person, "--purpose", "safeguarding", "--key", str(world.worker)) == 12
    assert read_entries(data / "audit")[-1]["reason"] == "R07"
    assert main(["retention", "apply", "--data-dir", str(data), "--today", str(RUN_DATE)]) == 0
    assert not list((data / "vault").rglob("*.parquet"))  # gone, though staged data stays
    assert list((data / "staged").rglob("*.parquet"))
    receipts = [e for e in read_entries(data / "audit") if e["event"] == "retention_delete"]
    assert {e["zone"] for e in receipts} == {"vault"}


# --- identifiers ----------------------------------------------------------------------------------


def test_person_id_cannot_be_computed_from_a_record_reference_without_the_key(data):
    links = pl.read_parquet(Zones(data).links)
    refs = links.select("partner", "extract", "record_ref", "record_key", "person_id")

    def h(key: bytes | None, purpose: str, text: str) -> str:
        if key is None:  # the unkeyed hashes of the first version
            old = text if purpose == "record" else f"{purpose}|{text}"
            return hashlib.sha256(old.encode()).hexdigest()[:16]
        return hmac.new(key, f"{purpose}|{text}".encode(), hashlib.sha256).hexdigest()[:16]

    def recomputed(key: bytes | None) -> tuple[int, int]:
        rk = refs.with_columns(
            guess=pl.struct("partner", "extract", "record_ref").map_elements(
                lambda r: h(key, "record", f"{r['partner']}|{r['extract']}|{r['record_ref']}"),
                return_dtype=pl.String,
            )
        )
        records = int((rk["guess"] == rk["record_key"]).sum())
        first = (
            rk.group_by("person_id")
            .agg(pl.col("guess").min())
            .with_columns(
                pid=pl.col("guess").map_elements(
                    lambda g: h(key, "person", g), return_dtype=pl.String
                )
            )
        )
        return records, int((first["pid"] == first["person_id"]).sum())

    assert recomputed(None) == (0, 0)  # the old unkeyed hashes
    assert recomputed(secrets.token_hex(32).encode()) == (0, 0)  # a guessed key
    true_key = load_linkage_key().material()
    records, persons = recomputed(true_key)  # the check itself works: with the key, they match
    assert records == refs.height and persons == refs["person_id"].n_unique()


def test_keeping_a_direct_identifier_fails_check_and_sign(world, tmp_path, capsys):
    policies = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, policies)
    path = policies / "nhs.yaml"
    data = yaml.safe_load(path.read_text())
    data["extracts"]["ae_attendances"]["nhs_number"] = "keep"
    path.write_text(yaml.safe_dump(data))
    assert main(["policy", "check", "--policy-dir", str(policies), "--on", str(RUN_DATE)]) == 4
    assert "POL017" in capsys.readouterr().out
    approver = world.work / "approver-keys" / "test-ig-officer.key"
    trust_test_approver(world.work, world.mp)
    code = main(
        [
            "policy",
            "sign",
            "--key",
            str(approver),
            "--approver",
            "T",
            "--partner",
            "nhs",
            "--policy-dir",
            str(policies),
        ]
    )
    assert code == 4 and "POL017" in capsys.readouterr().err


def test_the_key_id_changes_and_old_staging_is_not_used_after_a_key_rotation(
    world, data, tmp_path, capsys
):
    from governance.keys import create_dev_key

    create_dev_key(tmp_path / "new-linkage.key")
    world.mp.setenv(ENV_KEY_FILE, str(tmp_path / "new-linkage.key"))
    try:
        before = set(pl.read_parquet(Zones(data).cohort)["person_id"])
        assert _run(data) == 0  # landing holds every drop: all re-staged under the new key
        after = set(pl.read_parquet(Zones(data).cohort)["person_id"])
        assert before and after and before.isdisjoint(after)
    finally:
        world.mp.setenv(ENV_KEY_FILE, str(world.work / "keys" / "linkage.key"))
