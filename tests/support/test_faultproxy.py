"""The fault proxy does what each fault says, against a real TCP echo server."""

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.faultproxy import FaultProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            if data == b"bye":
                return  # closes: the end of a "response"
            self.request.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo_port: int) -> Iterator[FaultProxy]:
    with FaultProxy(echo_port, seed=7, lifetime_s=60) as fault_proxy:
        yield fault_proxy


def _connect(proxy: FaultProxy, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _round_trip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        got += sock.recv(65536) or b""
    return got


def test_relays_both_ways(proxy: FaultProxy) -> None:
    with _connect(proxy) as sock:
        assert _round_trip(sock, b"hello") == b"hello"
    assert proxy.accepted == 1


def test_latency_delays_every_chunk(proxy: FaultProxy) -> None:
    proxy.latency(150, jitter_ms=20)
    with _connect(proxy) as sock:
        started = time.monotonic()
        assert _round_trip(sock, b"x") == b"x"
        assert time.monotonic() - started >= 2 * 0.13  # each way, less the jitter


def test_blackhole_moves_no_byte_and_closes_nothing_until_healed(proxy: FaultProxy) -> None:
    with _connect(proxy, timeout=0.5) as sock:
        assert _round_trip(sock, b"before") == b"before"
        proxy.blackhole()
        sock.sendall(b"during")
        with pytest.raises(TimeoutError):
            sock.recv(100)  # no byte, and no FIN or RST either
        assert proxy.open_connections() == 1
        proxy.heal()
        sock.settimeout(5)
        assert sock.recv(100) == b"during"  # held, then delivered: TCP retransmits


def test_blackhole_hangs_new_connections_too(proxy: FaultProxy) -> None:
    proxy.blackhole()
    with _connect(proxy, timeout=0.5) as sock:
        sock.sendall(b"hello")
        with pytest.raises(TimeoutError):
            sock.recv(100)
        proxy.heal()
        sock.settimeout(5)
        assert sock.recv(100) == b"hello"


def test_a_nat_like_blackhole_kills_old_flows_only(proxy: FaultProxy) -> None:
    with _connect(proxy, timeout=0.5) as old:
        assert _round_trip(old, b"a") == b"a"
        proxy.blackhole(new_flows=True)
        old.sendall(b"b")
        with pytest.raises(TimeoutError):
            old.recv(100)
        with _connect(proxy) as new:
            assert _round_trip(new, b"fresh") == b"fresh"


def test_reset_cuts_open_connections_with_rst(proxy: FaultProxy) -> None:
    with _connect(proxy) as sock:
        assert _round_trip(sock, b"a") == b"a"
        proxy.reset()
        with pytest.raises(ConnectionResetError):
            for _ in range(50):  # the RST may arrive after one more send
                sock.sendall(b"b")
                if not sock.recv(100):
                    break
                time.sleep(0.02)


def test_hang_up_closes_open_connections_with_a_fin(proxy: FaultProxy) -> None:
    with _connect(proxy) as sock:
        assert _round_trip(sock, b"a") == b"a"
        proxy.hang_up()
        assert sock.recv(100) == b""  # an orderly end, not a ConnectionResetError
    assert _wait_for(lambda: proxy.open_connections() == 0)


def _wait_for(predicate: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_refuse_resets_new_connections(proxy: FaultProxy) -> None:
    proxy.refuse()
    with pytest.raises(ConnectionResetError):  # at connect, or at the first read
        with _connect(proxy) as sock:
            sock.sendall(b"a")
            sock.recv(100)


def test_slices_send_one_byte_at_a_time(proxy: FaultProxy) -> None:
    proxy.slices(1, gap_s=0.03)
    with _connect(proxy) as sock:
        sock.sendall(b"abcd")
        reads = [sock.recv(100) for _ in range(4)]
    assert reads == [b"a", b"b", b"c", b"d"]


def test_bandwidth_caps_each_direction(proxy: FaultProxy) -> None:
    proxy.bandwidth(20_000)
    with _connect(proxy) as sock:
        started = time.monotonic()
        assert _round_trip(sock, b"x" * 8_000) == b"x" * 8_000
        assert time.monotonic() - started >= 8_000 / 20_000  # both ways overlap


def test_buffered_responses_come_back_only_when_the_upstream_closes(proxy: FaultProxy) -> None:
    proxy.buffer_responses()
    with _connect(proxy, timeout=0.5) as sock:
        sock.sendall(b"partial")
        with pytest.raises(TimeoutError):
            sock.recv(100)
        sock.sendall(b"bye")  # the echo server closes: the whole response goes out
        sock.settimeout(5)
        got = b""
        while chunk := sock.recv(100):
            got += chunk
    assert got == b"partial"


def test_heal_ends_every_fault(proxy: FaultProxy) -> None:
    proxy.latency(2_000)
    proxy.slices(1, gap_s=1)
    proxy.heal()
    with _connect(proxy, timeout=1) as sock:
        assert _round_trip(sock, b"quick") == b"quick"


def test_stop_ends_even_while_a_client_keeps_reconnecting(echo_port: int) -> None:
    """A client that reconnects at once after every cut (a Redis link, a pool) must not keep
    the proxy from stopping: connections accepted while it stops are cut too."""
    proxy = FaultProxy(echo_port, seed=1, lifetime_s=60).start()
    proxy.blackhole()
    done = threading.Event()

    def reconnect_for_ever() -> None:
        while not done.is_set():
            try:
                with _connect(proxy, timeout=30) as sock:
                    sock.recv(1)  # holds the connection until the proxy ends it
            except OSError:
                pass

    clients = [threading.Thread(target=reconnect_for_ever, daemon=True) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        time.sleep(0.3)
        proxy.stop(timeout=10)  # raises TimeoutError if it cannot
    finally:
        done.set()
        for client in clients:
            client.join(5)
