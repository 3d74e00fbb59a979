"""Exceptions that tell an operator what failed and what to do next.

Every message carries ids, counts and names only: never patient data, never secrets.
"""


class HVError(Exception):
    """Base of every error hv_pipelines raises on purpose."""


class ConfigurationError(HVError):
    """A setting is missing or malformed."""


class StorageError(HVError):
    """The object store refused or lost an operation."""


class IntegrityError(HVError):
    """Encrypted or archived data failed authentication or verification."""
