"""The errors a user can cause, and the one table of exit codes the `mcn` CLI returns.

Every user error derives from UserError and carries its exit code from EXIT_CODES; its message
says what failed, where, and how to fix it, and never holds a value from a row, an identifier or
a key. The CLI prints that message without a traceback (tracebacks go to the log file).
"""

from __future__ import annotations

from enum import IntEnum

from schemas.codes import code as declared


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    BAD_EXTRACT = 3
    BAD_POLICY = 4
    MISSING_KEY = 5
    HASHING = 6
    AGREEMENT_NOT_IN_FORCE = 7
    CHECKS_FAILED = 8
    NOTHING_THERE = 9
    AUDIT = 10
    OPT_OUT = 11
    ACCESS_REFUSED = 12
    QUERY_REFUSED = 13
    STALE_STAGING = 14
    NO_DATA_DIR = 15
    BUSY = 16
    STALE_PARTNER = 17
    OUTPUT_EXISTS = 18
    BAD_SETTINGS = 19
    BAD_EVIDENCE_SETTINGS = 20
    UNREACHABLE = 21
    INTERRUPTED = 130


# What each exit code means: the README's table is tested against this.
EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.INTERNAL: "internal error (a bug: the traceback is in the log file)",
    ExitCode.USAGE: "usage: a mistyped command, option or value",
    ExitCode.BAD_EXTRACT: "an extract or manifest cannot be read or fails its contract",
    ExitCode.BAD_POLICY: "a policy fails its checks, or its signature",
    ExitCode.MISSING_KEY: "a key is missing or unreadable",
    ExitCode.HASHING: "keyed hashing failed",
    ExitCode.AGREEMENT_NOT_IN_FORCE: (
        "an agreement is not in force on the run date (or, for `mcn ig register`, is expired "
        "or unsigned)"
    ),
    ExitCode.CHECKS_FAILED: "pseudonymised rows failed their checks or the leak scan",
    ExitCode.NOTHING_THERE: "nothing to query or score, or the query did not run",
    ExitCode.AUDIT: "the audit log does not verify",
    ExitCode.OPT_OUT: "the opt-out list is missing, altered, stale or future-dated",
    ExitCode.ACCESS_REFUSED: "re-identification or access refused (no key, no grant, not allowed)",
    ExitCode.QUERY_REFUSED: "the SQL sandbox refused the query",
    ExitCode.STALE_STAGING: "staged data was made under another policy or key",
    ExitCode.NO_DATA_DIR: "the data directory does not exist or is not one",
    ExitCode.BUSY: "another run holds the data directory",
    ExitCode.STALE_PARTNER: "a partner's data is older than the staleness limit",
    ExitCode.OUTPUT_EXISTS: "the output exists; nothing was overwritten",
    ExitCode.BAD_SETTINGS: "need rules or linkage settings do not fit the contracts and policies",
    ExitCode.BAD_EVIDENCE_SETTINGS: (
        "unit costs, deflators, the intervention list or business-case parameters cannot be used"
    ),
    ExitCode.UNREACHABLE: "the storage location or the Dask cluster cannot be reached",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); the last published outputs stand",
}


class UserError(Exception):
    """Something the user can fix: one clear message, a stable exit code, no traceback.

    Pickles as it is (message and attributes), whatever its __init__ takes: a task's error
    comes back from a Dask worker to the flow that reports it (flows.dask_runner)."""

    exit_code: int = ExitCode.INTERNAL

    def __reduce__(self):
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(cls: type[UserError], args: tuple, state: dict) -> UserError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


class SchemaError(UserError):
    """A partner extract does not match its contract (user-fixable)."""

    exit_code = ExitCode.BAD_EXTRACT

    def __init__(self, what: str, where: str, fix: str) -> None:
        self.what, self.where, self.fix = what, where, fix
        super().__init__(f"{what} ({where}). Fix: {fix}")


class OutputExistsError(UserError):
    """A command would overwrite something it must not (a key, a kept head, a data directory)."""

    exit_code = ExitCode.OUTPUT_EXISTS


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
