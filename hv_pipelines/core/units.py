"""Quantities as people read them, shared by the CLI's output and the assets' metadata."""

from __future__ import annotations


def human_size(n: float) -> str:
    """Bytes as a person reads them: 512 B, 42.0 KB, 1.3 MB, 2.0 GB, 1.5 TB (powers of 1000)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
