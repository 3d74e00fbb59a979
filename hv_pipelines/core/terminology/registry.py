"""The code systems by name (`loinc`, `snomed`, `rxnorm`, `icd10cm`, `cpt`): module `<name>.SYSTEM`."""

from __future__ import annotations

import importlib

from hv_pipelines.core.errors import HVError
from hv_pipelines.core.terminology.detect import SYSTEMS
from hv_pipelines.core.terminology.system import CodeSystem


def code_system(name: str) -> CodeSystem:
    if name not in SYSTEMS:
        raise HVError(f"unknown code system {name!r}: use one of {', '.join(SYSTEMS)}")
    return importlib.import_module(f"hv_pipelines.core.terminology.{name}").SYSTEM
