"""User errors raised at the application edge (runs, the CLI). See schemas.errors."""

from __future__ import annotations

from schemas.errors import ExitCode, UserError


class NothingThere(UserError):
    """Nothing to query or score yet."""

    exit_code = ExitCode.NOTHING_THERE


class QueryFailed(UserError):
    """The query was allowed but did not run (a mistake in the SQL)."""

    exit_code = ExitCode.NOTHING_THERE


class DataDirError(UserError):
    """The data directory given does not exist or is not one."""

    exit_code = ExitCode.NO_DATA_DIR


class BusyError(UserError):
    """Another run holds the data directory."""

    exit_code = ExitCode.BUSY


class StalePartnerError(UserError):
    """A partner's newest good data is older than the night allows."""

    exit_code = ExitCode.STALE_PARTNER


class Interrupted(UserError):
    """Ctrl-C or SIGTERM: stopped, audited; the last published outputs stand."""

    exit_code = ExitCode.INTERRUPTED


class UsageError(UserError):
    """Options that make no sense together (found after parsing)."""

    exit_code = ExitCode.USAGE


class PublishedIntegrityError(UserError):
    """A published table is not what the signed audit log says was published."""

    exit_code = ExitCode.AUDIT


class StorageError(UserError):
    """The storage location (--storage, $MCN_STORAGE_URL) cannot be read or written."""

    exit_code = ExitCode.UNREACHABLE


class ClusterError(UserError):
    """The Dask scheduler (--dask-address, $MCN_DASK_ADDRESS) cannot be reached."""

    exit_code = ExitCode.UNREACHABLE
