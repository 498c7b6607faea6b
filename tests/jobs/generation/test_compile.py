"""Compiling with the real solc-js: artifacts, located diagnostics, and the on-disk cache."""

import pytest

from jobs.generation.compile import cache_key, compile_file, standard_input
from jobs.generation.toolchain import shared_toolchain

GOOD = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
contract Tiny is ERC20 { constructor() ERC20("Tiny", "TNY") { _mint(msg.sender, 1); } }
"""
CLASH = GOOD.replace("contract Tiny is ERC20", "contract ERC20 is ERC20")
WARNS = GOOD.replace("{ _mint(msg.sender, 1); }", "{ uint256 unused; _mint(msg.sender, 1); }")


@pytest.fixture
def cache_dir(tmp_path, settings):
    settings.JOBS_BUILD_CACHE_DIR = str(tmp_path / "cache")
    return tmp_path / "cache"


def compile_(path, source):
    return compile_file(
        path, source, toolchain=shared_toolchain(), should_stop=lambda: False, timeout_s=120
    )


def test_a_contract_compiles_to_abi_and_bytecode_then_comes_from_the_cache(cache_dir):
    first = compile_("contracts/Tiny.sol", GOOD)
    assert not first.errors and not first.cached
    tiny = first.artifacts["Tiny"]
    assert {entry.get("name") for entry in tiny.abi} >= {"transfer", "totalSupply"}
    assert tiny.bytecode and tiny.deployed_bytecode

    again = compile_("contracts/Tiny.sol", GOOD)
    assert again.cached and again.artifacts == first.artifacts
    assert len(list(cache_dir.rglob("*.json"))) == 1


def test_a_clash_fails_with_file_line_and_message(cache_dir):
    result = compile_("contracts/Clash.sol", CLASH)
    assert result.errors, result
    first = result.errors[0]
    assert first.where.startswith("contracts/Clash.sol:4"), first
    assert "Error" in first.message
    assert not list(cache_dir.rglob("*.json"))  # failures are not cached


def test_warnings_are_reported(cache_dir):
    result = compile_("contracts/Warns.sol", WARNS)
    assert not result.errors
    assert any("Unused local variable" in w.message for w in result.warnings), result.warnings


def test_the_cache_key_covers_the_exact_input():
    base = standard_input("contracts/Tiny.sol", GOOD)
    assert cache_key(base) == cache_key(standard_input("contracts/Tiny.sol", GOOD))
    assert cache_key(base) != cache_key(standard_input("contracts/Tiny.sol", GOOD + " "))
