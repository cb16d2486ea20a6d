import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance import grants
from governance import signatures as sig
from governance.audit import (
    GENESIS,
    AuditLog,
    Signer,
    Trust,
    body_digest,
    entry_hash,
    verify,
)
from governance.errors import AuditError

TODAY = dt.date.today()


@pytest.fixture
def audit_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def approver_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def trust(audit_key, approver_key):
    return Trust(
        {sig.key_id(audit_key.public_key(), "s"): audit_key.public_key()},
        {sig.key_id(approver_key.public_key(), "a"): ("IG", approver_key.public_key())},
    )


@pytest.fixture
def log(tmp_path, audit_key, trust):
    """Genesis, then two runs of three entries each closed by a seal: 9 lines."""
    log = AuditLog(tmp_path / "audit", Signer.service(audit_key))
    for run in ("r1", "r2"):
        for partner in ("police", "nhs", "dwp"):
            log.append("ingest", run_id=run, partner=partner, rows_in=10, rows_staged=9)
        log.seal(trust)
    return log


def _lines(log):
    return log.path.read_text().splitlines()


def _write(log, lines):
    log.path.write_text("\n".join(lines) + "\n")


def _user(approver_key, role="mcn_caseworker", until=TODAY):
    user = Ed25519PrivateKey.generate()
    grant = grants.issue("A User", user.public_key(), role, ["p"], until, "IG", approver_key, TODAY)
    return Signer(sig.key_id(user.public_key(), "u"), user, grant)


def test_untouched_log_verifies(log, trust):
    verdict = verify(log.folder, trust)
    assert verdict.ok and verdict.entries == 9 and verdict.checkpoints == 2
    assert verdict.tail.entries == 0 and verdict.log_id


def test_other_public_key_does_not_verify(log):
    assert not verify(log.folder, Ed25519PrivateKey.generate().public_key()).ok


@pytest.mark.parametrize("target", range(9))
def test_flipping_any_entry_names_it(log, trust, target):
    lines = _lines(log)
    entry = json.loads(lines[target])
    entry["time"] = "1999-01-01T00:00:00+00:00"
    lines[target] = json.dumps(entry, sort_keys=True)
    _write(log, lines)
    verdict = verify(log.folder, trust)
    assert not verdict.ok and verdict.line == target + 1
    assert f"entry {target} " in verdict.problem


@pytest.mark.parametrize("target", range(9))
def test_deleting_any_entry_is_caught(log, trust, target):
    lines = _lines(log)
    del lines[target]
    _write(log, lines)
    verdict = verify(log.folder, trust)
    assert not verdict.ok
    if target < 8:
        assert verdict.line == target + 1
    else:
        assert "removed" in verdict.problem


@pytest.mark.parametrize("target", range(8))
def test_swapping_neighbours_is_caught(log, trust, target):
    lines = _lines(log)
    lines[target], lines[target + 1] = lines[target + 1], lines[target]
    _write(log, lines)
    verdict = verify(log.folder, trust)
    assert not verdict.ok and verdict.line == target + 1


@pytest.mark.parametrize("target", range(1, 10))
def test_inserting_a_well_formed_entry_anywhere_is_caught(log, trust, target):
    lines = _lines(log)
    prev = json.loads(lines[target - 1])["hash"]
    forged = {"seq": target, "time": "2026-01-01T00:00:00+00:00", "event": "ingest", "prev": prev}
    forged["hash"] = entry_hash(forged)
    lines.insert(target, json.dumps(forged, sort_keys=True))
    _write(log, lines)
    verdict = verify(log.folder, trust)
    # the forged line chains, but carries no signature: it is named itself
    assert not verdict.ok and verdict.line == target + 1 and "not signed" in verdict.problem


def test_forging_a_signature_with_another_key_is_caught(log, trust, tmp_path):
    lines = _lines(log)
    other = Signer.service(Ed25519PrivateKey.generate())
    forged = AuditLog(tmp_path / "other", other)
    forged.append("ingest", partner="nhs")  # a genuine-looking entry of another log
    lines.append(forged.path.read_text().splitlines()[1])
    _write(log, lines)
    assert not verify(log.folder, trust).ok


def test_rewriting_the_chain_after_an_edit_is_caught_at_the_edit(log, trust):
    entries = [json.loads(x) for x in _lines(log)]
    entries[2]["rows_staged"] = 10
    prev = entries[1]["hash"]
    for e in entries[2:]:  # an attacker without the keys recomputes every hash
        e["prev"] = prev
        e["hash"] = entry_hash(e)
        prev = e["hash"]
    _write(log, [json.dumps(e, sort_keys=True) for e in entries])
    verdict = verify(log.folder, trust)
    assert not verdict.ok and verdict.line == 3 and "signature" in verdict.problem


def test_concurrent_appends_keep_one_chain(tmp_path, audit_key, trust):
    from concurrent.futures import ThreadPoolExecutor

    log = AuditLog(tmp_path / "a", Signer.service(audit_key))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: log.append("ingest", n=i), range(200)))
    log.seal(trust)
    assert verify(log.folder, trust).entries == 202


def test_a_user_entry_under_a_trusted_grant_verifies(log, trust, approver_key):
    AuditLog(log.folder, _user(approver_key)).append("reidentify", person_id="x")
    verdict = verify(log.folder, trust)
    assert verdict.ok and verdict.tail.entries == 1


def test_a_user_entry_under_a_self_made_grant_is_caught(log, trust):
    AuditLog(log.folder, _user(Ed25519PrivateKey.generate())).append("reidentify", person_id="x")
    verdict = verify(log.folder, trust)
    assert not verdict.ok and "not a trusted approver" in verdict.problem


def test_a_user_event_signed_by_the_audit_key_is_caught(log, trust, audit_key):
    """The operator holds the audit key, but cannot write a re-identification in a user's name."""
    lines = _lines(log)
    last = json.loads(lines[-1])
    entry = {"seq": last["seq"] + 1, "time": "t", "event": "reidentify", "prev": last["hash"]}
    entry["signer"] = sig.key_id(audit_key.public_key(), "s")
    entry["sig"] = sig.sign(
        audit_key, "audit-entry", verify(log.folder, trust).log_id, body_digest(entry)
    )
    entry["hash"] = entry_hash(entry)
    _write(log, [*lines, json.dumps(entry, sort_keys=True)])
    verdict = verify(log.folder, trust)
    assert not verdict.ok and "grant" in verdict.problem


def test_refused_attempts_without_a_key_are_kept_unsigned_and_counted(log, trust):
    AuditLog(log.folder).append("reidentify_refused", reason="R01")
    verdict = verify(log.folder, trust)
    assert verdict.ok and verdict.unauthenticated == 1
    with pytest.raises(ValueError):
        AuditLog(log.folder).append("ingest", rows_in=1)


def test_users_cannot_create_the_log(tmp_path, approver_key):
    with pytest.raises(AuditError, match="no audit log"):
        AuditLog(tmp_path / "new", _user(approver_key)).append("reidentify", person_id="x")


def test_seal_refuses_a_tail_with_a_forged_entry(log, trust):
    lines = _lines(log)
    last = json.loads(lines[-1])
    forged = {
        "seq": last["seq"] + 1,
        "time": "t",
        "event": "retention_delete",
        "prev": last["hash"],
    }
    forged["hash"] = entry_hash(forged)
    _write(log, [*lines, json.dumps(forged, sort_keys=True)])
    with pytest.raises(AuditError, match="not sealed"):
        log.seal(trust)
    assert len(_lines(log)) == 10  # nothing appended


def test_seal_shows_the_tail_before_sealing_and_can_be_declined(log, trust):
    log.append("ingest", run_id="r3", partner="nhs")
    seen = []
    assert log.seal(trust, lambda tail: seen.append(tail) or False) is None
    assert seen[0].entries == 1 and seen[0].run_ids == ["r3"] and seen[0].events == {"ingest": 1}
    assert log.seal(trust) is not None and verify(log.folder, trust).tail.entries == 0


def test_a_checkpoint_signature_does_not_stand_in_for_a_head(log, trust):
    lines = _lines(log)
    checkpoint = json.loads(lines[4])
    head = json.loads(log.head_path.read_text())
    _write(log, lines[: checkpoint["covers_seq"] + 1])
    head.update(size=checkpoint["covers_seq"] + 1, hash=checkpoint["covers_hash"])
    head["signature"] = checkpoint["signature"]
    log.head_path.write_text(json.dumps(head))
    verdict = verify(log.folder, trust)
    assert not verdict.ok and "head" in verdict.problem


def test_a_witnessed_head_catches_a_rollback(log, trust):
    early_lines, early_head = _lines(log), log.head_path.read_text()
    log.append("ingest", run_id="r3", partner="nhs")
    log.seal(trust)
    witness = json.loads(log.head_path.read_text())  # an IG officer keeps this head
    assert verify(log.folder, trust, [witness]).ok
    # an insider who saved the earlier log and head puts both back: validly signed, older
    _write(log, early_lines)
    log.head_path.write_text(early_head)
    assert verify(log.folder, trust).ok  # without a witness, a rollback cannot be seen
    verdict = verify(log.folder, trust, [witness])
    assert (
        not verdict.ok
        and "witnessed head 1" in verdict.problem
        and "rolled back" in verdict.problem
    )


def test_a_head_of_another_log_is_refused(log, trust, tmp_path, audit_key):
    other = AuditLog(tmp_path / "other", Signer.service(audit_key))
    other.append("ingest")
    other.seal(trust)
    verdict = verify(log.folder, trust, [json.loads(other.head_path.read_text())])
    assert not verdict.ok and "another audit log" in verdict.problem


def test_genesis_is_required(log, trust):
    lines = _lines(log)
    entry = json.loads(lines[0])
    assert entry["event"] == "log_created" and entry["prev"] == GENESIS
