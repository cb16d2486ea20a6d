"""User errors survive pickling (a task's error comes back from a Dask worker that way), with
their message, exit code and attributes, whatever their __init__ takes."""

import pickle

import pytest

from governance.errors import PolicyError, PolicySignatureError, Problem
from schemas.errors import ExtractError, SchemaError, UserError


@pytest.mark.parametrize(
    "error",
    [
        SchemaError("a column is missing", "crimes.csv", "add it"),
        ExtractError("DUPLICATE_COLUMNS", "columns more than once: a", "crimes.csv"),
        PolicyError([Problem("police.yaml", "extracts.crimes.x", "POL012", "not in schema")]),
        PolicySignatureError("no signature", "POL030"),
        UserError("plain"),
    ],
    ids=type,
)
def test_a_user_error_pickles_with_its_message_code_and_attributes(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert back.exit_code == error.exit_code and vars(back) == vars(error)
