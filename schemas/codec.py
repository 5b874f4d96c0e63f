"""Avro single-object encoding of every topic value.

Each message starts with the two marker bytes and the CRC-64-AVRO fingerprint of its
writer schema, so a subscriber can tell which schema wrote it without a registry and
an old message stays readable after the schema evolves.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

import fastavro
import fastavro.schema

SINGLE_OBJECT_MARKER: Final = b"\xc3\x01"
HEADER_SIZE: Final = len(SINGLE_OBJECT_MARKER) + 8

# Schemas that others reference by name come first.
SCHEMA_FILES: Final = (
    "qualification",
    "company",
    "signal_raw",
    "record",
    "reply",
    "webhook",
    "workspace_config",
    "dead_letter",
    "audience_definition",
    "audience_membership",
)


class CodecError(ValueError):
    """A message that cannot be decoded; the raw bytes stay with the caller."""


@dataclass(frozen=True)
class Schema:
    """A parsed writer schema and the fingerprint that names it on the wire."""

    name: str
    parsed: Any
    fingerprint: bytes

    @property
    def header(self) -> bytes:
        return SINGLE_OBJECT_MARKER + self.fingerprint


@cache
def _registry() -> dict[str, Schema]:
    named: dict[str, Any] = {}
    by_file: dict[str, Schema] = {}
    package = resources.files("schemas") / "avro"

    for stem in SCHEMA_FILES:
        raw = json.loads((package / f"{stem}.avsc").read_text(encoding="utf-8"))
        parsed = fastavro.parse_schema(raw, named_schemas=named)
        canonical = fastavro.schema.to_parsing_canonical_form(parsed)
        digest = fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")
        fingerprint = struct.pack("<Q", int(digest, 16))
        by_file[stem] = Schema(stem, parsed, fingerprint)

    return by_file


def schema(stem: str) -> Schema:
    """The schema stored in ``avro/<stem>.avsc``."""
    return _registry()[stem]


def encode(stem: str, value: dict[str, Any]) -> bytes:
    """Encode ``value`` with the named schema, prefixed by its fingerprint."""
    writer = schema(stem)
    buffer = io.BytesIO()
    buffer.write(writer.header)
    fastavro.schemaless_writer(buffer, writer.parsed, value)
    return buffer.getvalue()


def decode(stem: str, data: bytes | None) -> dict[str, Any]:
    """Decode a message written with the named schema.

    Any failure becomes ``CodecError`` so callers can dead-letter the original
    bytes, which they still hold, without knowing fastavro's exception types.
    """
    if data is None:
        raise CodecError("message has no value")

    reader = schema(stem)
    if data[:HEADER_SIZE] != reader.header:
        raise CodecError(f"message is not single-object encoded with schema {stem}")

    try:
        value = fastavro.schemaless_reader(
            io.BytesIO(data[HEADER_SIZE:]), reader.parsed, reader.parsed
        )
    except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError) as error:
        raise CodecError(f"cannot decode {stem}: {error}") from error

    if not isinstance(value, dict):
        raise CodecError(f"{stem} did not decode to a record")
    return value
