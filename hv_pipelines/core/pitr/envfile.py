"""The env file archive_command and restore_command read their settings from.

PostgreSQL runs `hv wal push` with the server's environment, which should not hold the master key;
so the object store URL and key settings come from a file the server's OS user alone can read
(mode 0600). A file that others can read is refused: the key would not be secret.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dotenv import dotenv_values

from hv_pipelines.core.errors import ConfigurationError


def apply_env_file(path: Path) -> None:
    """Put the variables of `path` into this process's environment (they win over inherited ones)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigurationError(f"cannot read the env file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"the env file {path} can be read by other users (mode {stat.S_IMODE(mode):o}): "
                                 f"it holds the master key; run `chmod 600 {path}`")
    for name, value in dotenv_values(path).items():
        if value is not None:
            os.environ[name] = value


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Write `values` as a 0600 env file (created with that mode: never readable by others, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        for name, value in values.items():
            out.write(f"{name}='{value}'\n")
    os.chmod(path, 0o600)


# What restore_command needs: copied into a 0600 env file when a restore is not given one.
RESTORE_ENV_NAMES = ("HV_OBJECT_STORE_URL", "ENCRYPTION_KEY", "HV_ENCRYPTION_KEYS_RETIRED", "HV_KMS_KEY_ID",
                     "HV_S3_ENDPOINT_URL", "HV_S3_SSE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE")


def restore_env(**overrides: str | None) -> dict[str, str]:
    """The restore_command settings from this process's environment, with `overrides` (None: unset)."""
    env = {name: os.environ[name] for name in RESTORE_ENV_NAMES if os.environ.get(name)}
    env.update({name: value for name, value in overrides.items() if value})
    return env
