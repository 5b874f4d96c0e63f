"""Pure tests of the ingest gateway."""
