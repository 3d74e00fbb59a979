"""Thin Dagster wrappers over `hv_pipelines.core`: one module per domain, each exporting `defs`."""
