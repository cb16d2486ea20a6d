import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.audit import AuditLog, verify


@pytest.fixture
def audit_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def log(tmp_path, audit_key):
    """Two runs of three entries, each closed by a checkpoint: 8 lines."""
    log = AuditLog(tmp_path / "audit")
    for run in ("r1", "r2"):
        for partner in ("police", "nhs", "dwp"):
            log.append("ingest", run_id=run, partner=partner, rows_in=10, rows_staged=9)
        log.checkpoint(audit_key)
    return log


def _lines(log):
    return log.path.read_text().splitlines()


def _write(log, lines):
    log.path.write_text("\n".join(lines) + "\n")


def test_untouched_log_verifies(log, audit_key):
    verdict = verify(log.folder, audit_key.public_key())
    assert verdict.ok and verdict.entries == 8 and verdict.checkpoints == 2


def test_other_public_key_does_not_verify(log):
    assert not verify(log.folder, Ed25519PrivateKey.generate().public_key()).ok


@pytest.mark.parametrize("target", range(8))
def test_flipping_any_entry_names_it(log, audit_key, target):
    lines = _lines(log)
    entry = json.loads(lines[target])
    entry["time"] = "1999-01-01T00:00:00+00:00"
    lines[target] = json.dumps(entry, sort_keys=True)
    _write(log, lines)
    verdict = verify(log.folder, audit_key.public_key())
    assert not verdict.ok and verdict.line == target + 1
    assert f"entry {target} " in verdict.problem


@pytest.mark.parametrize("target", range(8))
def test_deleting_any_entry_is_caught(log, audit_key, target):
    lines = _lines(log)
    del lines[target]
    _write(log, lines)
    verdict = verify(log.folder, audit_key.public_key())
    assert not verdict.ok and verdict.line == target + 1


@pytest.mark.parametrize("target", range(7))
def test_swapping_neighbours_is_caught(log, audit_key, target):
    lines = _lines(log)
    lines[target], lines[target + 1] = lines[target + 1], lines[target]
    _write(log, lines)
    verdict = verify(log.folder, audit_key.public_key())
    assert not verdict.ok and verdict.line == target + 1


@pytest.mark.parametrize("target", range(9))
def test_inserting_a_well_formed_entry_anywhere_is_caught(log, audit_key, target):
    from governance.audit import GENESIS, entry_hash

    lines = _lines(log)
    prev = json.loads(lines[target - 1])["hash"] if target else GENESIS
    forged = {
        "seq": target,
        "time": "2026-01-01T00:00:00+00:00",
        "event": "ingest",
        "rows_in": 1,
        "prev": prev,
    }
    forged["hash"] = entry_hash(forged)
    lines.insert(target, json.dumps(forged, sort_keys=True))
    _write(log, lines)
    verdict = verify(log.folder, audit_key.public_key())
    # the forged line itself chains, so the genuine entry after it is named; at the very end
    # the forged entry is named as not covered by any signed checkpoint
    assert not verdict.ok and verdict.line == (target + 2 if target < 8 else target + 1)


def test_rewriting_the_chain_after_an_edit_is_caught_by_the_signed_checkpoint(log, audit_key):
    from governance.audit import entry_hash

    lines = _lines(log)
    entries = [json.loads(x) for x in lines]
    entries[1]["rows_staged"] = 10
    prev = entries[0]["hash"]
    for e in entries[1:]:  # an attacker without the audit key recomputes every hash
        e["prev"] = prev
        e["hash"] = entry_hash(e)
        prev = e["hash"]
    _write(log, [json.dumps(e, sort_keys=True) for e in entries])
    verdict = verify(log.folder, audit_key.public_key())
    assert not verdict.ok and verdict.line == 4  # the first checkpoint after the edit


def test_concurrent_appends_keep_one_chain(tmp_path, audit_key):
    from concurrent.futures import ThreadPoolExecutor

    log = AuditLog(tmp_path / "a")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: log.append("ingest", n=i), range(200)))
    log.checkpoint(audit_key)
    assert verify(log.folder, audit_key.public_key()).entries == 201
