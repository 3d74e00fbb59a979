"""An archive_command wrapper for the fault test: the first push of each file is killed with SIGKILL
the moment its upload's temporary file appears in the store, then the wrapper exits 1 (as a killed
archive_command does). Usage: kill_mid_upload.py STORE_DIR STATE_DIR -- hv wal push %p ...
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

store, state = Path(sys.argv[1]), Path(sys.argv[2])
command = sys.argv[sys.argv.index("--") + 1:]
name = Path(command[3]).name
first = not (state / f"tried-{name}").exists()
(state / f"tried-{name}").touch()
push = subprocess.Popen(command)
if not first:
    sys.exit(push.wait())
deadline = time.monotonic() + 30
while push.poll() is None and time.monotonic() < deadline:
    if any(p.name.startswith(".upload-") for p in store.glob("wal/*/*/.upload-*")):
        os.kill(push.pid, signal.SIGKILL)
        push.wait()
        (state / f"killed-{name}").touch()
        sys.exit(1)
    time.sleep(0.0005)
sys.exit(push.wait())
