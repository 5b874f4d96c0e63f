"""The gateway under load: shared rate limits, back-pressure, shutdown."""
