"""Tests of the ingest gateway against the running pipeline."""
