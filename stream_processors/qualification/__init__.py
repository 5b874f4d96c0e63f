"""ICP and persona qualification: title parsing, workspace rules, scoring, sub-rules.

Everything here is pure and deterministic so the processor can run it per signal
and tests can run it in milliseconds.
"""
