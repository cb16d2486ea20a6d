"""`mcn demo` runs again in the same checkout: it empties the data folder an earlier demo made,
and never one it did not make."""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import pytest

from flows import demo
from flows.config import Zones
from flows.errors import BusyError, DataDirError
from flows.runs import LOCK_FILE
from governance.audit import ENV_AUDIT_KEY_FILE, ENV_STATE_DIR, operator_head_path
from schemas.errors import OutputExistsError


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Zones:
    """A checkout whose demo runs under its development audit key, as `mcn demo` sets it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_AUDIT_KEY_FILE, str(demo.DEV_KEYS / "audit.key"))
    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / ".mcn" / "state"))
    return Zones(Path("data"))


def an_earlier_night(zones: Zones) -> Path:
    """What a night leaves: files in sub-folders, the published pointer (a link it makes), and
    the audit head kept outside the folder. Returns the head's path."""
    (zones.audit).mkdir(parents=True)
    (zones.audit / "audit.jsonl").write_text("{}\n")
    zones.optout.mkdir()
    (zones.optout / "manifest.json").write_text("{}")
    (zones.root / "published" / "set-1").mkdir(parents=True)
    (zones.root / "published" / "current").symlink_to("set-1")
    head = operator_head_path(zones.audit)
    head.parent.mkdir(parents=True, exist_ok=True)
    head.write_text("{}")
    return head


def test_a_new_folder_is_made_and_marked(checkout: Zones) -> None:
    demo.fresh_data_dir(checkout)
    assert (checkout.root / demo.DEMO_MARK).is_file()
    assert [p.name for p in checkout.root.iterdir()] == [demo.DEMO_MARK]


def test_a_second_demo_empties_the_folder_the_first_made(checkout: Zones, tmp_path: Path) -> None:
    outside = tmp_path / "published-elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("kept")
    demo.fresh_data_dir(checkout)
    head = an_earlier_night(checkout)
    (checkout.root / "published" / "elsewhere").symlink_to(outside)  # a link out is not followed

    demo.fresh_data_dir(checkout)

    assert sorted(p.name for p in checkout.root.iterdir()) == sorted([LOCK_FILE, demo.DEMO_MARK])
    assert not head.exists()  # else the new audit log would look like a truncated one
    assert (outside / "keep.txt").read_text() == "kept"


def test_a_folder_the_demo_did_not_make_is_left_alone(checkout: Zones) -> None:
    checkout.root.mkdir()
    head = an_earlier_night(checkout)
    with pytest.raises(OutputExistsError, match="did not make") as refused:
        demo.fresh_data_dir(checkout)
    assert "--data-dir" in str(refused.value)
    assert (checkout.audit / "audit.jsonl").exists() and head.exists()
    assert not (checkout.root / demo.DEMO_MARK).exists()


def test_a_planted_mark_does_not_empty_a_folder_under_real_keys(
    checkout: Zones, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An insider who copies the demo's mark into a real data folder cannot make a demo run
    under the partnership's configured keys delete it."""
    checkout.root.mkdir()
    head = an_earlier_night(checkout)
    (checkout.root / demo.DEMO_MARK).write_text("planted")
    monkeypatch.setenv(ENV_AUDIT_KEY_FILE, str(tmp_path / "keys" / "audit.key"))
    with pytest.raises(OutputExistsError, match="development keys"):
        demo.fresh_data_dir(checkout)
    assert (checkout.audit / "audit.jsonl").exists() and head.exists()


def test_a_folder_another_run_holds_is_not_emptied(checkout: Zones) -> None:
    demo.fresh_data_dir(checkout)
    an_earlier_night(checkout)
    with open(checkout.root / LOCK_FILE, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BusyError):
            demo.fresh_data_dir(checkout)
    assert (checkout.audit / "audit.jsonl").exists()


@pytest.mark.parametrize("kind", ["file", "link"])
def test_a_data_path_that_is_not_a_folder_is_refused(
    checkout: Zones, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "real"
    target.mkdir()
    (target / demo.DEMO_MARK).write_text("")
    if kind == "file":
        checkout.root.write_text("")
    else:
        checkout.root.symlink_to(target)
    with pytest.raises(DataDirError, match="not a folder"):
        demo.fresh_data_dir(checkout)
    assert (target / demo.DEMO_MARK).exists()


def test_a_demo_killed_while_emptying_is_emptied_by_the_next(
    checkout: Zones, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mark is never removed, so a folder left half-emptied is still the demo's own. The
    kill comes after every other entry was visited, with one folder left undeleted."""
    demo.fresh_data_dir(checkout)
    an_earlier_night(checkout)
    rmtree = shutil.rmtree

    def killed(message: str) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(
            demo.shutil, "rmtree", lambda p: None if p.name == "published" else rmtree(p)
        )
        patched.setattr(demo, "_say", killed)
        demo.fresh_data_dir(checkout)
    assert (checkout.root / "published").is_dir()
    demo.fresh_data_dir(checkout)
    assert sorted(p.name for p in checkout.root.iterdir()) == sorted([LOCK_FILE, demo.DEMO_MARK])
