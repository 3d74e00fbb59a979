"""Peak resident memory of one process, as the benches report it.

`getrusage(...).ru_maxrss` is not it: Linux keeps the high-water mark across `execve`, so a child spawned
from a 300 MiB bench reports 300 MiB whatever it used itself. `VmHWM` in /proc/<pid>/status is the
process's own peak since exec.
"""

from __future__ import annotations

from pathlib import Path


def peak_rss_mib(pid: int | str = "self") -> float:
    """The peak RSS (VmHWM) of a process, in MiB; 0 for one that has exited and holds no memory (a zombie)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
