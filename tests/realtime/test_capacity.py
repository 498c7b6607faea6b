"""How many streams a process can hold (realtime/capacity.py): the setting, lowered to what
its open-file limit leaves."""

import asyncio
import os
import resource
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from jobs import services
from realtime.capacity import descriptor_cap, process_cap, web_processes
from tests.support.servers import closing_connection, free_port, serve, uvicorn_command
from tests.support.sse import read_stream


def test_descriptors_keep_headroom_of_64_or_a_tenth_whichever_is_more():
    assert descriptor_cap(128) == 64
    assert descriptor_cap(65_536) == 65_536 - 6_553
    assert descriptor_cap(10) == 1, "never below one stream"


def test_the_web_processes_are_enough_for_the_streams_at_the_limit_and_one_per_core():
    # 20,000 open files: 18,000 streams a process.
    assert web_processes(streams=50_000, cores=2, soft_limit=20_000) == 3
    assert web_processes(streams=10_000, cores=2, soft_limit=20_000) == 2
    assert web_processes(streams=50_000, cores=8, soft_limit=20_000) == 8
    assert web_processes(streams=50_000, cores=2, soft_limit=1_048_576) == 2


def test_gunicorn_sizes_its_workers_from_the_open_file_limit_it_finds(tmp_path):
    """gunicorn.conf.py, loaded as gunicorn loads it, under a hard limit of 20,000 files (or
    whatever it may raise that to: as root, 65,536)."""
    probe = (
        "import importlib.util, resource;"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 20000));"
        "spec = importlib.util.spec_from_file_location('conf', 'gunicorn.conf.py');"
        "conf = importlib.util.module_from_spec(spec); spec.loader.exec_module(conf);"
        "print(conf.workers, conf.reuse_port, resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "WEB_STREAMS": "50000"}
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr
    workers, reuse_port, soft = found.stdout.split()
    cores = len(os.sched_getaffinity(0))
    assert int(workers) == web_processes(streams=50_000, cores=cores, soft_limit=int(soft))
    assert reuse_port == "True"
    if int(soft) == 20_000:
        assert int(workers) == max(cores, 3)


def test_the_process_cap_is_the_setting_lowered_to_what_descriptors_allow(settings):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    settings.REALTIME_MAX_STREAMS_PER_PROCESS = 5
    assert process_cap() == 5
    settings.REALTIME_MAX_STREAMS_PER_PROCESS = 10_000_000
    assert process_cap() == descriptor_cap(soft)


def test_a_process_raises_its_open_file_soft_limit_to_the_hard_limit():
    code = (
        "import resource; from realtime.capacity import raise_descriptor_limit; "
        "print(raise_descriptor_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[1])"
    )
    done = subprocess.run(
        ["bash", "-c", f"ulimit -Sn 256 && exec {sys.executable} -c '{code}'"],
        capture_output=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    soft, hard = done.stdout.split()
    assert soft == hard != b"256"


@pytest.mark.django_db(transaction=True)
def test_the_process_cap_follows_the_descriptor_limit_and_refuses_with_busy_not_500(
    server_env, artifacts_dir, processes, owner, session_cookies
):
    """Under `ulimit -n 128` the cap is 128 - 64 = 64 streams whatever the setting says;
    the 65th and later get the `busy` stream, and nothing answers 500."""
    port = free_port()
    command = " ".join(uvicorn_command(port))
    env = server_env(
        "composer-fds",
        REALTIME_MAX_STREAMS_PER_CLIENT="0",
        REALTIME_MAX_STREAMS_PER_ADDRESS="0",
        DATABASE_POOL_SIZE="4",
        LOG_LEVEL="INFO",
    )
    web = serve(
        "web-fds",
        ["bash", "-c", f"ulimit -n 128 && exec {command}"],
        env,
        port,
        artifacts_dir / "web-fds.log",
        processes,
    )
    job = services.job_create(owner=owner, params={"name": "Fd Coin", "template": "token"})
    url = f"{web.url}/api/jobs/{job.pk}/events"
    cookies = session_cookies(owner)

    async def scenario() -> list[object]:
        limits = httpx.Limits(max_connections=80, max_keepalive_connections=0)
        async with httpx.AsyncClient(cookies=cookies, limits=limits, timeout=20) as client:
            held = [asyncio.create_task(read_stream(client, url, timeout=20)) for _ in range(64)]
            await asyncio.sleep(3.0)
            refused = [await read_stream(client, url, timeout=10) for _ in range(6)]
            await asyncio.to_thread(closing_connection(services.job_finish_cancelled), job=job)
            return [*await asyncio.gather(*held), *refused]

    results = asyncio.run(scenario())
    assert {r.status for r in results} == {200}
    busy = [r for r in results if [e.event for e in r.events] == ["busy"]]
    served = [r for r in results if r not in busy and [e.seq for e in r.events] == [1, 2]]
    assert (len(served), len(busy)) == (64, 6)
    assert "streams: at most 64 in this process" in web.proc.log()
