"""Pure tests that run in milliseconds: no network, no servers."""
