"""Reference terminologies (LOINC, SNOMED CT, RxNorm, ICD-10-CM, CPT) from their publishers' releases.

`load_release(database_url, system, paths)` inspects, stages, checks and merges one release in one
transaction; `identify` tells which system and version a file or folder name is.
"""

from hv_pipelines.core.terminology.detect import SYSTEMS, identify, identify_name
from hv_pipelines.core.terminology.loader import (
    LoadResult,
    ReleaseCheckError,
    StaleReleaseError,
    load_release,
)
from hv_pipelines.core.terminology.registry import code_system
from hv_pipelines.core.terminology.release import ReleaseError

__all__ = ["SYSTEMS", "LoadResult", "ReleaseCheckError", "ReleaseError", "StaleReleaseError", "code_system",
           "identify", "identify_name", "load_release"]
