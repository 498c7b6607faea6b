"""The README's recipes (curl, httpx, Node's eventsource) through network faults (issue 23).

Each recipe is the README's own code (tests/support/recipes.py), run as a program that follows
one job to its end. A seeded TCP fault proxy (tests/support/faultproxy.py) sits on one path of
a real uvicorn server: between the program and the server (client-server), between the server
and Redis (app-redis), or between the server and PostgreSQL (app-postgres). The job's events
are recorded at a steady pace by the test (tests/support/scripted.py), straight to Redis and
PostgreSQL, so only the server's path meets the fault. Each scenario asserts every event
exactly once and in order, the program's own exit once the job ended, and how late any event
was. The server's heartbeat is 2 s here, so a recipe's stall window is 4 s.

The default suite runs the smoke subset (a 12 s blackhole of every flow between program and
server, one recipe a day); `-m faults` runs every row. docs/reliability.md holds the table.
"""

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from api import services as token_services
from jobs import services
from tests.support.faultproxy import FaultProxy
from tests.support.faultreport import fault_row
from tests.support.placements import Placement, serve_behind
from tests.support.proxy import Proxy
from tests.support.recipes import COMMANDS, Program
from tests.support.rotation import of_the_day
from tests.support.scripted import ScriptedJob, lateness

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Recipe Coin", "template": "token"}
BEFORE_S = 3.0  # events flow this long before the fault
AFTER_S = 6.0  # and this long after it


@dataclass(frozen=True)
class Fault:
    apply: Callable[[FaultProxy], object]
    lasts_s: float | None
    """How long before `heal()`; None: it lasts to the end of the job."""
    bound_s: float
    """How late an event may be: after the heal, or after its `ts` with `from_ts`."""
    from_ts: bool = False
    """The client must get the events while the fault lasts (new connections get through,
    or the server works around a path of its own)."""


CLIENT_SERVER = {
    "blackhole-12s": Fault(lambda proxy: proxy.blackhole(), 12, 10),
    "blackhole": Fault(lambda proxy: proxy.blackhole(), 20, 10),
    "blackhole-old-flows": Fault(lambda proxy: proxy.blackhole(new_flows=True), 20, 10, True),
    "reset": Fault(lambda proxy: proxy.reset(), 0, 5),
    "hang-up": Fault(lambda proxy: proxy.hang_up(), 0, 5),
    "server-down": Fault(lambda proxy: (proxy.refuse(), proxy.reset()), 5, 5),
    "latency": Fault(lambda proxy: proxy.latency(300, jitter_ms=200), None, 3),
    "bandwidth": Fault(lambda proxy: proxy.bandwidth(4096), None, 3),
    "slices": Fault(lambda proxy: proxy.slices(1), None, 3),
}
# The promise for the server's own paths: no event later than 5 s after its `ts`.
APP_REDIS = {
    "blackhole-30s": Fault(lambda proxy: proxy.blackhole(), 30, 5, True),
    "blackhole-old-flows-30s": Fault(lambda proxy: proxy.blackhole(new_flows=True), 30, 5, True),
    "reset": Fault(lambda proxy: proxy.reset(), 0, 5, True),
    "latency": Fault(lambda proxy: proxy.latency(300, jitter_ms=200), None, 5, True),
}
# Streams end by themselves every 10 s here (REALTIME_MAX_STREAM_AGE_S), so that clients open
# new ones (which read the database) while it is frozen, not only keep the ones they had.
APP_POSTGRES = {
    "blackhole-45s": Fault(lambda proxy: proxy.blackhole(), 45, 10),
    "reset": Fault(lambda proxy: proxy.reset(), 0, 5, True),
    "latency": Fault(lambda proxy: proxy.latency(100, jitter_ms=50), None, 5, True),
}
FAULTS = {"client-server": CLIENT_SERVER, "app-redis": APP_REDIS, "app-postgres": APP_POSTGRES}
SERVER_ENV = {"app-postgres": {"REALTIME_MAX_STREAM_AGE_S": "10"}}
SMOKE = {("client-server", "blackhole-12s", of_the_day(list(COMMANDS), named_by="FAULT_RECIPE"))}
"""What the default suite (and CI) runs: one recipe a day (FAULT_RECIPE=curl|httpx|node names
one) through a blackhole long enough for a stall (4 s) and failed reconnects."""


def _rows() -> list[object]:
    return [
        pytest.param(
            placement,
            client,
            fault,
            marks=() if (placement, fault, client) in SMOKE else pytest.mark.faults,
            id=f"{placement}-{fault}-{client}",
        )
        for placement, faults in FAULTS.items()
        for fault in faults
        for client in COMMANDS
    ]


@pytest.fixture
def follow(
    start_web, server_env, owner, settings
) -> Iterator[Callable[[str, Placement, float], tuple[Program, ScriptedJob, FaultProxy]]]:
    """Return a function that puts a fault proxy on one path of a new web server, starts a
    recipe on a new job through it, and waits for the recipe's first event."""
    programs: list[Program] = []
    proxies: list[FaultProxy] = []

    def start(client: str, placement: Placement, duration_s: float) -> tuple:
        placed = serve_behind(
            placement,
            start_web=start_web,
            redis_url=settings.REDIS_URL,
            database_url=server_env("composer-web")["DATABASE_URL"],
            lifetime_s=duration_s + 180,
            **SERVER_ENV.get(placement, {}),
        )
        proxies.append(placed.proxy)
        job = services.job_create(owner=owner, params=PARAMS)
        _, secret = token_services.token_create(user=owner, name=client)
        env = {"BASE": placed.base_url, "TOKEN": secret, "JOB": str(job.pk)}
        program = Program(client, env).start()
        programs.append(program)
        program.wait_for_seq(1, timeout=30)
        return program, ScriptedJob(job, duration_s=duration_s).start(), placed.proxy

    yield start  # type: ignore[misc]
    for program in programs:
        program.stop()
    for proxy in proxies:
        proxy.stop()


def _assert_every_event_once(program: Program, scripted: ScriptedJob) -> None:
    assert program.wait(timeout=60) == 0, program.report()
    assert program.seqs == [seq for seq, _ in scripted.recorded], program.report()


@pytest.mark.parametrize(("placement", "client", "fault_name"), _rows())
def test_a_recipe_follows_a_job_through_a_fault_on_a_path(
    placement: str, client: str, fault_name: str, follow, capsys
) -> None:
    fault = FAULTS[placement][fault_name]
    program, scripted, proxy = follow(client, placement, BEFORE_S + (fault.lasts_s or 0) + AFTER_S)
    time.sleep(BEFORE_S)
    began = time.time()
    fault.apply(proxy)
    if fault.lasts_s is not None:
        time.sleep(fault.lasts_s)
        proxy.heal()
    healed = began if fault.from_ts or fault.lasts_s is None else time.time()
    scripted.wait(timeout=60)
    _assert_every_event_once(program, scripted)

    late = lateness(program.arrivals, scripted.recorded, healed_at=healed)
    with capsys.disabled():
        print(_row(client, placement, fault_name, late, program))
    assert late <= fault.bound_s, f"began {began:.1f}, healed {healed:.1f}: {program.report()}"


@pytest.mark.faults
@pytest.mark.parametrize("client", list(COMMANDS))
def test_behind_a_proxy_that_buffers_streams_a_recipe_polls_and_gets_every_event(
    client: str, start_web, owner, capsys
) -> None:
    web = start_web()
    job = services.job_create(owner=owner, params=PARAMS)
    _, secret = token_services.token_create(user=owner, name=client)
    with _buffering(web.port) as proxy:
        program = Program(client, {"BASE": proxy.url, "TOKEN": secret, "JOB": str(job.pk)})
        try:
            program.start().wait_for_seq(1, timeout=30)
            began = time.time()
            scripted = ScriptedJob(job, duration_s=10).start()
            scripted.wait(timeout=60)
            _assert_every_event_once(program, scripted)
        finally:
            program.stop()

    late = lateness(program.arrivals, scripted.recorded, healed_at=began)
    with capsys.disabled():
        print(_row(client, "client-server", "buffering proxy", late, program))
    assert late <= 10


@contextlib.contextmanager
def _buffering(port: int) -> Iterator[Proxy]:
    proxy = Proxy(port, streams="buffer").start()
    try:
        yield proxy
    finally:
        proxy.stop()


def _row(client: str, placement: str, fault: str, late: float, program: Program) -> str:
    # "curl: (7) Failed to connect to 127.0.0.1 port 41234 after 0 ms: ..." -> "curl: (7)"
    reconnects = [
        re.sub(r"(curl: \(\d+\)).*| \S+:\d+$", r"\1", line.split(";")[0])
        for _, line in program.errors
    ]
    return fault_row(
        client=client,
        placement=placement,
        fault=fault,
        late_s=late,
        saw=f"{len(reconnects)} reconnects ({', '.join(sorted(set(reconnects)))})",
    )
