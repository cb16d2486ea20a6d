import secrets

import pytest

from governance.errors import KeyMissingError
from governance.keys import ENV_KEY, ENV_KEY_FILE, create_dev_key, load_linkage_key


def test_no_key_configured_is_a_clear_error():
    with pytest.raises(KeyMissingError, match=ENV_KEY_FILE):
        load_linkage_key({})


def test_missing_key_file_names_the_file(tmp_path):
    with pytest.raises(KeyMissingError, match="does not exist"):
        load_linkage_key({ENV_KEY_FILE: str(tmp_path / "nope.key")})


def test_short_or_non_hex_key_is_refused_without_echoing_it():
    bad = "not-a-key-" + "z" * 60
    with pytest.raises(KeyMissingError) as info:
        load_linkage_key({ENV_KEY: bad})
    assert bad not in str(info.value)


def test_key_never_shows_itself(tmp_path):
    text = secrets.token_hex(32)
    path = tmp_path / "k"
    path.write_text(text)
    key = load_linkage_key({ENV_KEY_FILE: str(path)})
    assert text not in repr(key) and text not in str(key)
    assert key.key_id.startswith("k-") and key.key_id == str(key)


def test_dev_key_is_made_once_and_private(tmp_path):
    path = tmp_path / ".mcn" / "dev.key"
    assert create_dev_key(path) is True
    first = path.read_text()
    assert create_dev_key(path) is False and path.read_text() == first
    assert path.stat().st_mode & 0o077 == 0
    assert load_linkage_key({ENV_KEY_FILE: str(path)}).key_id
