"""Vendor payload mappings, tested on real payloads copied into tests/fixtures."""
