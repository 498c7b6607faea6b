"""The private Redis Cluster of `scripts/services cluster` (3 masters, 3 replicas, 7101-7106):
started when missing, its masters found, one killed, and the cluster made whole again."""

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

import redis
from redis.crc import key_slot

from tests.support.servers import ROOT

PORTS = tuple(range(7101, 7107))
URL = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in PORTS)
Address = tuple[str, int]
TIMEOUT_S = 30.0


def _client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=1)


def _answers(port: int) -> bool:
    client = _client(port)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@dataclass
class Cluster:
    """The cluster as the tests see it."""

    url: str = URL
    _masters_before: list[Address] = field(default_factory=list)

    def ensure(self) -> None:
        """Start it (or restart its missing nodes) and wait until it is whole and ok."""
        subprocess.run(
            [str(ROOT / "scripts" / "services"), "cluster"],
            check=True,
            timeout=TIMEOUT_S + 10,
            capture_output=True,
        )
        self.wait_whole()

    def wait_whole(self, timeout: float = TIMEOUT_S) -> None:
        """Wait until every node answers, each master has its replica and the state is ok."""
        deadline = time.monotonic() + timeout
        while not self._whole():
            if time.monotonic() > deadline:
                raise TimeoutError("the Redis Cluster did not become whole in time")
            time.sleep(0.1)

    def _whole(self) -> bool:
        if not all(_answers(port) for port in PORTS):
            return False
        client = _client(PORTS[0])
        try:
            nodes = client.execute_command("CLUSTER NODES")  # parsed by redis-py
        finally:
            client.close()
        if not self._state_ok() or any("fail" in n["flags"] for n in nodes.values()):
            return False
        return len(self.masters()) == 3 and all(len(r) == 1 for r in self._replicas().values())

    def slots(self) -> list[tuple[int, int, Address, list[Address]]]:
        """Return (first slot, last slot, master, replicas) of each range, from a live node."""
        for port in PORTS:
            if not _answers(port):
                continue
            client = _client(port)
            try:
                reply = client.execute_command("CLUSTER SLOTS")
            finally:
                client.close()
            return [
                (int(r[0]), int(r[1]), _address(r[2]), [_address(n) for n in r[3:]]) for r in reply
            ]
        raise RuntimeError("no cluster node answers")

    def masters(self) -> list[Address]:
        """Return the masters, in slot order."""
        return list(dict.fromkeys(master for _, _, master, _ in self.slots()))

    def _replicas(self) -> dict[Address, list[Address]]:
        found: dict[Address, list[Address]] = {}
        for _, _, master, replicas in self.slots():
            found[master] = replicas
        return found

    def owner(self, channel: str) -> Address:
        """Return the master owning `channel`'s slot."""
        slot = key_slot(channel.encode())
        for first, last, master, _ in self.slots():
            if first <= slot <= last:
                return master
        raise RuntimeError(f"slot {slot} is not covered")

    def channel_on(self, master: Address, prefix: str) -> str:
        """Return a channel named `prefix`:<n> whose slot `master` owns."""
        for n in range(10_000):
            channel = f"{prefix}:{n}"
            if self.owner(channel) == master:
                return channel
        raise RuntimeError(f"no channel of {prefix} on {master}")

    def hand_over(self, master: Address) -> Address:
        """Make `master`'s replica take over gracefully (CLUSTER FAILOVER): the old master
        lives on as a replica and drops its shard channels itself. Return the new master."""
        (replica,) = self._replicas()[master]
        self._masters_before = self.masters()
        client = _client(replica[1])
        try:
            client.execute_command("CLUSTER FAILOVER")
        finally:
            client.close()
        return self.wait_failover(master)

    def kill(self, master: Address) -> None:
        """SIGKILL the redis-server at `master`, as a crash would."""
        self._masters_before = self.masters()
        os.kill(self.pid(master), signal.SIGKILL)

    def freeze(self, master: Address) -> int:
        """SIGSTOP the redis-server at `master`: its sockets stay open and its kernel still
        accepts connections, but nothing answers (a silent failure); return its pid."""
        self._masters_before = self.masters()
        pid = self.pid(master)
        os.kill(pid, signal.SIGSTOP)
        return pid

    def pid(self, node: Address) -> int:
        """Return the process id of the redis-server at `node`."""
        client = _client(node[1])
        try:
            return int(client.info("server")["process_id"])
        finally:
            client.close()

    def wait_failover(self, dead: Address, timeout: float = TIMEOUT_S) -> Address:
        """Wait until a replica owns the slots `dead` owned (as a master before it was killed
        or handed over) and the cluster is ok again; return the new master."""
        deadline = time.monotonic() + timeout
        while True:
            masters = self.masters()
            if dead not in masters and len(masters) == 3 and self._state_ok():
                (new,) = set(masters) - set(self._masters_before)
                return new
            if time.monotonic() > deadline:
                raise TimeoutError(f"no replica took over from {dead} in {timeout}s")
            time.sleep(0.1)

    def _state_ok(self) -> bool:
        for port in PORTS:
            if _answers(port):
                client = _client(port)
                try:
                    return client.execute_command("CLUSTER INFO")["cluster_state"] == "ok"
                finally:
                    client.close()
        return False

    def shard_subscribers(self, channel: str) -> int:
        """Return how many connections SSUBSCRIBEd `channel` on its master."""
        client = _client(self.owner(channel)[1])
        try:
            reply = client.execute_command("PUBSUB SHARDNUMSUB", channel)
        finally:
            client.close()
        return int(reply[0][1])


def _address(node: list[object]) -> Address:
    host = node[0]
    return (host.decode() if isinstance(host, bytes) else str(host)), int(str(node[1]))
