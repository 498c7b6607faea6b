"""What Chromium's EventSource sends back on reconnect after a stream's `id:` lines.

Our `ready` carries the stream's cursor as its `id:`, 0 on a stream opened without one. The
SSE spec says an `id:` field sets the last event ID to its value and an *empty* `id:` resets
it; `id: 0` is a value like any other. So a page whose stream dropped right after `ready`
comes back with `Last-Event-ID: 0`, which our server reads as "from the start", the same as
no header. Checked here in Debian's chromium against a bare SSE server that drops each
connection right after its one event, so nothing but that event's `id:` can set the header.
"""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

PAGE = b"""<!doctype html><title>ids</title><script>
window.opened = 0;
const source = new EventSource("/events");
source.addEventListener("ready", () => {
  window.opened += 1;
  if (window.opened > 1) source.close();
});
</script>"""


class _Recorder(BaseHTTPRequestHandler):
    """Serves the page, and /events: one `ready` with the configured `id:` line, then drops."""

    id_line = b""
    seen: list[str | None] = []

    def do_GET(self) -> None:
        if self.path != "/events":
            self._answer(b"text/html", PAGE)  # the page (and its favicon: no matter)
            return
        type(self).seen.append(self.headers.get("Last-Event-ID"))
        block = b"retry: 100\n" + self.id_line + b'event: ready\ndata: {"heartbeat_s": 15}\n\n'
        self._answer(b"text/event-stream", block)  # and the connection closes

    def _answer(self, content_type: bytes, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type.decode())
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def recorder() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Recorder", (_Recorder,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("id_line", "sent_back"),
    [(b"id: 0\n", "0"), (b"id: 7\n", "7"), (b"id:\n", None), (b"", None)],
    ids=["zero", "seven", "empty-resets", "none"],
)
def test_what_chromium_sends_back_after_a_ready_with_an_id(
    browser: Browser, recorder: tuple[str, type[_Recorder]], id_line: bytes, sent_back: str | None
):
    url, handler = recorder
    handler.id_line = id_line
    page = browser.new_page()
    try:
        page.goto(url + "/")
        page.wait_for_function("window.opened >= 2", timeout=10_000)
    finally:
        page.close()
    assert handler.seen[:2] == [None, sent_back]
