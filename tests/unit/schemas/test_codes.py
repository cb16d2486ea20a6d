"""Every extract code is declared once, documented, and the only kind the reading code uses."""

import ast
from pathlib import Path

import pytest

from schemas.codes import CODES, reason
from schemas.errors import ExtractError

ROOT = Path(__file__).resolve().parents[3]
USERS = ("flows/reader.py", "flows/io.py", "flows/stages.py", "transforms/quality.py")


def test_every_code_is_in_the_generated_reference_with_its_level():
    text = (ROOT / "docs" / "schemas.md").read_text()
    for c in CODES.values():
        assert f"| `{c.name}` | {c.level} |" in text, c.name
        assert c.meaning.endswith(".") and c.fix


@pytest.mark.parametrize("module", USERS)
def test_every_code_the_reading_code_names_is_declared(module):
    tree = ast.parse((ROOT / module).read_text())
    names = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and len(node.value) > 3
        and node.value.replace("_", "").isalpha()
        and node.value.isupper()
    }
    assert names, module
    assert names <= set(CODES), f"{module} uses undeclared codes: {sorted(names - set(CODES))}"


def test_codes_are_used_only_at_their_level():
    with pytest.raises(ValueError, match="not a file-level error"):
        ExtractError("SHORT_ROW", "x", "y")
    with pytest.raises(ValueError, match="not a quarantine reason"):
        reason("FILE_EMPTY")
    with pytest.raises(KeyError):
        reason("NO_SUCH_CODE")
    assert reason("BAD_DATE", "event_date") == "BAD_DATE:event_date"
    assert str(ExtractError("FILE_EMPTY", "empty", "crimes.csv")).startswith("FILE_EMPTY: empty")
