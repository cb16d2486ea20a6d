"""Development keys and access for `mcn demo`: made loudly, kept in .mcn/dev-keys/, never for
real data. The demo's analyst queries under a real grant signed by a development IG officer, so
the demo walks the same checked, audited path a real partnership does."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from flows.config import Zones

DEV_KEYS = Path(".mcn") / "dev-keys"
DEV_ENV = Path(".mcn") / "dev.env"
DEV_APPROVER = "Development IG officer"
DEV_ANALYST = "Development analyst"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def dev_key(env_var: str, path: Path, what: str, create: Callable[[Path], bool]) -> None:
    """Use (and if need be create) a development key, loudly, when none is configured."""
    if os.environ.get(env_var):
        return
    made = create(path)
    _say(
        f"!! {'Created' if made else 'Using'} a DEVELOPMENT {what} at {path}: synthetic demo "
        f"data only. Real runs set {env_var} to a key held under your key procedure."
    )
    os.environ[env_var] = str(path)


def dev_keys() -> None:
    """Linkage, vault and audit keys, and the audit public key verifiers use."""
    from governance.audit import (
        ENV_AUDIT_KEY_FILE,
        ENV_AUDIT_PUBLIC_KEY_FILE,
        ENV_STATE_DIR,
        create_audit_key,
    )
    from governance.keys import ENV_KEY, ENV_KEY_FILE, create_dev_key
    from governance.vault import ENV_VAULT_KEY_FILE, create_vault_key

    if not os.environ.get(ENV_KEY):
        dev_key(ENV_KEY_FILE, DEV_KEYS / "linkage.key", "linkage key", create_dev_key)
    dev_key(ENV_VAULT_KEY_FILE, DEV_KEYS / "vault.key", "vault key", create_vault_key)
    dev_key(ENV_AUDIT_KEY_FILE, DEV_KEYS / "audit.key", "audit signing key", create_audit_key)
    public = Path(os.environ[ENV_AUDIT_KEY_FILE]).with_suffix(".pub")
    if not os.environ.get(ENV_AUDIT_PUBLIC_KEY_FILE) and public.exists():
        os.environ[ENV_AUDIT_PUBLIC_KEY_FILE] = str(public)
    os.environ.setdefault(ENV_STATE_DIR, str(Path(".mcn") / "state"))  # `make clean` clears it


DEMO_MARK = ".mcn-demo"  # in a data folder `mcn demo` made: the next demo may start it again


def fresh_data_dir(zones: Zones) -> None:
    """The demo's two nights replay a month of history, so they need a data folder no earlier
    night has written to (its opt-out lists and audit log would refuse the replay). A folder an
    earlier demo made (its mark is in it), under the development keys, is emptied and its audit
    head (kept outside it) forgotten; a folder the demo did not make is never touched."""
    from flows.errors import DataDirError
    from flows.runs import LOCK_FILE, run_lock
    from governance.audit import ENV_AUDIT_KEY_FILE, operator_head_path
    from schemas.errors import OutputExistsError

    root = zones.root
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise DataDirError(
            f"{root} is not a folder (a file or a symbolic link): the demo writes its synthetic "
            "data into a folder of its own. Fix: pass --data-dir with a new folder"
        )
    if root.is_dir() and any(p.name != LOCK_FILE for p in root.iterdir()):
        if not (root / DEMO_MARK).is_file():
            raise OutputExistsError(
                f"{root} holds files that `mcn demo` did not make; the demo starts from an empty "
                "data folder and removes none it did not make. Fix: pass --data-dir with a new "
                f"folder, or move {root} away (if it is an older demo's, `make clean` removes "
                "it with .mcn/)"
            )
        if (
            Path(os.environ.get(ENV_AUDIT_KEY_FILE, "")).resolve()
            != (DEV_KEYS / "audit.key").resolve()
        ):
            raise OutputExistsError(
                f"{root} was made by an earlier demo, but this one runs under a configured "
                "audit key, not the development one: the demo empties a folder only under its "
                "development keys. Fix: pass --data-dir with a new folder, or unset "
                f"{ENV_AUDIT_KEY_FILE}"
            )
        head = operator_head_path(zones.audit)
        with run_lock(zones):  # the mark stays: a demo killed half-way is emptied next time
            for child in root.iterdir():
                if child.name in (LOCK_FILE, DEMO_MARK):
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        head.unlink(missing_ok=True)
        _say(f"!! emptied {root}, the data folder an earlier `mcn demo` made, to start again")
    root.mkdir(parents=True, exist_ok=True, mode=0o750)
    (root / DEMO_MARK).write_text(
        "made by `mcn demo` (synthetic data, development keys): the next demo empties it\n"
    )


OFFICER = DEV_KEYS / "development-ig-officer.key"


def dev_officer() -> None:
    """A development IG officer, trusted only through $MCN_APPROVERS_DIR (this process and
    .mcn/dev.env), beside the shipped approvers."""
    from governance.signing import APPROVERS_DIR, ENV_APPROVERS_DIR, keygen

    approvers = DEV_KEYS / "approvers"
    if not OFFICER.exists():
        keygen(DEV_APPROVER, DEV_KEYS, kind="a")
        approvers.mkdir(parents=True, exist_ok=True)
        shutil.copy(OFFICER.with_suffix(".json"), approvers / OFFICER.with_suffix(".json").name)
    trusted = os.environ.get(ENV_APPROVERS_DIR) or str(APPROVERS_DIR)
    if str(approvers) not in trusted.split(os.pathsep):
        os.environ[ENV_APPROVERS_DIR] = os.pathsep.join([trusted, str(approvers)])


def sign_dev_optout(zones: Zones) -> None:
    """The development IG officer vouches for the synthetic opt-out list."""
    from governance.optout import sign_manifest
    from governance.signing import load_private

    sign_manifest(zones.optout, DEV_APPROVER, load_private(OFFICER))
    _say(f"!! {DEV_APPROVER} signed the synthetic opt-out list (development keys)")


def dev_analyst(zones: Zones) -> None:
    """The development IG officer grants a development analyst the analyst role, once; the
    analyst's key is then the user key."""
    from governance import grants
    from governance.audit import AuditLog, Signer
    from governance.signing import keygen, load_private

    officer, analyst = OFFICER, DEV_KEYS / "development-analyst.key"
    if not analyst.exists():
        keygen(DEV_ANALYST, DEV_KEYS, kind="u")
    os.environ.setdefault(grants.ENV_USER_KEY_FILE, str(analyst))
    user = grants.load_user_key(analyst)
    folder = grants.grants_dir(zones.root)
    if any(grants.in_date(g, dt.date.today()) for g in grants.for_key(folder, user.key_id)):
        return
    approver_key = load_private(officer)
    grant = grants.issue(
        DEV_ANALYST,
        user.private.public_key(),
        "analyst",
        ["demo"],
        dt.date.today() + dt.timedelta(days=90),
        DEV_APPROVER,
        approver_key,
        dt.date.today(),
    )
    grants.write(grant, folder)
    AuditLog(zones.audit, Signer.approver(approver_key)).append(
        "grant_issued",
        **{k: grant[k] for k in ("grant_id", "user", "user_key_id", "role", "purposes")},
        valid_until=grant["valid_until"],
        issued_by=grant["issued_by"],
    )
    _say(f"!! {DEV_APPROVER} granted {DEV_ANALYST} the analyst role (development keys)")


def write_dev_env() -> Path:
    """Shell lines that point a terminal at the development keys (`. .mcn/dev.env`)."""
    from governance.audit import ENV_AUDIT_KEY_FILE, ENV_AUDIT_PUBLIC_KEY_FILE, ENV_STATE_DIR
    from governance.grants import ENV_USER_KEY_FILE
    from governance.keys import ENV_KEY_FILE
    from governance.signing import ENV_APPROVERS_DIR
    from governance.vault import ENV_VAULT_KEY_FILE

    names = (
        ENV_KEY_FILE,
        ENV_VAULT_KEY_FILE,
        ENV_AUDIT_KEY_FILE,
        ENV_AUDIT_PUBLIC_KEY_FILE,
        ENV_APPROVERS_DIR,
        ENV_USER_KEY_FILE,
        ENV_STATE_DIR,
    )
    lines = ["# DEVELOPMENT keys made by `mcn demo`: synthetic data only"]
    for name in names:
        if os.environ.get(name):
            value = os.pathsep.join(
                str(Path(p).resolve()) for p in os.environ[name].split(os.pathsep)
            )
            lines.append(f"export {name}='{value}'")
    DEV_ENV.parent.mkdir(parents=True, exist_ok=True)
    DEV_ENV.write_text("\n".join(lines) + "\n")
    return DEV_ENV


def intervention_list(zones: Zones, run_date: dt.date, seed: int) -> None:
    """A synthetic intervention list (people at a crisis peak, supported from the month after;
    flows/partners/interventions.py) dropped and ingested under its own signed agreement, as
    the support team's would be each night."""
    import polars as pl

    from flows.evaluation import INTERVENTIONS
    from flows.ingest import ingest_partner
    from flows.nightly import new_run_id
    from flows.partners.interventions import demo_starts, write_drop
    from transforms.impact import ImpactSettings

    cohort, use = pl.read_parquet(zones.cohort), pl.read_parquet(zones.service_use)
    starts = demo_starts(cohort, use, ImpactSettings().months_after, 0.6, seed)
    write_drop(zones.landing, starts, run_date)
    ingest_partner(INTERVENTIONS, str(zones.root), run_date, new_run_id())
    _say(f"!! a synthetic intervention list of {starts.height} starts was ingested (demo only)")
