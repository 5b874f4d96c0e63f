"""The OpenAPI 3.1 document of the gateway, served at ``/openapi.json``.

Written by hand next to the routes rather than generated: the contract is what
subscribers code against, so a change to it should be a visible diff here. A
schemathesis run in the integration tests sends generated requests from this
document and fails on any 500 or undocumented status.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from ingest_gateway.capture import dumps

_TEXT: Final = {"type": "string", "minLength": 1, "maxLength": 2048}
_NULLABLE_TEXT: Final = {"type": ["string", "null"], "maxLength": 2048}

IDENTITY: Final = {
    "type": "object",
    "description": "At least one of email, linkedin_url, company_domain.",
    "additionalProperties": False,
    "properties": {
        "email": _NULLABLE_TEXT,
        "linkedin_url": _NULLABLE_TEXT,
        "company_domain": _NULLABLE_TEXT,
        "first_name": _NULLABLE_TEXT,
        "last_name": _NULLABLE_TEXT,
        "title": _NULLABLE_TEXT,
    },
}

SIGNAL: Final = {
    "type": "object",
    "required": ["signal_type", "source", "occurred_at", "identity"],
    "additionalProperties": False,
    "properties": {
        "signal_type": {**_TEXT, "examples": ["website_visit"]},
        "source": _TEXT,
        "occurred_at": {
            "type": "string",
            "description": (
                "RFC 3339 with an offset (Z, z or +hh:mm); fractional seconds are "
                "truncated to microseconds; at most a day ahead of the server."
            ),
            "examples": ["2024-05-01T12:00:00Z"],
        },
        "identity": {"$ref": "#/components/schemas/Identity"},
        "event_name": _NULLABLE_TEXT,
        "context": {
            "type": ["object", "null"],
            "description": (
                "Any JSON object; integers are kept exact. Refused: NaN, Infinity, "
                "integers over 64 digits, NUL or lone surrogates, deep nesting."
            ),
        },
        "idempotency_key": {
            **_NULLABLE_TEXT,
            "description": (
                "Scoped to the workspace only (not the source). A resend with the "
                "same body answers the first capture with duplicate: true; another "
                "body under the same key answers 409 naming idempotency_key."
            ),
        },
    },
}

QUALIFICATION: Final = {
    "type": ["object", "null"],
    "properties": {
        "icp_code": {"type": ["string", "null"]},
        "icp_score": {"type": "integer"},
        "persona_code": {"type": ["string", "null"]},
        "persona_score": {"type": "integer"},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "rules_version": {"type": "string"},
    },
}

CAPTURE_ANSWER: Final = {
    "type": "object",
    "required": ["signal_capture_id", "matched_record_id", "qualification"],
    "properties": {
        "signal_capture_id": {"type": "string"},
        "matched_record_id": {"type": "string"},
        "qualification": {"$ref": "#/components/schemas/Qualification"},
        "status": {
            "type": "string",
            "enum": ["accepted", "pending", "captured", "duplicate"],
            "description": (
                "accepted/pending: stored in Kafka, the processor has not answered "
                "within the wait (pending: resend to learn replay or conflict)."
            ),
        },
        "duplicate": {"type": "boolean"},
    },
}

ERROR: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {
                    "type": "string",
                    "examples": ["invalid_json", "invalid_signal", "unauthorized"],
                },
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {
                            "field": {
                                "type": "string",
                                "description": "identity.email, context.a.b, $",
                            },
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
        "signal_capture_id": {"type": "string"},
    },
}

BATCH_RESULT: Final = {
    "type": "object",
    "required": ["index", "status"],
    "properties": {
        "index": {"type": "integer"},
        "status": {"type": "integer"},
        "signal_capture_id": {"type": "string"},
        "matched_record_id": {"type": "string"},
        "error": ERROR["properties"]["error"],  # type: ignore[index]
    },
}

SIGNAL_TYPE: Final = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "display_name": {"type": "string"},
        "description": {"type": "string"},
        "builtin": {"type": "boolean"},
        "enabled": {"type": "boolean"},
        "autoqualify": {"type": "boolean"},
        "sub_rules": {"type": "array"},
    },
}

DECLARE_TYPE: Final = {
    "type": "object",
    "required": ["display_name", "description"],
    "additionalProperties": False,
    "properties": {
        "display_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "description": {"type": "string", "minLength": 1, "maxLength": 1000},
        "autoqualify": {"type": "boolean", "default": True},
        "sub_rules": {
            "type": "array",
            "maxItems": 64,
            "items": {
                "type": "object",
                "required": ["bucket"],
                "properties": {
                    "bucket": {"type": "string"},
                    "when": {"type": "object"},
                },
            },
        },
    },
}


def _json(schema: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    return {"application/json": {"schema": schema}}


def _answer(description: str, schema: dict[str, Any] | str) -> dict[str, Any]:
    return {"description": description, "content": _json(schema)}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "A field breaks the contract; each offending field is named.",
        401: "Missing or unknown key; checked before the body is read.",
        403: "The signal type is not enabled in the workspace.",
        404: "Not found in the caller's workspace.",
        409: "idempotency_key reused with a different body.",
        413: "The body passed the size limit (counted while reading).",
        415: "The body is not application/json (or NDJSON for batches).",
        429: "The workspace's event budget is spent; see Retry-After.",
        503: "Kafka or the store cannot take the request now; see Retry-After.",
    }
    return {str(s): _answer(reasons[s], "Error") for s in statuses}


_BEARER: Final[list[dict[str, list[str]]]] = [{"apiKey": []}]
_ADMIN: Final[list[dict[str, list[str]]]] = [{"adminToken": []}]
_WORKSPACE_PARAM: Final = {
    "name": "workspace_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}
_KEY_PARAM: Final = {
    "name": "key",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}
_SWITCH: Final = {
    "type": "object",
    "required": ["enabled"],
    "additionalProperties": False,
    "properties": {"enabled": {"type": "boolean"}},
}


def _type_operations(security: list[dict[str, list[str]]]) -> dict[str, Any]:
    """The list and declare operations, shared by workspace and operator routes."""
    return {
        "get": {
            "summary": "Built-in and custom signal types of the workspace",
            "security": security,
            "responses": {
                "200": _answer(
                    "The types",
                    {
                        "type": "object",
                        "properties": {
                            "signal_types": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/SignalType"},
                            }
                        },
                    },
                ),
                **_errors(401, 404),
            },
        },
        "post": {
            "summary": "Declare (or redeclare) a custom signal type",
            "security": security,
            "requestBody": {"required": True, "content": _json("DeclareSignalType")},
            "responses": {
                "201": _answer("The declared type", "SignalType"),
                **_errors(400, 401, 404, 413, 415, 503),
            },
        },
    }


def _switch_operation(security: list[dict[str, list[str]]]) -> dict[str, Any]:
    return {
        "patch": {
            "summary": "Enable or disable a built-in or custom type",
            "security": security,
            "requestBody": {"required": True, "content": _json(_SWITCH)},
            "responses": {
                "200": _answer("The type after the change", "SignalType"),
                **_errors(400, 401, 404, 413, 415, 503),
            },
        }
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    admin = "/admin/workspaces/{workspace_id}/signal-types"
    capture_param = {
        "name": "capture_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Unstuck Engine ingest gateway", "version": "1"},
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer"},
                "adminToken": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Signal": SIGNAL,
                "Identity": IDENTITY,
                "Qualification": QUALIFICATION,
                "CaptureAnswer": CAPTURE_ANSWER,
                "BatchResult": BATCH_RESULT,
                "Error": ERROR,
                "SignalType": SIGNAL_TYPE,
                "DeclareSignalType": DECLARE_TYPE,
            },
        },
        "paths": {
            "/signals": {
                "post": {
                    "summary": "Capture one signal",
                    "security": _BEARER,
                    "requestBody": {"required": True, "content": _json("Signal")},
                    "responses": {
                        "200": _answer("Processed, with the result", "CaptureAnswer"),
                        "202": _answer("Stored, not yet processed", "CaptureAnswer"),
                        **_errors(400, 401, 403, 409, 413, 415, 429, 503),
                    },
                }
            },
            "/signals/batch": {
                "post": {
                    "summary": "Capture up to 1,000 signals (JSON array or NDJSON)",
                    "description": "One result per item; a bad item fails alone.",
                    "security": _BEARER,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "maxItems": 1000,
                                    "items": {"$ref": "#/components/schemas/Signal"},
                                }
                            },
                            "application/x-ndjson": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _answer(
                            "A result per item",
                            {
                                "type": "object",
                                "properties": {
                                    "accepted": {"type": "integer"},
                                    "rejected": {"type": "integer"},
                                    "results": {
                                        "type": "array",
                                        "items": {
                                            "$ref": "#/components/schemas/BatchResult"
                                        },
                                    },
                                },
                            },
                        ),
                        **_errors(400, 401, 413, 415, 429, 503),
                    },
                }
            },
            "/signals/{capture_id}": {
                "get": {
                    "summary": "A stored capture of the caller's workspace",
                    "security": _BEARER,
                    "parameters": [capture_param],
                    "responses": {
                        "200": {"description": "The capture as stored"},
                        **_errors(401, 404, 503),
                    },
                }
            },
            "/signal-types": _type_operations(_BEARER),
            "/signal-types/{key}": {
                "parameters": [_KEY_PARAM],
                **_switch_operation(_BEARER),
            },
            admin: {"parameters": [_WORKSPACE_PARAM], **_type_operations(_ADMIN)},
            admin + "/{key}": {
                "parameters": [_WORKSPACE_PARAM, _KEY_PARAM],
                **_switch_operation(_ADMIN),
            },
            "/audiences/{audience_id}/members": {
                "get": {
                    "summary": "Current members of an audience, a page at a time",
                    "security": _BEARER,
                    "parameters": [
                        {
                            "name": "audience_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                        {"name": "after", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "A page of members and next_after"},
                        **_errors(400, 401, 404, 503),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "The process is alive",
                    "security": [],
                    "responses": {"200": {"description": "Alive"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Workspaces loaded; ready for traffic",
                    "security": [],
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": {"description": "Not ready yet, or shutting down"},
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "security": [],
                    "responses": {"200": {"description": "Metrics in text format"}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}},
                }
            },
        },
    }


async def openapi_handler(_request: web.Request) -> web.Response:
    """GET /openapi.json."""
    return web.Response(text=dumps(document()), content_type="application/json")
