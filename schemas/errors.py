"""Errors raised while reading partner extracts against their contracts.

Messages name the file, the column and the rule; never a value from a row.
"""

from schemas.codes import code as declared


class SchemaError(Exception):
    """A partner extract does not match its contract (user-fixable)."""

    exit_code = 3

    def __init__(self, what: str, where: str, fix: str) -> None:
        self.what, self.where, self.fix = what, where, fix
        super().__init__(f"{what} ({where}). Fix: {fix}")


class ExtractError(SchemaError):
    """A partner's file cannot be used at all: one of the `file` codes of schemas.codes.

    Stops that partner for the night; the message starts with the code, names the file (and
    the line or column where one is at fault) and the fix, never a value from the file."""

    def __init__(self, code: str, what: str, where: str, fix: str | None = None) -> None:
        c = declared(code)
        if c.level != "file":
            raise ValueError(f"{code} is a {c.level} code, not a file-level error")
        self.code = code
        super().__init__(f"{code}: {what}", where, fix or c.fix)
