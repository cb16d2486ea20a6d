"""Errors from the governance engine. Messages carry file, key and rule; never a value."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.errors import ExitCode, UserError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy: where (file and key), what, and a rule code."""

    file: str
    key: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: [{self.code}] {self.message}"


class PolicyError(UserError):
    """One or more problems in data-sharing agreement files, reported together."""

    exit_code = ExitCode.BAD_POLICY

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{len(problems)} problem(s) in data-sharing agreement policies:\n{lines}\n"
            "Fix the policy files named above, then run `mcn policy check`."
        )


class SettingsError(UserError):
    """Need rules or linkage settings that do not fit the contracts and policies, reported
    together before any partner is read (Splink's settings validation does the same)."""

    exit_code = ExitCode.BAD_SETTINGS

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{len(problems)} problem(s) in need rules or linkage settings; nothing was read:\n"
            f"{lines}\nFix the files and keys named above, then run again."
        )


class KeyMissingError(UserError):
    """No pseudonymisation key is configured for a real run."""

    exit_code = ExitCode.MISSING_KEY


class PseudonymisationError(UserError):
    """Hashing failed. Raised without the underlying error, which could carry the key."""

    exit_code = ExitCode.HASHING


class AgreementNotInForceError(UserError):
    """Processing was asked for outside an agreement's valid dates."""

    exit_code = ExitCode.AGREEMENT_NOT_IN_FORCE


class LeakError(UserError):
    """A staged frame failed the leak scan or its checks: nothing was staged."""

    exit_code = ExitCode.CHECKS_FAILED


class PolicySignatureError(UserError):
    """A policy is not signed, changed since signing, or signed by an untrusted key."""

    exit_code = ExitCode.BAD_POLICY

    def __init__(self, message: str, code: str = "POL033") -> None:
        self.code = code
        super().__init__(f"[{code}] {message}")


class AuditError(UserError):
    """The audit log is missing or does not verify."""

    exit_code = ExitCode.AUDIT


class OptOutError(UserError):
    """The national data opt-out list is missing, unreadable or too old: health and care ingest
    stops."""

    exit_code = ExitCode.OPT_OUT


class GrantError(UserError):
    """A user key or grant is missing, not trusted, out of date, or does not cover the request."""

    exit_code = ExitCode.ACCESS_REFUSED


class ReidentificationError(UserError):
    """A re-identification request is not allowed, or the vault cannot be opened."""

    exit_code = ExitCode.ACCESS_REFUSED


class StagingError(UserError):
    """Staged data was made under another policy or linkage key and cannot be remade."""

    exit_code = ExitCode.STALE_STAGING


class QueryRefusedError(UserError):
    """An analyst query reaches past the registered tables. The message never quotes the query."""

    exit_code = ExitCode.QUERY_REFUSED

    def __init__(self, code: str, what: str, catalogue) -> None:
        self.code = code
        tables = ", ".join(sorted(catalogue)) or "(none registered)"
        super().__init__(
            f"[{code}] query refused: {what}. Fix: query only the registered tables: {tables}, "
            "with one SELECT (joins, subqueries, WITH and UNION are fine)."
        )
