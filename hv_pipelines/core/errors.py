"""Exceptions that tell an operator what failed and what to do next.

Every message carries ids, counts and names only: never patient data, never secrets.
"""


class HVError(Exception):
    """Base of every error hv_pipelines raises on purpose; `hv` exits with `exit_code`."""

    exit_code = 1


class ConfigurationError(HVError):
    """A setting is missing or malformed."""


class StorageError(HVError):
    """The object store refused or lost an operation."""


class IntegrityError(HVError):
    """Encrypted or archived data failed authentication or verification."""


class DatabaseUnreachable(HVError):
    """The database could not be connected to (malformed URL, no server, login refused): nothing was
    done. Exit code 2, like a usage error: the command never started its work."""

    exit_code = 2
