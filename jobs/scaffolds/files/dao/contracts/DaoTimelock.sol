// SPDX-License-Identifier: MIT
pragma solidity ^{{ toolchain.solc }};

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title {{ name|comment }} timelock
/// @notice Holds each proposal {{ contract_name }} passed for {{ timelock_delay_s }} seconds before anyone may
/// execute it, so that members can react (or leave) before a decision takes effect.
/// The deployer administers it only until scripts/deploy.js has made the governor its proposer
/// and canceller; it then renounces, and only governance can change the timelock.
contract {{ contract_name }}Timelock is TimelockController {
    constructor() TimelockController({{ timelock_delay_s }}, new address[](0), _anyone(), msg.sender) {}

    /// The executors: address(0) lets anyone execute an operation once it is ready.
    function _anyone() private pure returns (address[] memory executors) {
        executors = new address[](1);
    }
}
