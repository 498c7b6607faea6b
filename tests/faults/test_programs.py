"""The README's recipes (curl, httpx, Node's eventsource) through network faults (issue 23).

Each recipe is the README's own code (tests/support/recipes.py), run as a program that follows
one job to its end. A seeded TCP fault proxy (tests/support/faultproxy.py) sits between it and
a real uvicorn server, the job's events are recorded at a steady pace by the test
(tests/support/scripted.py), and each scenario asserts every event exactly once and in order,
the program's own exit once the job ended, and how late any event was. The server's heartbeat
is 2 s here, so a recipe's stall window is 4 s.

The default suite runs the smoke subset (a blackhole of every flow, each recipe); `-m faults`
runs every row. docs/reliability.md holds the table.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from api import services as token_services
from jobs import services
from tests.support.faultproxy import FaultProxy
from tests.support.faultreport import fault_row
from tests.support.proxy import Proxy
from tests.support.recipes import COMMANDS, Program
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
    """How late an event may be, after the heal (or after the fault began, `during`)."""
    during: bool = False
    """The client recovers while the fault lasts (new connections get through)."""


FAULTS = {
    "blackhole": Fault(lambda proxy: proxy.blackhole(), 20, 10),
    "blackhole-old-flows": Fault(lambda proxy: proxy.blackhole(new_flows=True), 20, 10, True),
    "reset": Fault(lambda proxy: proxy.reset(), 0, 5),
    "hang-up": Fault(lambda proxy: proxy.hang_up(), 0, 5),
    "server-down": Fault(lambda proxy: (proxy.refuse(), proxy.reset()), 5, 5),
    "latency": Fault(lambda proxy: proxy.latency(300, jitter_ms=200), None, 3),
    "bandwidth": Fault(lambda proxy: proxy.bandwidth(4096), None, 3),
    "slices": Fault(lambda proxy: proxy.slices(1), None, 3),
}
SMOKE = {"blackhole"}


def _rows() -> list[object]:
    return [
        pytest.param(client, fault, marks=() if fault in SMOKE else pytest.mark.faults)
        for fault in FAULTS
        for client in COMMANDS
    ]


@pytest.fixture
def follow(
    start_web, owner
) -> Iterator[Callable[[str, Callable[[int], str]], tuple[Program, ScriptedJob]]]:
    """Return a function that starts a recipe on a new job through a front of the test's
    (given the web server's port, it returns the base URL) and waits for its first event."""
    programs: list[Program] = []

    def start(client: str, front: Callable[[int], str], duration_s: float) -> tuple:
        web = start_web()
        job = services.job_create(owner=owner, params=PARAMS)
        _, secret = token_services.token_create(user=owner, name=client)
        env = {"BASE": front(web.port), "TOKEN": secret, "JOB": str(job.pk)}
        program = Program(client, env).start()
        programs.append(program)
        program.wait_for_seq(1, timeout=30)
        return program, ScriptedJob(job, duration_s=duration_s).start()

    yield start  # type: ignore[misc]
    for program in programs:
        program.stop()


def _assert_every_event_once(program: Program, scripted: ScriptedJob) -> None:
    assert program.wait(timeout=60) == 0, program.report()
    assert program.seqs == [seq for seq, _ in scripted.recorded], program.report()


@pytest.mark.parametrize(("client", "fault_name"), _rows())
def test_a_recipe_follows_a_job_through_a_fault_on_its_path_to_the_server(
    client: str, fault_name: str, follow, capsys
) -> None:
    fault = FAULTS[fault_name]
    proxies: list[FaultProxy] = []

    def front(port: int) -> str:
        proxies.append(FaultProxy(port, seed=23, lifetime_s=180).start())
        return f"http://{proxies[0].url_host_port}"

    program, scripted = follow(client, front, BEFORE_S + (fault.lasts_s or 0) + AFTER_S)
    try:
        (proxy,) = proxies
        time.sleep(BEFORE_S)
        began = time.time()
        fault.apply(proxy)
        if fault.lasts_s is not None:
            time.sleep(fault.lasts_s)
            proxy.heal()
        healed = began if fault.during or fault.lasts_s is None else time.time()
        scripted.wait(timeout=60)
        _assert_every_event_once(program, scripted)
    finally:
        for proxy in proxies:
            proxy.stop()

    late = lateness(program.arrivals, scripted.recorded, healed_at=healed)
    with capsys.disabled():
        print(_row(client, fault_name, late, program))
    assert late <= fault.bound_s


@pytest.mark.faults
@pytest.mark.parametrize("client", list(COMMANDS))
def test_behind_a_proxy_that_buffers_streams_a_recipe_polls_and_gets_every_event(
    client: str, follow, capsys
) -> None:
    proxies: list[Proxy] = []

    def front(port: int) -> str:
        proxies.append(Proxy(port, streams="buffer").start())
        return proxies[0].url

    program, scripted = follow(client, front, 10)
    began = time.time()
    try:
        scripted.wait(timeout=60)
        _assert_every_event_once(program, scripted)
    finally:
        for proxy in proxies:
            proxy.stop()

    late = lateness(program.arrivals, scripted.recorded, healed_at=began)
    with capsys.disabled():
        print(_row(client, "buffering proxy", late, program))
    assert late <= 10


def _row(client: str, fault: str, late: float, program: Program) -> str:
    reconnects = [line.split(";")[0] for line in program.errors]
    return fault_row(
        client=client,
        placement="client-server",
        fault=fault,
        late_s=late,
        saw=f"{len(reconnects)} reconnects ({', '.join(sorted(set(reconnects)))})",
    )
