"""Property-based fuzzing of the gateway's request validators."""
