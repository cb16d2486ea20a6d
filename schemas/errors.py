"""Errors raised while reading partner extracts against their contracts.

Messages name the file, the column and the rule; never a value from a row.
"""


class SchemaError(Exception):
    """A partner extract does not match its contract (user-fixable)."""

    exit_code = 3

    def __init__(self, what: str, where: str, fix: str) -> None:
        self.what, self.where, self.fix = what, where, fix
        super().__init__(f"{what} ({where}). Fix: {fix}")
