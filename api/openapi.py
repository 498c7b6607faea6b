"""The OpenAPI 3.1 document of the API, written by hand and served at /api/openapi.json.

Kept true by tests/api/test_openapi.py (every /api/ route documented with its methods, every
example valid, real answers valid) and by Schemathesis against a live server
(tests/api/test_schemathesis.py). Closed sets (statuses, event types, templates) come from the
code, so they cannot drift.
"""

import json
from functools import cache
from typing import Any

from django.conf import settings

from jobs.models import EventType, JobStatus
from jobs.scaffolds import TEMPLATES
from jobs.wire import PAYLOAD_FIELDS

Schema = dict[str, Any]

JOB_ID = "5b7f6f0e-2c1a-4d3e-9f8a-1c2b3d4e5f60"
"""The job id of the examples."""
TS = "2026-11-25T20:48:26.123456Z"
EVENT_EXAMPLE: Schema = {
    "job": JOB_ID,
    "seq": 7,
    "type": "progress-update",
    "ts": TS,
    "status": "running",
    "percent": 40,
    "step": {"key": "contracts", "label": "Render contracts", "index": 3, "total": 7},
    "message": "Rendering the contracts",
    "eta_s": 12,
}
FIRST_EVENT_EXAMPLE: Schema = {
    "job": JOB_ID,
    "seq": 1,
    "type": "job-update",
    "ts": TS,
    "status": "queued",
    "percent": 0,
    "step": None,
    "message": "Queued",
    "eta_s": None,
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def _object(
    properties: dict[str, Schema],
    *,
    optional: tuple[str, ...] = (),
    closed: bool = True,
    **more: Any,
) -> Schema:
    required = [name for name in properties if name not in optional]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": not closed,
        **more,
    }


UUID: Schema = {"type": "string", "format": "uuid"}
STATUS: Schema = {"type": "string", "enum": [s.value for s in JobStatus]}
SEQ: Schema = {"type": "integer", "minimum": 0}


def _payload_schemas() -> dict[str, Schema]:
    """Return the schemas of the job's fields an event carries, which the snapshot shows too
    (jobs.wire.PAYLOAD_FIELDS, in that order)."""
    schemas: dict[str, Schema] = {
        "status": {**STATUS, "description": "The job's status (after the event, in an event)."},
        "percent": {"type": "integer", "minimum": 0, "maximum": 100},
        "step": _nullable(_ref("Step")),
        "message": {"type": "string", "description": "Text for a person."},
        "eta_s": {
            "type": ["integer", "null"],
            "minimum": 0,
            "description": "Estimated seconds until the job finishes, if known.",
        },
    }
    return {name: schemas[name] for name in PAYLOAD_FIELDS}


def _payload_example(event: Schema) -> Schema:
    return {name: event[name] for name in PAYLOAD_FIELDS}


def _schemas() -> dict[str, Schema]:
    return {
        "Step": _object(
            {
                "key": {"type": "string", "description": "Stable identifier, e.g. `contracts`."},
                "label": {"type": "string"},
                "index": {"type": "integer", "minimum": 1},
                "total": {"type": "integer", "minimum": 1},
            },
            description="A step of the generation pipeline.",
        ),
        "Event": _object(
            {
                "job": {**UUID, "description": "The job's id."},
                "seq": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Per-job sequence number, 1, 2, 3 … without gaps; the SSE "
                    "`id` and the poll's `since`.",
                },
                "type": {
                    "type": "string",
                    "enum": [t.value for t in EventType],
                    "description": "`completion-status` comes exactly once, last.",
                },
                "ts": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the event was recorded (UTC, microseconds).",
                },
                **_payload_schemas(),
            },
            description="One job event: the same object in the stream's `data` and in the "
            "poll's `events`. Every key is always present.",
            examples=[EVENT_EXAMPLE, FIRST_EVENT_EXAMPLE],
        ),
        "JobSnapshot": _object(
            {
                "id": UUID,
                "name": {"type": "string"},
                "template": {"type": "string"},
                **_payload_schemas(),
                "last_seq": SEQ,
                "error": {"type": "string", "description": "Why the job failed, else empty."},
                "download_url": {
                    "type": ["string", "null"],
                    "description": "Path of the zip once the job succeeded.",
                },
            },
            description="The job as it is now.",
        ),
        "Status": _object(
            {
                "job": _ref("JobSnapshot"),
                "events": {
                    "type": "array",
                    "items": _ref("Event"),
                    "maxItems": 500,
                    "description": "The events after `since`, oldest first.",
                },
                "last_seq": SEQ,
                "more": {
                    "type": "boolean",
                    "description": "True when more events remain: poll again at once.",
                },
                "next_poll_ms": {
                    "type": ["integer", "null"],
                    "exclusiveMinimum": 0,
                    "description": "When to poll again; null once the job finished.",
                },
            },
            examples=[
                {
                    "job": {
                        "id": JOB_ID,
                        "name": "X Coin",
                        "template": "token",
                        **_payload_example(EVENT_EXAMPLE),
                        "last_seq": 7,
                        "error": "",
                        "download_url": None,
                    },
                    "events": [EVENT_EXAMPLE],
                    "last_seq": 7,
                    "more": False,
                    "next_poll_ms": 1000,
                }
            ],
        ),
        "JobParams": {
            "type": "object",
            "required": ["name", "template"],
            "properties": {
                "name": {
                    "type": "string",
                    "minLength": 3,
                    "maxLength": 60,
                    "description": "Letters, digits, spaces, - and _, starting with a letter.",
                },
                "template": {"type": "string", "enum": sorted(TEMPLATES)},
            },
            "additionalProperties": True,
            "description": "The job's parameters: `name`, `template`, and any option of the "
            "template (`GET /api/templates` lists them with their defaults "
            "and limits); options left out take their defaults, unknown ones "
            "are a 400.",
            "examples": [
                {"name": "X Coin", "template": "token"},
                {
                    "name": "Api Coin",
                    "template": "token",
                    "decimals": 6,
                    "burnable": True,
                    "network": "testnet",
                },
            ],
        },
        "JobCreated": _object(
            {
                "id": UUID,
                **{
                    name: {"type": "string", "format": "uri"}
                    for name in (
                        "page_url",
                        "events_url",
                        "status_url",
                        "download_url",
                        "cancel_url",
                    )
                },
            },
            examples=[
                {
                    "id": JOB_ID,
                    "page_url": f"https://composer.example/jobs/{JOB_ID}/",
                    "events_url": f"https://composer.example/api/jobs/{JOB_ID}/events",
                    "status_url": f"https://composer.example/api/jobs/{JOB_ID}/status",
                    "download_url": f"https://composer.example/api/jobs/{JOB_ID}/download",
                    "cancel_url": f"https://composer.example/api/jobs/{JOB_ID}/cancel",
                }
            ],
        ),
        "CancelAccepted": _object(
            {"id": UUID, "status": STATUS}, examples=[{"id": JOB_ID, "status": "cancelling"}]
        ),
        "Templates": _object({"templates": {"type": "array", "items": _ref("Template")}}),
        "Template": _object(
            {
                "key": {"type": "string"},
                "label": {"type": "string"},
                "description": {"type": "string"},
                "required": {"type": "array", "items": {"type": "string"}},
                "options": {"type": "array", "items": _ref("TemplateOption")},
                "defaults": {"type": "object", "additionalProperties": True},
            }
        ),
        "TemplateOption": _object(
            {
                "name": {"type": "string"},
                "kind": {
                    "type": "string",
                    "enum": ["text", "int", "bool", "choice", "ether"],
                    "description": "`ether`: an amount in ETH, sent as decimal text (`0.05`).",
                },
                "label": {"type": "string"},
                "required": {"type": "boolean"},
                "default": {"description": "The value used when the option is left out."},
                "help": {"type": "string"},
                "choices": {
                    "type": "array",
                    "items": _object({"value": {"type": "string"}, "label": {"type": "string"}}),
                },
                "min": {
                    "type": ["integer", "string"],
                    "description": "A whole number; for `ether`, decimal text in ETH.",
                },
                "max": {
                    "type": ["integer", "string"],
                    "description": "A whole number; for `ether`, decimal text in ETH.",
                },
                "unit": {"type": "string", "description": "`ETH` for `ether` options."},
                "max_length": {"type": ["integer", "null"]},
            },
            optional=("choices", "min", "max", "unit", "max_length"),
        ),
        "StreamEvent": {
            "description": "One event of the SSE stream, as an EventSource parses it: a job "
            "event (`id` = its seq, `event` = its type, `data` = the Event as "
            "JSON), or a control event of the stream itself: `ready` opens "
            "every stream (with the `retry:` field in its block) and carries the "
            "stream's cursor as its `id` (the seq after which it sends; 0 without "
            "a cursor), so a client that keeps the last `id` it saw never goes "
            "back; `ping` is the heartbeat (with a comment for proxies); `busy` "
            "says come back later (too many streams open, or the database not "
            "answering: reconnect after `retry_after_s`); `closing` ends every "
            "stream of a server that shuts down (reconnect after `retry_ms`). "
            "`ready` is the only control event with an `id`.",
            "anyOf": [
                _sse(
                    {"type": "string", "enum": [t.value for t in EventType]},
                    _ref("Event"),
                    id_required=True,
                ),
                _sse(
                    {"const": "ready"},
                    _object({"heartbeat_s": {"type": "number"}}),
                    id_required=True,
                ),
                _sse({"const": "ping"}, _object({})),
                _sse(
                    {"const": "closing"}, _object({"retry_ms": {"type": "integer", "minimum": 0}})
                ),
                _sse(
                    {"const": "busy"},
                    _object(
                        {
                            "error": {"enum": ["too_many_streams", "database_unavailable"]},
                            "retry_after_s": {"type": "integer", "minimum": 1},
                        }
                    ),
                ),
            ],
        },
        "Error": _object(
            {
                "error": {
                    "type": "string",
                    "description": "A code to branch on, e.g. "
                    "`not_found`, `invalid_token`, `invalid_params`, `rate_limited`.",
                },
                "detail": {"type": "string", "description": "What was wrong, for a person."},
                "errors": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Per parameter, what is wrong with it (`__all__`: the body).",
                },
                "retry_after_s": {"type": "integer", "minimum": 1},
                "id": UUID,
                "status": STATUS,
            },
            optional=("errors", "retry_after_s", "id", "status"),
            description="Every error under /api/, whatever the status.",
            examples=[{"error": "not_found", "detail": "No such job."}],
        ),
    }


def _sse(event: Schema, data: Schema, *, id_required: bool = False) -> Schema:
    """Return the schema of one kind of SSE event whose `data` is JSON matching `data`."""
    return _object(
        {
            "event": event,
            "id": {
                "type": "string",
                "pattern": "^[0-9]+$",
                "description": "The seq of the job event (or of the last one before).",
            },
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": data,
            },
            "retry": {
                "type": "integer",
                "minimum": 0,
                "description": "The reconnection delay in milliseconds.",
            },
        },
        optional=("retry",) if id_required else ("id", "retry"),
    )


def _error(description: str, example: Schema | None = None, **headers: Schema) -> Schema:
    content: Schema = {"schema": _ref("Error")}
    if example is not None:
        content["example"] = example
    response: Schema = {"description": description, "content": {"application/json": content}}
    if headers:
        response["headers"] = headers
    return response


def _header(description: str, schema: Schema | None = None, *, required: bool = True) -> Schema:
    return {
        "description": description,
        "required": required,
        "schema": schema or {"type": "string"},
    }


ETAG = _header(
    "Validator of this answer: offer it in If-None-Match.",
    {"type": "string", "pattern": r'^W/"[0-9a-f-]{36}-[0-9]+-[0-9]+"$'},
)


def _responses() -> dict[str, Schema]:
    return {
        "NotFound": _error(
            "No such job, or not yours (the same answer for both).",
            {"error": "not_found", "detail": "No such job."},
        ),
        "Unauthorized": _error(
            "The bearer token is unknown, expired or revoked (never a fallback to the cookie).",
            {"error": "invalid_token", "detail": "This is not a valid API token."},
            **{
                "WWW-Authenticate": _header(
                    '`Bearer realm="composer", error="invalid_token", …` (RFC 6750).'
                )
            },
        ),
        "Forbidden": _error(
            "CSRF verification failed: a request with the session cookie must send the "
            "csrftoken cookie's value in X-CSRFToken (a bearer token needs none).",
            {"error": "csrf_failed", "detail": "CSRF verification failed (CSRF cookie not set). …"},
        ),
        "TooManyRequests": _error(
            "Over the poll rate (per user or session, shared with the user's browser).",
            {
                "error": "rate_limited",
                "detail": "Too many polls: retry after 3 s.",
                "retry_after_s": 3,
            },
            **{
                "Retry-After": _header(
                    "Seconds to wait.", {"type": "string", "pattern": "^[0-9]+$"}
                )
            },
        ),
        "ServiceUnavailable": _error(
            "The database is not answering: come back after Retry-After (the answer is "
            "immediate, never a hang). A stream asked for with `Accept: text/event-stream` "
            "gets a 200 `busy` event instead, which EventSource retries.",
            {
                "error": "database_unavailable",
                "detail": "The database is not answering; retry after 5 s.",
                "retry_after_s": 5,
            },
            **{
                "Retry-After": _header(
                    "Seconds to wait.", {"type": "string", "pattern": "^[0-9]+$"}
                )
            },
        ),
        "Error": _error("Any other error (400, 405, 413, 500 …), as the same JSON object."),
    }


def _job_id() -> Schema:
    return {"name": "job_id", "in": "path", "required": True, "schema": UUID, "example": JOB_ID}


def _common(*extra: str) -> dict[str, Schema]:
    codes = {
        "401": "Unauthorized",
        "404": "NotFound",
        "429": "TooManyRequests",
        "403": "Forbidden",
        "503": "ServiceUnavailable",
    }
    found = {code: {"$ref": f"#/components/responses/{codes[code]}"} for code in extra}
    return {**found, "default": {"$ref": "#/components/responses/Error"}}


READ_SECURITY: list[Schema] = [{"bearerAuth": []}, {"sessionCookie": []}, {}]
"""Reads: a token, the session cookie, or (for what an anonymous session may see) nothing."""
WRITE_SECURITY: list[Schema] = [
    {"bearerAuth": []},
    {"sessionCookie": [], "csrfHeader": []},
    {"csrfHeader": []},
]
"""Writes: a token, or a cookie (session, or an anonymous one) with its CSRF token."""
STREAM_EXAMPLE = (
    'retry: 2000\nid: 0\nevent: ready\ndata: {"heartbeat_s": 15.0}\n\n'
    f"id: 1\nevent: job-update\ndata: {json.dumps(FIRST_EVENT_EXAMPLE, separators=(',', ':'))}\n\n"
    ": keep-alive\nevent: ping\ndata: {}\n\n"
)


def _create() -> Schema:
    return {
        "post": {
            "operationId": "createJob",
            "summary": "Create a job",
            "description": "Validates like the wizard. The job belongs to the token's user (or "
            "the session's). Non-JSON bodies are 415, bodies over 32 KB are 413.",
            "security": WRITE_SECURITY,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("JobParams")}},
            },
            "responses": {
                "201": {
                    "description": "Created; its URLs.",
                    "headers": {"Location": _header("The job's page.")},
                    "links": {
                        operation: {
                            "operationId": operation,
                            "parameters": {"job_id": "$response.body#/id"},
                        }
                        for operation in (
                            "getJobStatus",
                            "streamJobEvents",
                            "downloadJob",
                            "cancelJob",
                        )
                    },
                    "content": {"application/json": {"schema": _ref("JobCreated")}},
                },
                "400": _error(
                    "Wrong parameters (`errors` names each) or a body that is not a JSON object.",
                    {
                        "error": "invalid_params",
                        "detail": "Some parameters are wrong; `errors` says which.",
                        "errors": {"decimals": ["Decimals can be at most 36; 99 is too large."]},
                    },
                ),
                "413": _error("The body is too large."),
                "415": _error("The body is not sent as application/json."),
                **_common("401", "403", "503"),
            },
        }
    }


def _templates() -> Schema:
    return {
        "get": {
            "operationId": "listTemplates",
            "summary": "List the templates",
            "description": "Each template with its options, their defaults and limits. Also sets "
            "the csrftoken cookie that cookie-based writes need.",
            "security": READ_SECURITY,
            "responses": {
                "200": {
                    "description": "The templates.",
                    "content": {"application/json": {"schema": _ref("Templates")}},
                },
                **_common("401"),
            },
        }
    }


def _status() -> Schema:
    return {
        "get": {
            "operationId": "getJobStatus",
            "summary": "Poll a job",
            "description": "The job's snapshot and its events after `since`: the stream's "
            "events, polled. Offer the last answer's ETag in If-None-Match to get "
            "a 304 while nothing changed; wait `next_poll_ms` between polls. "
            "Rate-limited per user or session (304s count).",
            "security": READ_SECURITY,
            "parameters": [
                _job_id(),
                {
                    "name": "since",
                    "in": "query",
                    "required": False,
                    "schema": SEQ,
                    "description": "The highest `seq` you have; anything but a number means 0.",
                },
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "The ETag of your last answer.",
                },
            ],
            "responses": {
                "200": {
                    "description": "The snapshot and the new events.",
                    "headers": {"ETag": ETAG, "Cache-Control": _header("`private, no-cache`")},
                    "content": {"application/json": {"schema": _ref("Status")}},
                },
                "304": {
                    "description": "Nothing changed since the ETag you offered.",
                    "headers": {"ETag": ETAG},
                },
                **_common("401", "404", "429", "503"),
            },
        }
    }


def _events() -> Schema:
    return {
        "get": {
            "operationId": "streamJobEvents",
            "summary": "Stream a job's events (SSE)",
            "description": (
                "Server-Sent Events, from the cursor until the job ends (the stream then closes "
                "itself). Each event: `id` = the event's `seq`, `event` = its `type`, `data` = "
                "one line of JSON, the `Event` schema. Heartbeats are comments (`: …`). No cursor "
                "replays from seq 1. The first event, `ready`, carries the stream's cursor as "
                "its `id` (0 without one). Reconnect with `Last-Event-ID` (or "
                "`?last_event_id=`) to resume without loss. Too many open streams for one user "
                "or session, or the database not answering: a 200 stream with a `retry:` and "
                "one `busy` event, then it ends (reconnect later).\n\n"
                "**The stall rule.** A stream sends a byte at least every heartbeat (`ready` says "
                "how long: `heartbeat_s`, 15 s by default; `ping` when nothing else was sent). A "
                "client that gets no byte for two heartbeats treats the stream as dead and "
                "reconnects with `Last-Event-ID` (a dead network path or a frozen proxy closes "
                "nothing, so only silence tells). A client that gets no `ready` within a few "
                "seconds of asking is behind a proxy that holds the stream back: it polls "
                "`/api/jobs/{job_id}/status?since=` instead and tries the stream again later. "
                "Every other failure (connection refused or reset, a response cut short, a 5xx) is "
                "followed by a reconnect with `Last-Event-ID` after a second or the `retry:` "
                "last sent. Keep the highest `seq` seen and skip events at or below it: every "
                "event then arrives exactly once. The README's recipes (curl, httpx, Node's "
                "`eventsource`) do all of this and are tested through these faults."
            ),
            "security": READ_SECURITY,
            "parameters": [
                _job_id(),
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Resume after this seq.",
                },
                {
                    "name": "last_event_id",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "The same, for a first connect.",
                },
            ],
            "responses": {
                "200": {
                    "description": "The event stream.",
                    "headers": {
                        "Cache-Control": _header("`no-cache, no-transform`"),
                        "X-Accel-Buffering": _header("`no`: proxies must not buffer."),
                    },
                    "content": {
                        "text/event-stream": {
                            # Before OpenAPI 3.2's itemSchema, `schema` describes each event.
                            "schema": _ref("StreamEvent"),
                            "example": STREAM_EXAMPLE,
                        }
                    },
                },
                "204": {
                    "description": "The job finished and the cursor is at its end: nothing "
                    "more will come (EventSource stops reconnecting)."
                },
                **_common("401", "404", "503"),
            },
        }
    }


def _download() -> Schema:
    return {
        "get": {
            "operationId": "downloadJob",
            "summary": "Download the generated project",
            "security": READ_SECURITY,
            "parameters": [_job_id()],
            "responses": {
                "200": {
                    "description": "The project as a zip, once the job succeeded.",
                    "content": {
                        "application/zip": {
                            "schema": {"type": "string", "contentEncoding": "binary"}
                        }
                    },
                },
                **_common("401", "404", "503"),
            },
        }
    }


def _cancel() -> Schema:
    return {
        "post": {
            "operationId": "cancelJob",
            "summary": "Ask a job to stop",
            "description": "A queued job ends cancelled at once; a running one stops between "
            "steps (its stream ends with a `completion-status`, cancelled).",
            "security": WRITE_SECURITY,
            "parameters": [_job_id()],
            "responses": {
                "202": {
                    "description": "Asked; the job's status now.",
                    "content": {"application/json": {"schema": _ref("CancelAccepted")}},
                },
                "409": _error(
                    "The job had already finished.",
                    {
                        "error": "already_finished",
                        "detail": "Nothing to cancel: the job succeeded.",
                        "id": JOB_ID,
                        "status": "succeeded",
                    },
                ),
                **_common("401", "403", "404", "503"),
            },
        }
    }


def _openapi() -> Schema:
    return {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "security": [{}],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "default": {"$ref": "#/components/responses/Error"},
            },
        }
    }


def _security_schemes() -> dict[str, Schema]:
    return {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "crt_…",
            "description": "A personal API token (admin, or `manage.py api_token "
            "create <user>`). Acts as its user; no CSRF token.",
        },
        "sessionCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The browser's session.",
        },
        "csrfHeader": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRFToken",
            "description": "With a cookie, writes need the csrftoken cookie's "
            "value here (GET /api/templates sets the cookie).",
        },
    }


@cache
def document() -> Schema:
    """Return the OpenAPI document (built once per process)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Composer Realtime API",
            "version": "1",
            "description": "Create dApp generation jobs and follow them live (SSE) or by "
            "polling. Errors are always the `Error` object.",
        },
        "servers": [{"url": "/"}],
        "security": READ_SECURITY,
        "paths": {
            "/api/jobs": _create(),
            "/api/templates": _templates(),
            "/api/jobs/{job_id}/status": _status(),
            "/api/jobs/{job_id}/events": _events(),
            "/api/jobs/{job_id}/download": _download(),
            "/api/jobs/{job_id}/cancel": _cancel(),
            "/api/openapi.json": _openapi(),
        },
        "components": {
            "schemas": _schemas(),
            "responses": _responses(),
            "securitySchemes": _security_schemes(),
        },
    }
