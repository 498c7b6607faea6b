"""A program with a token, against a real server and worker: create, follow the stream to the
end, poll with `since` and If-None-Match, download, all with no cookie and no CSRF token; and
a token's streams count under the same cap as the user's browser."""

import asyncio
import io
import time
import zipfile

import httpx
import pytest

from api import services as token_services
from jobs import services
from tests.support.sse import StreamResult, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_program_creates_follows_polls_and_downloads_a_job_with_only_a_token(
    start_web, start_worker, owner
) -> None:
    web = start_web()
    start_worker()
    _, secret = token_services.token_create(user=owner, name="e2e")
    auth = {"Authorization": f"Bearer {secret}"}

    with httpx.Client(base_url=web.url, headers=auth, timeout=10) as http:
        created = http.post("/api/jobs", json={"name": "X Coin", "template": "token"})
        assert created.status_code == 201, created.text
        urls = created.json()
        assert not http.cookies  # nothing was needed but the token

        stream = asyncio.run(_read(urls["events_url"], auth))
        assert [e.seq for e in stream.events] == list(range(1, len(stream.events) + 1))
        assert stream.events[-1].event == "completion-status" and stream.ended_by_server
        assert stream.events[-1].json["status"] == "succeeded"

        first = http.get(urls["status_url"], params={"since": 0})
        last_seq = first.json()["last_seq"]
        assert last_seq == stream.events[-1].seq
        assert [e for e in first.json()["events"]] == [e.json for e in stream.events]
        unchanged = http.get(
            urls["status_url"],
            params={"since": 0},
            headers={"If-None-Match": first.headers["ETag"]},
        )
        assert unchanged.status_code == 304

        download = http.get(first.json()["job"]["download_url"])
        assert download.status_code == 200
        assert zipfile.ZipFile(io.BytesIO(download.content)).namelist()
        assert http.post(urls["cancel_url"]).status_code == 409  # it had finished


async def _read(url: str, headers: dict[str, str]) -> StreamResult:
    async with httpx.AsyncClient() as client:
        return await read_stream(client, url, headers=headers, timeout=60)


def test_a_tokens_streams_share_the_cap_of_the_users_browser(
    start_web, owner, session_cookies
) -> None:
    # Streams end after a few seconds, so that a stream wrongly served cannot hang the test.
    web = start_web(REALTIME_MAX_STREAMS_PER_CLIENT="1", REALTIME_MAX_STREAM_AGE_S="3")
    job = services.job_create(owner=owner, params={"name": "Capped Coin", "template": "token"})
    _, secret = token_services.token_create(user=owner, name="cap")
    url = f"{web.url}/api/jobs/{job.pk}/events"
    auth = {"Authorization": f"Bearer {secret}"}

    with httpx.Client(timeout=10) as http:
        with http.stream("GET", url, cookies=session_cookies(owner)) as browser:
            lines = browser.iter_lines()
            opening = [next(lines) for _ in range(3)]  # retry:, id: 0, event: ready
            assert "event: ready" in opening, opening  # served, holding the slot
            refused = http.get(url, headers=auth)  # ends by itself: one `busy` event
            assert refused.status_code == 200 and "event: busy" in refused.text
        _wait_until_not_busy(http, url, auth)


def _wait_until_not_busy(
    http: httpx.Client, url: str, auth: dict[str, str], timeout: float = 10
) -> None:
    """Open the token's stream until it is served (the browser's slot comes back)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with http.stream("GET", url, headers=auth) as stream:
            # The first event's block: retry:, an id: for `ready` (none for `busy`), event:.
            kind = next(line for line in stream.iter_lines() if line.startswith("event: "))
            if kind == "event: ready":
                return
        time.sleep(0.1)
    raise AssertionError("the token's stream stayed refused after the browser left")
