"""Vendor payloads (Segment, Calendly, Typeform, HubSpot, Pipedrive) as signal bodies.

Each vendor module maps one payload, exactly as the vendor sends it, to zero or
more bodies for `POST /signals`. A payload that names nobody the API can match
(no email, LinkedIn URL or company domain) maps to an empty list rather than an
error: vendor feeds are full of anonymous events, and one must not stop a batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

import structlog

from ingest_gateway.vendors import calendly, hubspot, pipedrive, segment, typeform


class VendorMapper(Protocol):
    """The shape of every vendor's `to_signals`."""

    def __call__(
        self, payload: Mapping[str, Any], *, received_at: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Map one vendor payload to signal bodies."""
        ...


VENDORS: Final[dict[str, VendorMapper]] = {
    calendly.SOURCE: calendly.to_signals,
    typeform.SOURCE: typeform.to_signals,
    pipedrive.SOURCE: pipedrive.to_signals,
    hubspot.SOURCE: hubspot.to_signals,
    segment.SOURCE: segment.to_signals,
}
# Most specific first: Segment's test (a `type` field) is the loosest of all.
_DETECTORS: Final = (
    (calendly.SOURCE, calendly.looks_like),
    (typeform.SOURCE, typeform.looks_like),
    (pipedrive.SOURCE, pipedrive.looks_like),
    (hubspot.SOURCE, hubspot.looks_like),
    (segment.SOURCE, segment.looks_like),
)
# List wrappers of vendor APIs: HubSpot `results` / `contacts` / `events`,
# Typeform's Responses API `items`, Segment's batch endpoint `batch`.
WRAPPER_KEYS: Final = ("results", "contacts", "events", "items", "batch")

log = structlog.get_logger(__name__)


class VendorFileError(ValueError):
    """A vendor file that is neither JSON nor JSON Lines; names the line at fault."""


def detect_vendor(payload: Any) -> str | None:
    """The vendor whose payload shape this is, or None when none matches."""
    if not isinstance(payload, Mapping):
        return None
    for name, looks_like in _DETECTORS:
        if looks_like(payload):
            return name
    return None


def signals_from_payload(
    document: Any, vendor: str | None = None, *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map one parsed document (a payload, a list, or a list wrapper) to signals."""
    if vendor is not None and vendor not in VENDORS:
        raise ValueError("unknown vendor " + repr(vendor))

    signals: list[dict[str, Any]] = []
    for payload in _payloads(document):
        name = vendor or detect_vendor(payload)
        if name is None:
            log.warning("vendor_payload_unrecognized", keys=sorted(payload)[:10])
            continue
        signals.extend(VENDORS[name](payload, received_at=received_at))
    return signals


def signals_from_file(
    path: Path, vendor: str | None = None, *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map every payload in a JSON or JSON Lines file to signal bodies.

    `received_at` stands in for the event time of payloads that carry none; the
    file's own modification time would be a guess, so none is assumed.
    """
    text = path.read_text(encoding="utf-8")

    signals: list[dict[str, Any]] = []
    for document in _documents(text, path):
        signals.extend(signals_from_payload(document, vendor, received_at=received_at))

    log.info("vendor_file_mapped", path=path.name, vendor=vendor, signals=len(signals))
    return signals


def _documents(text: str, path: Path) -> list[Any]:
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass

    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except json.JSONDecodeError as error:
            message = f"{path.name} line {number} is not JSON: {error.msg}"
            raise VendorFileError(message) from error
    return documents


def _payloads(document: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(document, list):
        for item in document:
            yield from _payloads(item)
        return
    if not isinstance(document, Mapping):
        return

    for key in WRAPPER_KEYS:
        items = document.get(key)
        if isinstance(items, list) and detect_vendor(document) is None:
            yield from _payloads(items)
            return
    yield document


__all__ = [
    "VENDORS",
    "VendorFileError",
    "VendorMapper",
    "detect_vendor",
    "signals_from_file",
    "signals_from_payload",
]
