"""Security properties of the running pipeline, checked as tests."""
