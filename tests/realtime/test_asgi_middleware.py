"""The loop-friendly middleware: Django's answers, headers and checks, without the thread hops.

Each scenario is played twice, once against Django's stock ASGIHandler (every hook in a thread)
and once against ours (hooks on the event loop), and must get the same statuses and headers.
"""

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.contrib.messages import add_message, constants
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.test import AsyncRequestFactory
from django.urls import reverse

from api.middleware import ApiErrorsMiddleware, BearerTokenMiddleware
from jobs import services
from jobs.models import Job
from jobs.pipeline import run as run_pipeline
from realtime.asgi import middleware
from realtime.asgi.handler import SharedThreadsASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)

Answer = tuple[int, list[tuple[str, str]]]
TIMEOUT_S = 20


class Browser:
    """Ask an ASGI app the way a browser would: one cookie jar, one request at a time."""

    def __init__(self, app: Any, cookies: dict[str, str] | None = None) -> None:
        self.app = app
        self.cookies = dict(cookies or {})

    async def ask(self, method: str, path: str, body: str = "", **headers: str) -> Answer:
        """Return the status and the headers of the answer, keeping the cookies it sets."""
        path, _, query = path.partition("?")
        sent = {"host": "127.0.0.1", **{k.replace("_", "-").lower(): v for k, v in headers.items()}}
        if self.cookies:
            sent["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body:
            sent["content-type"] = "application/x-www-form-urlencoded"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in sent.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        app = ApplicationCommunicator(self.app, scope)
        await app.send_input({"type": "http.request", "body": body.encode()})
        start = await app.receive_output(TIMEOUT_S)
        message = start
        while message["type"] != "http.response.body" or message.get("more_body", False):
            message = await app.receive_output(TIMEOUT_S)
        await app.wait(TIMEOUT_S)
        headers_out = [(k.decode().lower(), v.decode()) for k, v in start["headers"]]
        for name, value in headers_out:
            if name == "set-cookie":
                for morsel in SimpleCookie(value).values():
                    self.cookies[morsel.key] = morsel.value
        return start["status"], headers_out


def normalized(answer: Answer) -> Answer:
    """Return the answer with what differs by chance (cookie values, nonces, dates) masked."""
    status, headers = answer
    masked = []
    for name, value in headers:
        if name == "content-length":
            continue  # pages carry random tokens and ids
        if name == "set-cookie":
            value = re.sub(
                r"^([^=]+)=[^;]*",
                lambda m: f"{m[1]}=" + ("*" if '=""' not in m[0] else '""'),
                value,
            )
            value = re.sub(r"expires=[^;]+", "expires=*", value)
        value = re.sub(r"'nonce-[^']+'", "'nonce-*'", value)
        masked.append((name, value))
    return status, sorted(masked)


async def scenario(app: Any, *, job: Job, user_cookies: dict[str, str]) -> list[Answer]:
    """Return the answers to a walk through the site: pages, JSON, forms, streams, 404s."""
    anonymous, member = Browser(app), Browser(app, user_cookies)
    status_url = reverse("jobs:status", args=[job.pk])
    events_url = reverse("jobs:events", args=[job.pk])
    answers = [
        await anonymous.ask("GET", reverse("jobs:wizard")),
        await anonymous.ask("GET", reverse("jobs:wizard-step", args=["basics"])),
        await anonymous.ask("POST", reverse("jobs:wizard-validate"), "name=Fine&step=basics"),
        await anonymous.ask(
            "POST",
            reverse("jobs:wizard-validate"),
            "name=Fine&step=basics",
            x_csrftoken=anonymous.cookies[settings.CSRF_COOKIE_NAME],
        ),
        await anonymous.ask("GET", status_url),
        await anonymous.ask("GET", "/no/such/page"),
        await member.ask("GET", reverse("jobs:api-templates")),
        await member.ask("GET", f"{status_url}?since=0"),
    ]
    tag = dict(answers[-1][1])["etag"]
    answers += [
        await member.ask("GET", f"{status_url}?since=0", if_none_match=tag),
        await member.ask("GET", events_url),
        await member.ask("GET", events_url, last_event_id=str(job.last_seq)),
    ]
    return answers


@pytest.fixture
def finished_job(owner: Any, settings: Any) -> Job:
    settings.JOBS_STEP_PACE_S = 0
    job = services.job_create(owner=owner, params={"name": "Hop Coin", "template": "token"})
    run_pipeline(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_every_answer_and_header_is_the_one_django_gives(
    finished_job: Job, owner: Any, session_cookies: Any
) -> None:
    stock = asyncio.run(
        scenario(ASGIHandler(), job=finished_job, user_cookies=session_cookies(owner))
    )
    ours = asyncio.run(
        scenario(
            SharedThreadsASGIHandler(threads=2),
            job=finished_job,
            user_cookies=session_cookies(owner),
        )
    )

    assert [status for status, _ in ours] == [302, 200, 403, 200, 404, 404, 200, 200, 304, 200, 204]
    assert [normalized(answer) for answer in ours] == [normalized(answer) for answer in stock]


def test_the_handler_serves_the_equivalents_and_the_setting_keeps_the_stock_names() -> None:
    from axes.middleware import AxesMiddleware

    from composer_realtime.outage import DatabaseOutageMiddleware

    handler = SharedThreadsASGIHandler(threads=1)
    chain = [type(instance) for instance in _instances(handler._middleware_chain)]

    assert chain == [
        ApiErrorsMiddleware,  # the API's own (api/middleware.py): async already
        DatabaseOutageMiddleware,  # the project's (composer_realtime/outage.py): async already
        middleware.SecurityMiddleware,
        middleware.ContentSecurityPolicyMiddleware,
        middleware.SessionMiddleware,
        middleware.CommonMiddleware,
        middleware.CsrfViewMiddleware,
        middleware.AuthenticationMiddleware,
        BearerTokenMiddleware,
        middleware.MessageMiddleware,
        middleware.XFrameOptionsMiddleware,
        AxesMiddleware,  # async-capable as it is: it hops to a thread only for a lockout
    ]
    ours = ("api.", "composer_realtime.")
    assert [path for path in settings.MIDDLEWARE if not path.startswith(ours)] == [
        *middleware.EQUIVALENTS,
        "axes.middleware.AxesMiddleware",
    ]


def test_an_unknown_middleware_is_left_as_it_is() -> None:
    paths = ["django.middleware.gzip.GZipMiddleware", *middleware.EQUIVALENTS]

    assert middleware.equivalents(paths) == [paths[0], *middleware.EQUIVALENTS.values()]


def _instances(handler: Any) -> list[Any]:
    """Return the middleware instances of a chain built by Django, outermost first."""
    found = []
    while handler is not None:
        instance = next(
            (
                cell.cell_contents
                for cell in handler.__closure__ or ()
                if hasattr(cell.cell_contents, "get_response")
            ),
            None,
        )
        if instance is None:
            break
        found.append(instance)
        handler = instance.get_response
    return found


# --- where each hook runs -----------------------------------------------------------------

Hook = Callable[[HttpRequest], Awaitable[HttpResponse]]


def _threads_of_hooks(
    cls: type, request: HttpRequest, view: Callable[[HttpRequest], HttpResponse]
) -> tuple[set[str], int]:
    """Run `cls` in async mode around `view`; return where its hooks ran and the status."""
    seen: set[str] = set()

    class Recording(cls):  # type: ignore[misc, valid-type]
        def process_request(self, request: HttpRequest) -> Any:
            seen.add("loop" if threading.current_thread() is loop_thread else "thread")
            return super().process_request(request)

        def process_response(self, request: HttpRequest, response: Any) -> Any:
            seen.add("loop" if threading.current_thread() is loop_thread else "thread")
            return super().process_response(request, response)

    async def get_response(request: HttpRequest) -> HttpResponse:
        return view(request)

    async def run() -> int:
        response = await Recording(get_response)(request)
        await sync_to_async(connections.close_all)()  # as the end of a request would
        return int(response.status_code)

    loop_thread = threading.current_thread()
    return seen, asyncio.run(run())


def _with_session(request: HttpRequest) -> HttpRequest:
    middleware.SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    return request


def test_a_session_only_read_stays_on_the_loop_and_a_save_goes_to_the_thread() -> None:
    factory = AsyncRequestFactory()

    def reads(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    def writes(request: HttpRequest) -> HttpResponse:
        request.session["seen"] = True
        return HttpResponse()

    assert _threads_of_hooks(middleware.SessionMiddleware, factory.get("/"), reads) == (
        {"loop"},
        200,
    )
    seen, _ = _threads_of_hooks(middleware.SessionMiddleware, factory.get("/"), writes)
    assert seen == {"loop", "thread"}, "process_request inline, the save in the thread"


def test_messages_only_go_to_the_thread_when_there_are_some_to_store() -> None:
    factory = AsyncRequestFactory()

    def quiet(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    def says(request: HttpRequest) -> HttpResponse:
        add_message(request, constants.INFO, "hello")
        return HttpResponse()

    quiet_seen, _ = _threads_of_hooks(
        middleware.MessageMiddleware, _with_session(factory.get("/")), quiet
    )
    says_seen, _ = _threads_of_hooks(
        middleware.MessageMiddleware, _with_session(factory.get("/")), says
    )
    assert quiet_seen == {"loop"}
    assert says_seen == {"loop", "thread"}


def test_csrf_checks_a_get_inline_and_a_form_in_the_thread_and_still_refuses_it() -> None:
    factory = AsyncRequestFactory()
    seen: list[str] = []
    loop_thread = threading.current_thread()

    class Recording(middleware.CsrfViewMiddleware):
        def process_view(
            self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any
        ) -> Any:
            seen.append("loop" if threading.current_thread() is loop_thread else "thread")
            return super().process_view(request, callback, callback_args, callback_kwargs)

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    async def get_response(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    async def check(request: HttpRequest) -> Any:
        csrf = Recording(get_response)
        assert asyncio.iscoroutinefunction(csrf.process_view), "no hop added by Django"
        csrf.process_request(request)
        return await csrf.process_view(request, view, (), {})

    assert asyncio.run(check(factory.get("/"))) is None
    refused = asyncio.run(check(factory.post("/", {"a": "b"})))
    assert seen == ["loop", "thread"]
    assert refused.status_code == 403


def test_in_sync_mode_the_classes_are_djangos() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    csrf = middleware.CsrfViewMiddleware(view)

    assert not csrf.async_mode
    assert not asyncio.iscoroutinefunction(csrf.process_view)
