"""Vendor payloads (Segment, Calendly, Typeform, HubSpot, Pipedrive) as signal bodies.

Each vendor module maps one payload, exactly as the vendor sends it, to zero or
more bodies for `POST /signals`. A payload that names nobody the API can match
(no email, LinkedIn URL or company domain) maps to an empty list rather than an
error: vendor feeds are full of anonymous events, and one must not stop a batch.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FileMapping:
    """A file's signals and the vendors its payloads were recognised as.

    A replay reports both per file: a file that maps to nothing is otherwise
    indistinguishable from one whose events were all anonymous.
    """

    path: Path
    signals: list[dict[str, Any]]
    vendors: tuple[str, ...]
    payloads: int
    unrecognized: int


def signals_from_payload(
    document: Any, vendor: str | None = None, *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map one parsed document (a payload, a list, or a list wrapper) to signals."""
    return _map_document(document, _known(vendor), received_at, Counter())


def signals_from_file(
    path: Path, vendor: str | None = None, *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map every payload in a JSON or JSON Lines file to signal bodies.

    `received_at` stands in for the event time of payloads that carry none; the
    file's own modification time would be a guess, so none is assumed.
    """
    return map_file(path, vendor, received_at=received_at).signals


def map_file(
    path: Path, vendor: str | None = None, *, received_at: datetime | None = None
) -> FileMapping:
    """``signals_from_file`` with what each payload was recognised as."""
    vendor = _known(vendor)
    text = path.read_text(encoding="utf-8")

    seen: Counter[str | None] = Counter()
    signals: list[dict[str, Any]] = []
    for document in _documents(text, path):
        signals.extend(_map_document(document, vendor, received_at, seen))

    vendors = tuple(name for name in seen if name is not None)
    mapping = FileMapping(path, signals, vendors, seen.total(), seen[None])
    if vendors:
        log.info(
            "vendor_file_mapped",
            path=path.name,
            vendor=",".join(vendors),
            signals=len(signals),
            unrecognized=mapping.unrecognized,
        )
    else:
        log.warning(
            "vendor_file_unrecognized",
            path=path.name,
            payloads=mapping.payloads,
            known=sorted(VENDORS),
        )
    return mapping


def _known(vendor: str | None) -> str | None:
    if vendor is not None and vendor not in VENDORS:
        raise ValueError("unknown vendor " + repr(vendor))
    return vendor


def _map_document(
    document: Any,
    vendor: str | None,
    received_at: datetime | None,
    seen: Counter[str | None],
) -> list[dict[str, Any]]:
    """The document's signals; ``seen`` counts its payloads by vendor (None: none)."""
    signals: list[dict[str, Any]] = []
    for payload in _payloads(document):
        name = vendor or detect_vendor(payload)
        seen[name] += 1
        if name is None:
            log.warning("vendor_payload_unrecognized", keys=sorted(payload)[:10])
            continue
        signals.extend(VENDORS[name](payload, received_at=received_at))
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
    "FileMapping",
    "VendorFileError",
    "VendorMapper",
    "detect_vendor",
    "map_file",
    "signals_from_file",
    "signals_from_payload",
]
