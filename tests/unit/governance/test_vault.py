import polars as pl
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from governance.audit import AuditLog, Signer
from governance.errors import KeyMissingError, ReidentificationError
from governance.vault import (
    ENV_VAULT_KEY_FILE,
    Access,
    create_vault_key,
    load_vault_key,
    records_digest,
    seal,
    unseal,
)

# RFC 5297 appendix A.1 (deterministic authenticated encryption)
A1_KEY = bytes.fromhex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
A1_AD = bytes.fromhex("101112131415161718191a1b1c1d1e1f2021222324252627")
A1_PLAIN = bytes.fromhex("112233445566778899aabbccddee")
A1_OUT = bytes.fromhex("85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c")


def test_aes_siv_matches_rfc_5297_a1():
    assert AESSIV(A1_KEY).encrypt(A1_PLAIN, [A1_AD]) == A1_OUT


@pytest.fixture
def vault_key(tmp_path):
    create_vault_key(tmp_path / "v.key")
    return load_vault_key({ENV_VAULT_KEY_FILE: str(tmp_path / "v.key")})


@pytest.fixture
def audited(tmp_path, monkeypatch):
    """Open only under a reidentify entry in an audit log, as `mcn reidentify` writes it."""
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from governance import grants
    from governance import signatures as sig
    from governance.signing import keygen, load_private

    service = AuditLog(tmp_path / "audit", Signer.service(Ed25519PrivateKey.generate()))
    service.append("ingest")
    key_path, _ = keygen("IG", tmp_path / "approvers")  # a trusted approver for this test
    monkeypatch.setenv("MCN_APPROVERS_DIR", str(tmp_path / "approvers"))
    approver, user = load_private(key_path), Ed25519PrivateKey.generate()
    today = dt.date.today()
    grant = grants.issue("U", user.public_key(), "r", ["p"], today, "IG", approver, today)
    log = AuditLog(service.folder, Signer(sig.key_id(user.public_key(), "u"), user, grant))

    def access(record_keys):
        entry = log.append("reidentify", records_digest=records_digest(list(record_keys)))
        return Access(log.path, entry)

    return access


RAW = pl.DataFrame(
    {"forename": ["Ann", "Bob"], "surname": ["Lee", "Ray"], "nhs_number": ["9990000026", None]}
)
SOURCE = "nhs/ae_attendances"


def _seal(raw, columns, keys, vault_key):
    """Sealed rows as the vault holds them, with the partner and extract they came from."""
    return seal(raw, columns, pl.Series(keys), vault_key, SOURCE).with_columns(
        partner=pl.lit("nhs"), extract=pl.lit("ae_attendances")
    )


def test_seal_then_unseal_gives_the_identity_back(vault_key, audited):
    sealed = _seal(RAW, ["forename", "surname", "nhs_number"], ["r1", "r2"], vault_key)
    assert b"Ann" not in b"".join(sealed["sealed"].to_list())
    assert unseal(sealed, vault_key, audited(["r1", "r2"])) == RAW.to_dicts()


def test_bulk_sealing_round_trips_accents_quotes_and_nulls(vault_key, audited):
    """Identities are made JSON by polars for all rows at once: what opens is what was sealed,
    byte for byte, whatever the text holds."""
    raw = pl.DataFrame(
        {"forename": ['Élodie "Lo"', "Siân\\", None], "surname": ["O'Neil", "Ñúñez", "Łój"]}
    )
    sealed = _seal(raw, ["forename", "surname"], ["r1", "r2", "r3"], vault_key)
    assert unseal(sealed, vault_key, audited(["r1", "r2", "r3"])) == raw.to_dicts()


def test_only_the_columns_given_are_sealed(vault_key, audited):
    sealed = _seal(RAW, ["surname"], ["r1", "r2"], vault_key)
    assert unseal(sealed, vault_key, audited(["r1", "r2"])) == [
        {"surname": "Lee"},
        {"surname": "Ray"},
    ]


def test_other_key_opens_nothing(vault_key, tmp_path, audited):
    sealed = _seal(RAW, ["forename"], ["r1", "r2"], vault_key)
    create_vault_key(tmp_path / "other.key")
    other = load_vault_key({ENV_VAULT_KEY_FILE: str(tmp_path / "other.key")})
    with pytest.raises(ReidentificationError, match=other.key_id):
        unseal(sealed, other, audited(["r1", "r2"]))


def test_entry_moved_to_another_record_fails_authentication(vault_key, audited):
    sealed = _seal(RAW, ["forename"], ["r1", "r2"], vault_key)
    swapped = sealed.with_columns(record_key=pl.Series(["r2", "r1"]))
    with pytest.raises(ReidentificationError, match="failed authentication"):
        unseal(swapped, vault_key, audited(["r1", "r2"]))


def test_the_vault_does_not_open_without_an_audited_entry_for_exactly_these_records(
    vault_key, audited, tmp_path
):
    sealed = _seal(RAW, ["forename"], ["r1", "r2"], vault_key)
    genuine = audited(["r1"])  # audited for one record only
    with pytest.raises(ReidentificationError, match="mcn reidentify"):
        unseal(sealed, vault_key, genuine)
    forged = {**audited(["r1", "r2"]).entry, "hash": "0" * 64}  # not in the log
    with pytest.raises(ReidentificationError, match="mcn reidentify"):
        unseal(sealed, vault_key, Access(genuine.audit_log, forged))


def test_missing_vault_key_is_a_clear_error():
    with pytest.raises(KeyMissingError, match=ENV_VAULT_KEY_FILE):
        load_vault_key({})


def test_an_entry_moved_to_another_partner_fails_authentication(vault_key, audited):
    sealed = _seal(RAW, ["forename"], ["r1", "r2"], vault_key)
    relabelled = sealed.with_columns(partner=pl.lit("police"))
    with pytest.raises(ReidentificationError, match="failed authentication"):
        unseal(relabelled, vault_key, audited(["r1", "r2"]))
