"""The toolchain child: a cancel or a timeout kills it at once, and the next request revives it."""

import os
import time
import uuid
from collections.abc import Iterator

import pytest

from jobs.generation.compile import standard_input
from jobs.generation.toolchain import (
    Cancelled,
    StepTimedOut,
    Toolchain,
    ToolchainError,
    shared_toolchain,
    toolchain_dir,
)

SLOW = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
// %s: a fresh input each run, so nothing is cached anywhere
abstract contract Slow is Governor {}
"""


@pytest.fixture
def toolchain() -> Iterator[Toolchain]:
    child = Toolchain(directory=toolchain_dir(), node="node")
    yield child
    child.kill()


def fresh_input():
    return standard_input("contracts/Slow.sol", SLOW % uuid.uuid4())


def test_cancel_kills_a_running_compile(toolchain):
    toolchain.request("version")  # the child is up, its compiler loaded
    pid = toolchain.pid
    # Stopped 30 ms into the compile, which takes 140-350 ms on a quiet machine (a timer of
    # 0.3 s let it finish first there, and the test failed).
    started = time.monotonic()
    with pytest.raises(Cancelled):
        toolchain.request(
            "compile",
            input=fresh_input(),
            timeout_s=60,
            should_stop=lambda: time.monotonic() - started > 0.03,
        )
    assert toolchain.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert toolchain.request("version")["version"].startswith("0.8.")  # a new child answers


def test_a_step_timeout_kills_the_child(toolchain):
    started = time.monotonic()
    with pytest.raises(StepTimedOut):
        toolchain.request("compile", input=fresh_input(), timeout_s=0.2)
    assert toolchain.pid is None
    assert time.monotonic() - started < 30  # bounded; the figure is in docs/generation.md


def test_a_failing_op_says_why(toolchain):
    with pytest.raises(ToolchainError, match="no chain: send a reset first"):
        toolchain.request("mine", blocks=1)


def test_a_missing_install_is_named(tmp_path):
    with pytest.raises(ToolchainError, match="npm ci"):
        Toolchain(directory=tmp_path, node="node").request("version")


def test_the_shared_toolchain_reports_its_memory():
    toolchain = shared_toolchain()
    toolchain.request("version")
    rss = toolchain.rss_bytes()
    assert rss is not None and rss > 0
