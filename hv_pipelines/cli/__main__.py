"""`python -m hv_pipelines.cli` runs `hv` (for environments without the console script on PATH)."""

from hv_pipelines.cli import main

main()
