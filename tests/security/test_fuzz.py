"""Bad input never makes a 500: fuzzed cursors, ids, wizard fields, API bodies and oversize
requests each get a clear answer below 500 (a 4xx where the input is wrong).

In-process (Django's test clients) with DEBUG off, so that a crash shows as the 500 a person
would get; a crash's traceback is in the captured log.
"""

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode as stdlib_urlencode

import pytest
from django.test import AsyncClient, Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from jobs import services
from jobs.drafts import FORM_STEPS
from jobs.forms import BasicsForm, JobParamsForm, OptionsForm, TemplateForm
from jobs.models import Job, JobStatus
from jobs.scaffolds import TEMPLATES
from tests.support.jobs import succeeded_job as run_to_success
from tests.support.ratelimits import clear_rate_limits

FUZZ = hypothesis_settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Bounded runs, no example database in the work tree, fixtures shared by the examples."""

ANY_TEXT = st.text(max_size=120)
"""Any Unicode text: NUL and other control characters, combining marks, RTL, emoji."""
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=120
)
"""What an HTTP header value can carry (Latin-1, no line breaks)."""
CURSOR_TEXT = st.one_of(HEADER_TEXT, st.integers(min_value=-5, max_value=10**12).map(str))
"""A cursor as a client may send it: a number (in range or not), or anything else."""
HUGE_TEXT = st.builds(
    lambda char, count: char * count,
    st.characters(),
    st.integers(min_value=1_000, max_value=50_000),
)
FIELD_VALUE = st.one_of(
    ANY_TEXT,
    HUGE_TEXT,
    st.sampled_from(
        ["", " ", "0", "-1", "1e309", "NaN", "true", "on", "token", "ipfs://x", "9" * 5000]
    ),
)
JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(max_value=10**4000), st.floats(), ANY_TEXT
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
PARAMS = {"name": "Fuzz Coin", "template": "token"}
OVERSIZE = 3 * 1024 * 1024
"""Larger than DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)."""


def field_names() -> list[str]:
    """Return every field name of every wizard form and template."""
    names = set(BasicsForm().fields) | set(TemplateForm().fields)
    for key in TEMPLATES:
        names |= set(OptionsForm(template=key).fields) | set(JobParamsForm(template=key).fields)
    return sorted(names)


def urlencode(data: dict[str, Any]) -> str:
    """Form-encode as a client may: a lone surrogate becomes the invalid UTF-8 it stands for."""
    return stdlib_urlencode(data, errors="surrogatepass")


FIELD_NAMES = field_names()
FORM_DATA = st.dictionaries(
    st.one_of(st.sampled_from(FIELD_NAMES), ANY_TEXT), FIELD_VALUE, max_size=8
)


@pytest.fixture(autouse=True)
def _production_errors(settings: Any) -> Iterator[None]:
    settings.DEBUG = False
    settings.REALTIME_POLL_RATE = 0
    clear_rate_limits()
    yield


def client_for(user: Any = None, **kwargs: Any) -> Client:
    """Return a test client that answers a crash with a 500 instead of raising it."""
    client = Client(raise_request_exception=False, **kwargs)
    if user is not None:
        client.force_login(user)
    return client


def succeeded_job(owner: Any, settings: Any) -> Job:
    """Return a job of `owner` that ran to success."""
    return run_to_success(owner=owner, params=PARAMS)


def stream_status(client: Client, url: str, headers: dict[str, str]) -> int:
    """Return the stream's status code, reading a finished job's replay to its end."""

    async def go() -> int:
        async_client = AsyncClient(raise_request_exception=False)
        async_client.cookies = client.cookies
        response = await async_client.get(url, headers=headers)
        if response.streaming:
            async with asyncio.timeout(10):
                async for _ in response.streaming_content:
                    pass
        return response.status_code

    return asyncio.run(go())


@pytest.mark.django_db(transaction=True)
def test_any_cursor_in_header_or_query_replays_or_answers_204(owner: Any, settings: Any) -> None:
    job = succeeded_job(owner, settings)
    client = client_for(owner)
    base = reverse("jobs:events", args=[job.pk])

    @FUZZ
    @given(header=CURSOR_TEXT, query=st.one_of(CURSOR_TEXT, ANY_TEXT))
    def check(header: str, query: str) -> None:
        url = f"{base}?{urlencode({'last_event_id': query})}"
        assert stream_status(client, url, {"Last-Event-ID": header}) in {200, 204}

    check()


@pytest.mark.django_db
def test_any_since_and_etag_give_the_status_or_a_304(owner: Any, settings: Any) -> None:
    job = succeeded_job(owner, settings)
    client = client_for(owner)
    base = reverse("jobs:status", args=[job.pk])

    @FUZZ
    @given(since=ANY_TEXT, etag=HEADER_TEXT, fallback=st.none() | HEADER_TEXT)
    def check(since: str, etag: str, fallback: str | None) -> None:
        headers = {"If-None-Match": etag} | (
            {"X-Realtime-Fallback": fallback} if fallback is not None else {}
        )
        response = client.get(f"{base}?{urlencode({'since': since})}", headers=headers)
        assert response.status_code in {200, 304}

    check()


JOB_PATHS = (
    "/jobs/{}/",
    "/jobs/{}/download",
    "/api/jobs/{}/status",
    "/api/jobs/{}/events",
    "/jobs/{}/cancel",
)


@pytest.mark.django_db
def test_any_job_id_in_a_path_is_404_even_for_staff(staff_user: Any) -> None:
    client = client_for(staff_user)

    @FUZZ
    @given(
        job_id=st.one_of(ANY_TEXT, st.uuids().map(str), st.uuids().map(lambda u: u.hex)),
        path=st.sampled_from(JOB_PATHS),
    )
    def check(job_id: str, path: str) -> None:
        url = path.format(quote(job_id, safe=""))
        if path.endswith("/cancel"):
            status = client.post(url).status_code
        elif "/events" in path:
            status = stream_status(client, url, {})
        else:
            status = client.get(url).status_code
        assert status == 404, url

    check()


@pytest.mark.django_db
def test_any_wizard_step_post_is_kept_and_redirects_and_the_step_still_renders() -> None:
    client = client_for()

    @FUZZ
    @given(step=st.sampled_from(FORM_STEPS), data=FORM_DATA, multipart=st.booleans())
    def check(step: str, data: dict[str, str], multipart: bool) -> None:
        url = reverse("jobs:wizard-step", args=[step])
        response = (
            client.post(url, data)
            if multipart
            else client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")
        )
        assert response.status_code == 302, response.content[:300]
        assert client.get(response["Location"], follow=True).status_code == 200

    check()


@pytest.mark.django_db
def test_any_validate_post_answers_the_fields_errors() -> None:
    client = client_for()

    @FUZZ
    @given(data=FORM_DATA, step=st.one_of(st.none(), st.sampled_from(FORM_STEPS), ANY_TEXT))
    def check(data: dict[str, str], step: str | None) -> None:
        sent = data | ({"step": step} if step is not None else {})
        response = client.post(
            reverse("jobs:wizard-validate"),
            urlencode(sent),
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        assert set(response.json()["errors"]) <= set(sent), "errors of the fields sent only"

    check()


@pytest.mark.django_db
def test_any_generate_post_makes_no_job_and_sends_back_to_the_wizard() -> None:
    client = client_for()

    @FUZZ
    @given(draft=st.one_of(ANY_TEXT, st.uuids().map(str)))
    def check(draft: str) -> None:
        response = client.post(reverse("jobs:wizard-generate"), {"draft": draft})
        assert response.status_code == 302
        assert response["Location"].startswith("/wizard/")

    check()
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_any_api_body_gets_201_or_a_4xx_naming_what_is_wrong() -> None:
    client = client_for()

    @FUZZ
    @given(
        payload=st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(FIELD_NAMES), ANY_TEXT), JSON_VALUE, max_size=8
            ).map(lambda d: {**PARAMS, **d}),
            JSON_VALUE,
        )
    )
    def check(payload: Any) -> None:
        response = client.post(
            reverse("jobs:api-jobs"), json.dumps(payload), content_type="application/json"
        )
        # 413: a payload past 32 KB (a few of the huge integers make one).
        assert response.status_code in {201, 400, 413}
        if response.status_code != 201:
            assert response.json()["errors"]

    check()


@pytest.mark.django_db
def test_any_raw_api_body_or_content_type_gets_a_4xx() -> None:
    client = client_for()

    @FUZZ
    @given(
        body=st.binary(max_size=2000),
        content_type=st.sampled_from(
            [
                "application/json",
                "text/plain",
                "",
                "application/json; charset=latin-1",
                "multipart/form-data; boundary=x",
            ]
        ),
    )
    def check(body: bytes, content_type: str) -> None:
        response = client.generic("POST", reverse("jobs:api-jobs"), body, content_type=content_type)
        assert 400 <= response.status_code < 500

    check()


@pytest.mark.django_db
def test_any_dashboard_period_renders(staff_user: Any) -> None:
    client = client_for(staff_user)

    @FUZZ
    @given(days=ANY_TEXT)
    def check(days: str) -> None:
        for name in ("dashboard:page", "dashboard:snapshot"):
            response = client.get(f"{reverse(name)}?{urlencode({'days': days})}")
            assert response.status_code == 200

    check()


@pytest.mark.django_db
def test_any_host_header_is_served_or_refused_with_400() -> None:
    client = client_for()

    @FUZZ
    @given(host=HEADER_TEXT)
    def check(host: str) -> None:
        assert client.get("/healthz", headers={"Host": host}).status_code in {200, 400}

    check()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/wizard/basics/", "/wizard/validate"])
def test_an_oversize_form_body_is_400(path: str) -> None:
    client = client_for()
    big = urlencode({"name": "x" * OVERSIZE})
    many = urlencode({f"f{i}": "1" for i in range(1_500)})  # > DATA_UPLOAD_MAX_NUMBER_FIELDS
    for body in (big, many):
        response = client.post(path, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400


@pytest.mark.django_db
def test_an_oversize_api_body_is_413() -> None:
    body = json.dumps({**PARAMS, "description": "x" * OVERSIZE})
    response = client_for().post(reverse("jobs:api-jobs"), body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]  # refused before anything reads it


@pytest.mark.django_db
def test_an_oversize_cancel_body_is_refused_and_cancels_nothing(owner: Any) -> None:
    job = services.job_create(owner=owner, params=PARAMS)
    client = client_for(owner, enforce_csrf_checks=True)
    response = client.post(
        reverse("jobs:cancel", args=[job.pk]),
        urlencode({"x": "y" * OVERSIZE}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in {400, 403}
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Cookie", "Last-Event-ID", "If-None-Match", "Accept", "X-Realtime-Fallback", "User-Agent"],
)
def test_oversize_headers_are_no_crash(header: str, owner: Any, settings: Any) -> None:
    job = succeeded_job(owner, settings)
    client = client_for(owner)
    value = "a=" + "x" * 200_000 if header == "Cookie" else "9" * 200_000
    status_url = reverse("jobs:status", args=[job.pk])
    assert client.get(status_url, headers={header: value}).status_code < 500
    assert (
        client.get(reverse("jobs:page", args=[job.pk]), headers={header: value}).status_code < 500
    )
