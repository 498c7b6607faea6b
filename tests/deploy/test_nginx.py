"""The nginx configuration in docs/deployment.md passes events through live, one by one."""

import asyncio
import contextlib
import re
import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobs import services
from tests.support.servers import ROOT, Proc, free_port
from tests.support.sse import read_stream

pytestmark = pytest.mark.django_db(transaction=True)

DOC = ROOT / "docs" / "deployment.md"


def nginx_block() -> str:
    """Return the nginx configuration exactly as the deployment doc gives it."""
    match = re.search(r"```nginx\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert match, "docs/deployment.md has no ```nginx block"
    return match.group(1)


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def _nginx_conf(folder: Path, *, listen: int, upstream: int) -> Path:
    cert, key = _certificate(folder)
    site = (
        nginx_block()
        .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{listen} ssl http2;")
        .replace("/etc/ssl/composer/fullchain.pem", str(cert))
        .replace("/etc/ssl/composer/privkey.pem", str(key))
        .replace("/srv/composer/staticfiles/", f"{ROOT / 'static'}/")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\ndaemon off;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n access_log off;\n client_body_temp_path {folder}/body;\n"
        f" proxy_temp_path {folder}/proxy;\n fastcgi_temp_path {folder}/fcgi;\n"
        f" uwsgi_temp_path {folder}/uwsgi;\n scgi_temp_path {folder}/scgi;\n{site}\n}}\n"
    )
    return conf


def test_events_pass_through_the_documented_nginx_config_live(
    start_web, owner, session_cookies, tmp_path, processes, capsys
):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is needed (scripts/test installs Debian's nginx-light)"
    web = start_web()
    port = free_port()
    conf = _nginx_conf(tmp_path, listen=port, upstream=web.port)
    proxy = Proc("nginx", [nginx, "-c", str(conf), "-p", str(tmp_path)], {}, tmp_path / "n.log")
    processes.append(proxy.start())
    _wait_listening(port)
    job = services.job_create(owner=owner, params={"name": "Proxy Coin", "template": "token"})
    out: dict[str, Any] = {}
    url = f"https://127.0.0.1:{port}/api/jobs/{job.pk}/events"
    cookies = session_cookies(owner)
    reader = threading.Thread(target=lambda: out.update(r=asyncio.run(_read(url, cookies))))
    reader.start()
    time.sleep(1.0)

    sent_at = {}
    for percent in (10, 20, 30, 40, 50):
        event = services.job_report_progress(job=job, percent=percent)
        sent_at[event.seq] = time.time()
        time.sleep(0.5)
    services.job_finish_cancelled(job=job)
    reader.join(timeout=30)

    events = out["r"].events
    assert [e.seq for e in events] == list(range(1, 8))
    lags = [e.received - sent_at[e.seq] for e in events if e.seq in sent_at]
    with capsys.disabled():
        print(f"\nthrough nginx: per-event lag {[round(x * 1000) for x in lags]} ms")
    # One by one: each event arrived before the next one was even written (0.5 s apart);
    # a buffering proxy would hand them over together.
    arrived = {e.seq: e.received for e in events}
    assert all(arrived[seq] < sent_at[seq + 1] for seq in list(sent_at)[:-1]), lags
    assert "x-accel-buffering" not in out["r"].headers  # nginx acted on it, as meant


def test_the_documented_nginx_config_keeps_ops_endpoints_private_and_bounds_requests(
    start_web, tmp_path, processes
):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    web = start_web()
    port = free_port()
    conf = _nginx_conf(tmp_path, listen=port, upstream=web.port)
    processes.append(
        Proc("nginx", [nginx, "-c", str(conf), "-p", str(tmp_path)], {}, tmp_path / "n.log").start()
    )
    _wait_listening(port)
    base = f"https://127.0.0.1:{port}"
    with httpx.Client(verify=False, timeout=10) as client:
        ops = [client.get(f"{base}{path}").status_code for path in ("/metrics", "/readyz")]
        direct = httpx.get(f"{web.url}/metrics", timeout=10).status_code  # the scraper's way
        static = client.get(f"{base}/static/composer/job.js")
        big_body = client.post(
            f"{base}/api/jobs",
            content=b"x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        ).status_code
        big_header = client.get(f"{base}/", headers={"X-Big": "x" * 20_000}).status_code

    assert ops == [403, 403], "probes and scrapers call the processes, not the proxy"
    assert direct == 200
    assert static.status_code == 200
    assert static.headers["x-content-type-options"] == "nosniff"
    assert big_body == 413
    assert big_header in (400, 494)  # nginx: "Request Header Or Cookie Too Large"


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError("nginx did not start")


async def _read(url: str, cookies: dict[str, str]):
    async with httpx.AsyncClient(cookies=cookies, verify=False) as client:
        return await read_stream(client, url, timeout=30)


def _limit_conn() -> int:
    match = re.search(r"limit_conn composer_address (\d+);", nginx_block())
    assert match, "no limit_conn per address in the documented config"
    return int(match.group(1))


async def _trickle_body(port: int, *, gone_after_s: float) -> int:
    """POST a body a byte a second; return the status nginx answers (0: none in time)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    writer.write(
        b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    await writer.drain()
    answer = asyncio.ensure_future(reader.readline())
    try:
        async with asyncio.timeout(gone_after_s):
            while not answer.done():
                with contextlib.suppress(ConnectionError):
                    writer.write(b"{")
                    await writer.drain()
                await asyncio.wait([answer], timeout=1.0)
            status = await answer
    except TimeoutError:
        return 0
    finally:
        answer.cancel()
        writer.close()
    return int(status.split()[1]) if status else 0


def test_one_address_cannot_hold_nginx_with_slow_bodies(start_web, tmp_path, processes):
    """More trickling bodies than `limit_conn` from one address: the extra ones are refused
    at once (429), the others answered 408 once the application's body time is up."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    web = start_web(REALTIME_BODY_TIMEOUT_S="10")
    port = free_port()
    conf = _nginx_conf(tmp_path, listen=port, upstream=web.port)
    processes.append(
        Proc("nginx", [nginx, "-c", str(conf), "-p", str(tmp_path)], {}, tmp_path / "n.log").start()
    )
    _wait_listening(port)
    limit, extra = _limit_conn(), 6

    async def flood() -> list[int]:
        # All at once, well within the body time: every connection is open before any ends.
        tasks = [_trickle_body(port, gone_after_s=40) for _ in range(limit + extra)]
        return list(await asyncio.gather(*tasks))

    started = time.monotonic()
    statuses = asyncio.run(flood())

    assert sorted(set(statuses)) == [408, 429], statuses
    assert statuses.count(429) == extra and statuses.count(408) == limit
    assert time.monotonic() - started < 40
