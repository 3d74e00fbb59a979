"""The benches' RSS helper reports a child's own peak, not the high-water mark it inherited over exec."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.rss import peak_rss_mib
from tests.conftest import ROOT

CHILD = """
import json, resource
from bench.rss import peak_rss_mib
print(json.dumps({"own": peak_rss_mib(), "inherited": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_a_small_child_of_a_large_parent_reports_its_own_peak():
    ballast = b"\x01" * (400 * 2**20)  # touched, so resident: the parent's peak is above 400 MiB
    assert peak_rss_mib() > 400
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True)
    child = json.loads(out.stdout)
    assert child["own"] < 100  # a bare interpreter
    assert child["inherited"] > 400  # what ru_maxrss says after exec: the parent's figure
    del ballast
