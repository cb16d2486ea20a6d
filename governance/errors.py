"""Errors from the governance engine. Messages carry file, key and rule; never a value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy: where (file and key), what, and a rule code."""

    file: str
    key: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: [{self.code}] {self.message}"


class PolicyError(Exception):
    """One or more problems in data-sharing agreement files, reported together."""

    exit_code = 4

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{len(problems)} problem(s) in data-sharing agreement policies:\n{lines}\n"
            "Fix the policy files named above, then run `mcn policy check`."
        )


class KeyMissingError(Exception):
    """No pseudonymisation key is configured for a real run."""

    exit_code = 5


class PseudonymisationError(Exception):
    """Hashing failed. Raised without the underlying error, which could carry the key."""

    exit_code = 6


class AgreementNotInForceError(Exception):
    """Processing was asked for outside an agreement's valid dates."""

    exit_code = 7


class LeakError(Exception):
    """A staged frame failed the leak scan or its checks: nothing was staged."""

    exit_code = 8


class PolicySignatureError(Exception):
    """A policy is not signed, changed since signing, or signed by an untrusted key."""

    exit_code = 4

    def __init__(self, message: str, code: str = "POL033") -> None:
        self.code = code
        super().__init__(f"[{code}] {message}")


class AuditError(Exception):
    """The audit log is missing or does not verify."""

    exit_code = 10


class OptOutError(Exception):
    """The national data opt-out list is missing, unreadable or too old: NHS ingest stops."""

    exit_code = 11


class GrantError(Exception):
    """A user key or grant is missing, not trusted, out of date, or does not cover the request."""

    exit_code = 12


class ReidentificationError(Exception):
    """A re-identification request is not allowed, or the vault cannot be opened."""

    exit_code = 12


class StagingError(Exception):
    """Staged data was made under another policy or linkage key and cannot be remade."""

    exit_code = 14
