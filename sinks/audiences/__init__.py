"""The audience sink: membership changes and audience definitions into PostgreSQL."""
