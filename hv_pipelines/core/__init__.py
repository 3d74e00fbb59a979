"""Plain-Python logic of hv_pipelines. Nothing under this package imports Dagster."""
