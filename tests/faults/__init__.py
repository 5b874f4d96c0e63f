"""Fault scenarios: real processes, a private broker and database, counted I/O."""
