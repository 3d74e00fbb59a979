"""Jobs, schedules and sensors, one module per domain, each exporting `defs`."""
