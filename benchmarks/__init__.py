"""Load measurements of the pipeline's services; run, never asserted."""
