"""Medical standardization: lab results to LOINC and UCUM, reference ranges, interpretation, code coverage."""

from hv_pipelines.core.standardize.ranges import RangeFileError, load_lab_ranges, sync_curated
from hv_pipelines.core.standardize.stage import StandardizeOutcome, inputs_fingerprint, standardize_stage

__all__ = ["RangeFileError", "StandardizeOutcome", "inputs_fingerprint", "load_lab_ranges", "standardize_stage",
           "sync_curated"]
