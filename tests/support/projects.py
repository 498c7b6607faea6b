"""Generated projects run as their developer would: the zip of a real job, unpacked, and the
README's own commands, with the devnet and the page on free ports (as the README says how).

npm installs from the lockfile through a cache of its own (`data/npm-cache`, git-ignored), so
only the first install on a machine downloads; nothing else leaves the machine.
"""

import io
import os
import re
import shlex
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from django.core.files.storage import default_storage

from jobs.models import Job
from tests.support.servers import ROOT, free_port

NPM_CACHE = ROOT / "data" / "npm-cache"
VARIANTS: dict[str, dict[str, Any]] = {
    "token": {"burnable": True},
    "nft": {"royalties": True, "max_per_wallet": 2, "mint_price": "0.05"},
    "dao": {"timelock_delay_s": 3600, "proposal_threshold": 500_000, "voting_period_blocks": 20},
    "escrow": {"arbiter_required": False, "fee_basis_points": 250, "response_days": 3},
}
"""Beyond the defaults: every template's other options flipped or changed; the second
variant of each test also targets a public network and the React front end."""
SECOND = {"network": "testnet", "frontend": "react"}
_CODE_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def params_for(key: str, variant: str, name: str) -> dict[str, Any]:
    """Return a job's parameters: the template's defaults, or its other variant."""
    extra = {**VARIANTS[key], **SECOND} if variant == "other" else {}
    return {"name": name, "template": key, **extra}


def unzip_job(job: Job, into: Path) -> Path:
    """Unpack the job's zip as its developer would; return the project's folder."""
    with default_storage.open(job.artifact.name) as handle:
        zipfile.ZipFile(io.BytesIO(handle.read())).extractall(into)
    (root,) = [p for p in into.iterdir() if p.is_dir()]
    return root


def readme_commands(readme: str) -> list[str]:
    """Return the commands of the README's "Try it" block, comments dropped, in order."""
    block = _CODE_BLOCK.search(readme)
    assert block, "the README has no ```sh block"
    return [
        line.split("#")[0].strip() for line in block[1].splitlines() if line.split("#")[0].strip()
    ]


@dataclass
class Project:
    """An unpacked project, and the commands run in it (each with its log and wall time)."""

    root: Path
    logs: Path
    env: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def at(cls, root: Path, logs: Path) -> "Project":
        env = {
            **os.environ,
            "npm_config_cache": str(NPM_CACHE),
            "npm_config_prefer_offline": "true",  # the lockfile names every tarball
            "npm_config_update_notifier": "false",
            # Where Hardhat would keep a downloaded compiler: empty, and it must stay so.
            "XDG_CACHE_HOME": str(logs / "xdg-cache"),
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        return cls(root=root, logs=logs, env=env)

    def run(self, command: str, *, timeout: float, env: dict[str, str] | None = None) -> str:
        """Run one command to its end; return its output; fail with it if it failed."""
        result = self.attempt(command, timeout=timeout, env=env)
        assert result.returncode == 0, (
            f"`{command}` exited {result.returncode}:\n{result.stdout[-4000:]}"
        )
        return result.stdout

    def attempt(
        self, command: str, *, timeout: float, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run one command to its end, whatever its exit code."""
        started = time.monotonic()
        result = subprocess.run(
            shlex.split(command),
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.seconds[command] = self.seconds.get(command, 0) + time.monotonic() - started
        output = result.stdout + result.stderr
        (self.logs / f"{_file_name(command)}.log").write_text(output)
        return subprocess.CompletedProcess(result.args, result.returncode, output, "")

    def start(self, command: str, *, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running command (the devnet, the page's server) in a process group."""
        with (self.logs / f"{_file_name(command)}.log").open("ab") as log:
            process = subprocess.Popen(
                shlex.split(command),
                cwd=self.root,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # npm's children too: stop() ends the whole group
            )
        self.started.append(process)
        return process

    def stop(self) -> None:
        """End every process this project started (their groups), TERM then KILL."""
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
        self.started.clear()

    def log(self, command: str) -> str:
        path = self.logs / f"{_file_name(command)}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def downloaded_compilers(self) -> list[Path]:
        """Return whatever Hardhat put in its compilers cache (nothing, when offline works)."""
        cache = self.logs / "xdg-cache"
        return (
            [p for p in cache.rglob("*") if "compilers" in p.as_posix()] if cache.exists() else []
        )


def _file_name(command: str) -> str:
    return re.sub(r"[^\w.-]+", "_", command)[:60]


@dataclass(frozen=True)
class Devnet:
    """`npm run node` on a port of its own, and the page's server beside it."""

    rpc_url: str
    web_url: str


@contextmanager
def serve_project(
    project: Project, *, node: str, web: str, ready_s: float = 60
) -> Iterator[Devnet]:
    """Start the README's `npm run node` and `npm run web` on free ports (the README's own
    `-- --port` forms); stop both, and all their children, at the end."""
    rpc_port, web_port = free_port(), free_port()
    devnet = Devnet(rpc_url=f"http://127.0.0.1:{rpc_port}", web_url=f"http://127.0.0.1:{web_port}")
    try:
        project.start(f"{node} -- --port {rpc_port}")
        project.start(f"{web} -- --port {web_port}")
        _wait_rpc(devnet.rpc_url, ready_s)
        _wait_http(devnet.web_url, ready_s)
        yield devnet
    finally:
        project.stop()


def rpc(url: str, method: str, *params: Any) -> Any:
    """Call the devnet's JSON-RPC; return the result."""
    answer = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=10
    ).json()
    assert "error" not in answer, answer
    return answer["result"]


def _wait_rpc(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rpc(url, "eth_chainId")
            return
        except (httpx.HTTPError, AssertionError):
            time.sleep(0.25)
    raise TimeoutError(f"the devnet did not answer at {url} within {timeout} s")


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"the page's server did not answer at {url} within {timeout} s")
