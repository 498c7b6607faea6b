"""A private redis-server for outage tests: started, killed and restarted on one port."""

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.support.servers import Proc, free_port

START_TIMEOUT_S = 10.0


def redis_answers(url: str) -> bool:
    """Return True when the Redis server at `url` answers PING."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@dataclass
class PrivateRedis:
    """A redis-server of one test's own, without persistence, on a free loopback port."""

    env: dict[str, str]
    log_dir: Path
    started: list[Proc]
    """Where each started server is recorded (the `processes` fixture stops them all)."""
    port: int = field(default_factory=free_port)
    current: Proc | None = None

    @property
    def url(self) -> str:
        """Return the server's URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Proc:
        """Start the server (again) on its port and wait until it answers."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the outage tests (scripts/test installs it)"
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.current = Proc(
            f"redis-{self.port}", args, self.env, self.log_dir / f"redis-{self.port}.log"
        ).start()
        self.started.append(self.current)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not redis_answers(self.url):
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server on {self.port} did not answer in time")
            time.sleep(0.05)
        return self.current

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; the port stays this test's."""
        if self.current is not None:
            self.current.kill()
