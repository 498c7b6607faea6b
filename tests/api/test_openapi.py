"""The OpenAPI document stays true: every /api/ route is in it with the methods the route
answers, it is valid OpenAPI 3.1, every example in it is valid, the event schema is the wire
format's exact shape, and real answers of the running code match it."""

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient, Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from api.openapi import document
from jobs import services
from jobs.wire import WireEvent
from tests.api.conftest import bearer
from tests.support.jobs import succeeded_job

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
DOC = document()


def api_routes() -> Iterator[str]:
    """Yield every route of the project under /api/, in OpenAPI's spelling."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("/api/"):
                yield re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)

    yield from walk(get_resolver().url_patterns, "/")


def validator(schema: Any) -> jsonschema_rs.Validator:
    """Return a validator of `schema`, its references resolved in the document."""
    root = {**schema, "components": DOC["components"]} if isinstance(schema, dict) else schema
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True)


def assert_valid(schema: Any, instance: Any) -> None:
    errors = [e.message for e in validator(schema).iter_errors(instance)]
    assert not errors, f"{instance!r}: {errors}"


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_the_document_is_served_to_anyone_and_is_valid_openapi_3_1(client) -> None:
    response = client.get(reverse("api:openapi"))
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(DOC))
    OPENAPI_31_VALIDATOR.validate(response.json())


def test_every_api_route_is_documented_and_nothing_else(client) -> None:
    routes = set(api_routes())
    assert len(routes) >= 7, routes
    assert routes == set(DOC["paths"])


@pytest.mark.django_db(transaction=True)  # the stream hands its connection back as it opens
def test_each_route_answers_exactly_the_documented_methods(owner, token_of) -> None:
    client = Client()
    headers = bearer(token_of(owner))
    for route, item in DOC["paths"].items():
        path = route.replace("{job_id}", str(uuid.uuid4()))
        answered = {
            method
            for method in METHODS
            if getattr(client, method)(path, headers=headers).status_code != 405
        }
        assert answered == {m for m in item if m in METHODS}, route


def examples(node: Any, where: str = "#") -> Iterator[tuple[str, Any, Any]]:
    """Yield (where, schema, example) for every example the document gives."""
    if isinstance(node, dict):
        if "schema" in node and "example" in node:
            yield where, node["schema"], node["example"]
        for example in node.get("examples", []) if isinstance(node.get("examples"), list) else []:
            yield where, {k: v for k, v in node.items() if k != "examples"}, example
        for key, value in node.items():
            yield from examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from examples(value, f"{where}/{index}")


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Return the events of an SSE text as Schemathesis sees them: fields by name, `retry` as
    a number, comments dropped."""
    parsed = []
    for block in text.split("\n\n"):
        event: dict[str, Any] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                event[name] = int(value) if name == "retry" else value
        if "data" in event:
            parsed.append(event)
    return parsed


def assert_valid_sse_event(event: dict[str, Any]) -> None:
    """Validate one parsed event against StreamEvent, and its `data` against the contentSchema
    of the branch it belongs to (which a validator takes only as an annotation)."""
    schema = DOC["components"]["schemas"]["StreamEvent"]
    assert_valid(schema, event)
    for branch in schema["anyOf"]:
        kind = branch["properties"]["event"]
        if event["event"] == kind.get("const") or event["event"] in kind.get("enum", ()):
            assert_valid(branch["properties"]["data"]["contentSchema"], json.loads(event["data"]))
            return
    raise AssertionError(f"no branch for {event}")


def test_every_example_in_the_document_is_valid() -> None:
    found = list(examples(DOC))
    assert len(found) >= 15
    for where, schema, example in found:
        if schema == component("StreamEvent"):
            events = parse_sse(example)
            assert len(events) == 3, where
            for event in events:
                assert_valid_sse_event(event)
        else:
            assert_valid(schema, example)


def test_the_event_schema_is_the_wire_format_exactly() -> None:
    schema = DOC["components"]["schemas"]["Event"]
    keys = list(WireEvent.__dataclass_fields__)
    assert list(schema["properties"]) == keys
    assert schema["required"] == keys and schema["additionalProperties"] is False
    assert_valid(schema["properties"]["step"], None)
    assert_valid(schema["properties"]["eta_s"], None)


def test_real_answers_match_the_document(owner, token_of) -> None:
    job = succeeded_job(owner=owner)
    client = Client()
    auth = bearer(token_of(owner))
    queued = services.job_create(owner=owner, params={"name": "Doc Coin", "template": "nft"})

    status = client.get(reverse("jobs:status", args=[job.pk]), headers=auth).json()
    answers = {
        "Status": status,
        "Templates": client.get(reverse("jobs:api-templates"), headers=auth).json(),
        "JobCreated": client.post(
            reverse("jobs:api-jobs"),
            {"name": "Doc Coin", "template": "dao"},
            content_type="application/json",
            headers=auth,
        ).json(),
        "CancelAccepted": client.post(
            reverse("jobs:api-cancel", args=[queued.pk]), headers=auth
        ).json(),
        "Error": client.get(reverse("jobs:status", args=[uuid.uuid4()]), headers=auth).json(),
    }

    for name, body in answers.items():
        assert_valid(component(name), body)
    kinds = {event["type"] for event in status["events"]}
    assert {"job-update", "progress-update", "completion-status"} <= kinds
    assert any(e["step"] is None for e in status["events"])  # nullable, and met for real
    assert any(e["step"] is not None and e["eta_s"] is not None for e in status["events"])


@pytest.mark.django_db(transaction=True)
def test_a_real_stream_matches_the_document(owner, token_of) -> None:
    job = succeeded_job(owner=owner)
    url, auth = reverse("jobs:events", args=[job.pk]), bearer(token_of(owner))

    async def read() -> str:
        try:
            response = await AsyncClient().get(url, headers=auth)
            async with asyncio.timeout(10):
                return b"".join([c async for c in response.streaming_content]).decode()
        finally:  # the test client keeps the sync thread's connection (Django would close it)
            await sync_to_async(connections.close_all)()

    events = parse_sse(asyncio.run(read()))

    assert [e["event"] for e in events][:2] == ["ready", "job-update"]
    assert len(events) == job.last_seq + 1
    for event in events:
        assert_valid_sse_event(event)
