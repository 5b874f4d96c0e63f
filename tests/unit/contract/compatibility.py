"""Full compatibility between two versions of an Avro schema.

Two checks, because each misses what the other catches: a round trip through
fastavro's schema resolution (write with one version, read with the other, both
ways) on generated sample values, and structural rules (no field removed or
retyped, every new field has a default) that also cover fields a sample leaves at
null.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro

from schemas.codec import SCHEMA_FILES

AVRO_DIR = Path(__file__).resolve().parents[3] / "schemas" / "avro"
RELEASED_DIR = AVRO_DIR / "released"
PRIMITIVE_SAMPLES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 7,
    "long": 1_700_000_000_000_000,
    "float": 1.5,
    "double": 2.5,
    "bytes": b"\x00\x01",
    "string": "sample",
}


def load_set(folder: Path) -> dict[str, Any]:
    """Every schema of a folder, parsed in dependency order, by file stem."""
    named: dict[str, Any] = {}
    parsed: dict[str, Any] = {}
    for stem in SCHEMA_FILES:
        path = folder / f"{stem}.avsc"
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            parsed[stem] = fastavro.parse_schema(raw, named_schemas=named)
    return parsed


def named_types(schema: Any) -> dict[str, Any]:
    """The named types a parsed schema knows, to resolve references by name."""
    return dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}


def sample(schema: Any, full: bool, named: dict[str, Any] | None = None) -> Any:
    """A value of ``schema``: unions take their last branch when ``full``."""
    named = named_types(schema) if named is None else named
    if isinstance(schema, str):
        if schema in named:
            return sample(named[schema], full, named)
        return PRIMITIVE_SAMPLES[schema]
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"] if full else schema
        return sample(branches[-1] if full and branches else branches[0], full, named)

    kind = schema["type"]
    if kind == "record":
        return {f["name"]: sample(f["type"], full, named) for f in schema["fields"]}
    if kind == "array":
        return [sample(schema["items"], full, named)]
    if kind == "map":
        return {"k": sample(schema["values"], full, named)}
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "fixed":
        return b"\x00" * schema["size"]
    return sample(kind, full, named)


def round_trip_errors(writer: Any, reader: Any) -> list[str]:
    """Values written with ``writer`` that ``reader`` cannot read."""
    errors = []
    for full in (False, True):
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, writer, sample(writer, full))
        buffer.seek(0)
        try:
            fastavro.schemaless_reader(buffer, writer, reader)
        except Exception as error:  # any failure is the finding
            errors.append(f"{type(error).__name__}: {error}")
    return errors


def _type_name(schema: Any) -> Any:
    """A comparable shape of a type: names for named types, structure otherwise."""
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return sorted(json.dumps(_type_name(b), sort_keys=True) for b in schema)
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        return schema["name"]
    if kind == "array":
        return ["array", _type_name(schema["items"])]
    if kind == "map":
        return ["map", _type_name(schema["values"])]
    return [kind, schema.get("logicalType")]


def structural_errors(
    old: Any,
    new: Any,
    path: str = "",
    names: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> list[str]:
    """Removed, retyped or default-less fields of records, recursively."""
    names = names or (named_types(old), named_types(new))
    old = names[0].get(old, old) if isinstance(old, str) else old
    new = names[1].get(new, new) if isinstance(new, str) else new
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return []
    if old.get("type") != "record" or new.get("type") != "record":
        return []

    errors = []
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    for name, field in old_fields.items():
        where = f"{path}{old['name']}.{name}"
        if name not in new_fields:
            errors.append(f"{where} was removed")
        elif _type_name(field["type"]) != _type_name(new_fields[name]["type"]):
            errors.append(f"{where} changed type")
        else:
            errors.extend(
                structural_errors(
                    field["type"], new_fields[name]["type"], f"{where}>", names
                )
            )
    for name, field in new_fields.items():
        if name not in old_fields and "default" not in field:
            errors.append(f"{path}{new['name']}.{name} was added without a default")
    return errors


def compatibility_errors(old: Any, new: Any) -> list[str]:
    """Every reason ``new`` is not fully compatible with ``old``; empty if it is."""
    errors = structural_errors(old, new)
    errors += [f"old->new: {e}" for e in round_trip_errors(old, new)]
    errors += [f"new->old: {e}" for e in round_trip_errors(new, old)]
    return errors
