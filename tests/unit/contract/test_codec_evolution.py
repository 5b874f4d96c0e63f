"""An old message stays readable after its schema evolves: its fingerprint names it."""

from __future__ import annotations

import copy
import io
from typing import Any

import fastavro
import pytest

from schemas import codec

OLD_LEAD: dict[str, Any] = {
    "type": "record",
    "name": "Lead",
    "namespace": "test.codec",
    "fields": [{"name": "lead_id", "type": "string"}],
}


def _schema(raw: dict[str, Any]) -> codec.Schema:
    parsed = fastavro.parse_schema(copy.deepcopy(raw), named_schemas={})
    return codec.Schema("lead", parsed, codec.fingerprint_of(parsed))


def _encode(writer: codec.Schema, value: dict[str, Any]) -> bytes:
    buffer = io.BytesIO(writer.header)
    buffer.seek(0, io.SEEK_END)
    fastavro.schemaless_writer(buffer, writer.parsed, value)
    return buffer.getvalue()


def _evolved() -> codec.Schema:
    raw = copy.deepcopy(OLD_LEAD)
    raw["fields"].append({"name": "plan", "type": "string", "default": "free"})
    return _schema(raw)


def test_an_old_message_decodes_with_the_new_reader_and_its_defaults() -> None:
    """Written before a field was added, read after: the default fills it."""
    old, new = _schema(OLD_LEAD), _evolved()
    message = _encode(old, {"lead_id": "l-1"})

    decoded = codec.decode_with(message, new, {old.fingerprint: old})

    assert decoded == {"lead_id": "l-1", "plan": "free"}


def test_a_fingerprint_of_no_known_version_is_a_codec_error() -> None:
    """An unknown writer is refused by name, so the raw bytes can be dead-lettered."""
    old, new = _schema(OLD_LEAD), _evolved()
    message = _encode(old, {"lead_id": "l-1"})

    with pytest.raises(codec.CodecError, match="no version of lead"):
        codec.decode_with(message, new, {new.fingerprint: new})


def test_every_released_version_is_a_known_writer() -> None:
    """Each schema of avro/released/ can name the writer of a message today."""
    released_root = codec._avro_folder() / "released"
    releases = [f for f in released_root.iterdir() if f.is_dir()]
    writers = codec._writers()

    unknown = [
        f"{release.name}/{stem}"
        for release in releases
        for stem, found in codec.load_schemas(release).items()
        if found.fingerprint not in writers[stem]
    ]

    assert releases
    assert unknown == []


def test_current_messages_round_trip() -> None:
    """What the codec writes today it reads back unchanged."""
    value = {
        "capture_id": "c-1",
        "workspace_id": "w-1",
        "matched_record_id": None,
        "status": "captured",
        "qualification": None,
        "detail": None,
    }

    assert codec.decode("reply", codec.encode("reply", value)) == value
