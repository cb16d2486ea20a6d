"""Shared fixtures. Everything here is synthetic; keys are random per test session."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from governance.keys import SecretKey  # noqa: E402
from tests.prefect_server import prefect_server  # noqa: E402, F401  (a fixture for every test)

RUN_DATE = dt.date(2026, 11, 1)


# Kept in the environment, not a module global: tests import this module under another name.
SESSION_KEY, SESSION_TRUSTED = "MCN_TEST_SESSION_APPROVER_KEY", "MCN_TEST_SESSION_TRUSTED_DIR"
PARTY_KEYS = "MCN_TEST_PARTY_APPROVER_KEYS"  # approvers for the 2nd, 3rd... party of a test policy


@pytest.fixture(scope="session", autouse=True)
def operator_state(tmp_path_factory):
    """The operator's own record of sealed heads, per test session (never the real home); and a
    session IG officer, trusted beside the shipped approvers, who signs synthetic opt-out lists."""
    from governance.signing import APPROVERS_DIR, keygen

    os.environ["MCN_STATE_DIR"] = str(tmp_path_factory.mktemp("operator-state"))
    folder = tmp_path_factory.mktemp("session-approver")
    key, pub = keygen("Session IG officer", folder / "keys")
    (folder / "trusted").mkdir()
    (folder / "trusted" / pub.name).write_bytes(pub.read_bytes())
    os.environ["MCN_APPROVERS_DIR"] = f"{APPROVERS_DIR}{os.pathsep}{folder / 'trusted'}"
    os.environ[SESSION_KEY], os.environ[SESSION_TRUSTED] = str(key), str(folder / "trusted")
    party_keys = []
    for n in range(2, 7):
        party_key, party_pub = keygen(f"Test party {n} approver", folder / "keys")
        (folder / "trusted" / party_pub.name).write_bytes(party_pub.read_bytes())
        party_keys.append(str(party_key))
    os.environ[PARTY_KEYS] = os.pathsep.join(party_keys)


def sign_optout(data_root) -> None:
    """The session IG officer vouches for a synthetic drop's opt-out list."""
    from pathlib import Path

    from governance.optout import sign_manifest
    from governance.signing import load_private

    key = load_private(Path(os.environ[SESSION_KEY]))
    sign_manifest(Path(data_root) / "optout", "Session IG officer", key)


@pytest.fixture
def key() -> SecretKey:
    return SecretKey.from_hex(secrets.token_hex(32), "test")


@pytest.fixture
def other_key() -> SecretKey:
    return SecretKey.from_hex(secrets.token_hex(32), "test")


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    """A small synthetic drop, made once per session (read-only for tests: copy to change)."""
    from flows.synth import synthesise

    out = tmp_path_factory.mktemp("synthetic")
    synthesise(3000, 11, out, RUN_DATE)
    sign_optout(out)
    return out


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for every flow test (starting one costs seconds). With
    `pytest -n` each worker starts its own; on a loaded machine a start has taken over 120 s
    (Prefect counts only its 0.1 s sleeps towards the limit), hence the generous one."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=600):
        yield


def sign_policies(policy_dir, work_dir):
    """Sign every policy in policy_dir with a fresh approver key trusted in work_dir/approvers.

    Returns the approvers folder, to set as MCN_APPROVERS_DIR.
    """
    import shutil

    from governance.signing import keygen, load_private

    key, pub = keygen("Test Approver", work_dir / "approver-keys")
    approvers = work_dir / "approvers"
    approvers.mkdir(exist_ok=True)
    shutil.copy(pub, approvers / pub.name)
    for trusted in Path(os.environ[SESSION_TRUSTED]).glob("*.json"):  # opt-out lists stay vouched
        shutil.copy(trusted, approvers / trusted.name)
    for path in sorted(policy_dir.glob("*.yaml")):
        sign_as_every_party(path, load_private(key), "Test Approver")
    return approvers


def sign_as_every_party(path, private, approver: str):
    """In a COPY of a policy, name the given key as the first party's approver and a session
    test approver for each other party (two-party approval needs a different approver per
    party), then sign with every one of them."""
    import re

    from governance.signing import load_private, public_key_id, sign_policy

    others = [load_private(Path(p)) for p in os.environ[PARTY_KEYS].split(os.pathsep)]
    signers = iter(
        [(private, approver)] + [(k, f"Test party {n} approver") for n, k in enumerate(others, 2)]
    )
    used = []

    def named(_match) -> str:
        used.append(next(signers))
        return f"approvers: [{public_key_id(used[-1][0].public_key())}]"

    text = path.read_text()
    if re.search(r"approvers: \[", text):
        path.write_text(re.sub(r"approvers: \[[^\]]*\]", named, text))
    else:  # written back by a YAML dumper (block lists): set them in the data instead
        import yaml

        data = yaml.safe_load(text)
        for party in data["agreement"]["parties"]:
            party["approvers"] = [named(None)[len("approvers: [") : -1]]
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    for key, name in used:
        out = sign_policy(path, key, name)
    return out


def set_dev_keys(folder, mp) -> dict:
    """Create a linkage, vault and audit key in folder and point the environment at them."""
    from governance.audit import ENV_AUDIT_KEY_FILE, ENV_AUDIT_PUBLIC_KEY_FILE, create_audit_key
    from governance.keys import ENV_KEY_FILE, create_dev_key
    from governance.vault import ENV_VAULT_KEY_FILE, create_vault_key

    paths = {
        ENV_KEY_FILE: folder / "linkage.key",
        ENV_VAULT_KEY_FILE: folder / "vault.key",
        ENV_AUDIT_KEY_FILE: folder / "audit.key",
    }
    for (env, path), make in zip(
        paths.items(), (create_dev_key, create_vault_key, create_audit_key), strict=True
    ):
        make(path)
        mp.setenv(env, str(path))
    mp.setenv(ENV_AUDIT_PUBLIC_KEY_FILE, str(paths[ENV_AUDIT_KEY_FILE].with_suffix(".pub")))
    mp.delenv("MCN_LINKAGE_KEY", raising=False)
    return paths


@pytest.fixture
def dev_keys(tmp_path, monkeypatch) -> dict:
    return set_dev_keys(tmp_path / "keys", monkeypatch)


def trust_test_approver(work_dir, mp):
    """A test IG approver, trusted beside the shipped ones (MCN_APPROVERS_DIR); its private key."""
    from governance.signing import APPROVERS_DIR, keygen, load_private

    folder = work_dir / "test-approvers"
    key = work_dir / "approver-keys" / "test-ig-officer.key"
    if not key.exists():
        key, pub = keygen("Test IG officer", key.parent)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / pub.name).write_bytes(pub.read_bytes())
    current = os.environ.get("MCN_APPROVERS_DIR") or str(APPROVERS_DIR)
    if str(folder) not in current.split(os.pathsep):
        mp.setenv("MCN_APPROVERS_DIR", f"{current}{os.pathsep}{folder}")
    return load_private(key)


def grant_user(data_root, work_dir, mp, role, purposes, name="Test User", until=None):
    """A user key pair and an IG-signed grant for it in data_root/grants; the key's path."""
    import datetime as dt

    from governance import grants
    from governance.signing import keygen

    approver = trust_test_approver(work_dir, mp)
    slug = name.lower().replace(" ", "-")
    key = work_dir / "users" / f"{slug}.key"
    if not key.exists():
        keygen(name, key.parent, kind="u")
    user = grants.load_user_key(key)
    grant = grants.issue(
        name,
        user.private.public_key(),
        role,
        purposes,
        until or dt.date.today() + dt.timedelta(days=30),
        "Test IG officer",
        approver,
        dt.date.today(),
    )
    grants.write(grant, grants.grants_dir(data_root))
    return key


def keep_operator_head(original, copy) -> None:
    """A copied data directory keeps the operator's record of the last head it sealed (kept per
    path, outside the data directory), as if the operator had sealed the copy where it is."""
    import shutil

    from governance.audit import operator_head_path

    kept = operator_head_path(Path(original) / "audit")
    if kept.exists():
        target = operator_head_path(Path(copy) / "audit")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(kept, target)


def vault_sealed_long_ago(data) -> None:
    """As if the pipeline had sealed every vault file in 2024 (sidecars re-MAC'd with the vault
    key, which only the pipeline holds: an insider's edit of the date fails its check, R09)."""
    from flows.io import sha256_file
    from governance import sidecars
    from governance.vault import load_vault_key

    key = load_vault_key()
    for vault in (Path(data) / "vault").rglob("*.parquet"):
        meta = json.loads(vault.with_suffix(".json").read_text())
        meta = sidecars.with_mac(
            {**meta, "sealed_on": "2024-01-01"}, sha256_file(vault), key.mac_material(), "vault"
        )
        vault.with_suffix(".json").write_text(json.dumps(meta))
