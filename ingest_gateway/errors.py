"""The gateway's errors: each one becomes a JSON answer naming what was wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One offending field, by its path in the body (``identity.email``, ``$``)."""

    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class ApiError(Exception):
    """An answer other than success, with a stable machine-readable code."""

    status: int
    code: str
    message: str
    fields: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "fields": [f.as_json() for f in self.fields],
            }
        }


def invalid(fields: list[FieldError]) -> ApiError:
    """A 400 for a body whose fields break the contract."""
    names = ", ".join(f.field for f in fields)
    return ApiError(400, "invalid_signal", f"invalid fields: {names}", fields)


class BackPressureError(Exception):
    """Kafka cannot take the write now; the caller should retry after a while."""

    def __init__(self, reason: str, retry_after_seconds: int = 5) -> None:
        super().__init__(reason)
        self.retry_after_seconds = retry_after_seconds
