"""The public JSON body of a signal: its field names and text limit.

The gateway validates it, the processor accepts it straight from the raw topic,
and the CLI builds it from feed files; all three must agree on the same names, so
they live here rather than in each service.
"""

from __future__ import annotations

from typing import Final

IDENTITY_FIELDS: Final = (
    "email",
    "linkedin_url",
    "company_domain",
    "first_name",
    "last_name",
    "title",
)
TOP_LEVEL_FIELDS: Final = (
    "signal_type",
    "source",
    "occurred_at",
    "event_name",
    "idempotency_key",
)
BODY_FIELDS: Final = frozenset({*TOP_LEVEL_FIELDS, "identity", "context"})
# The longest text value accepted anywhere in a body, in characters.
MAX_TEXT: Final = 2048
