// SPDX-License-Identifier: MIT
pragma solidity ^{{ toolchain.solc }};

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title {{ name|comment }} governance token
/// @notice One token is one vote, once its holder has delegated it (to themselves or someone else).
/// The whole supply, 1,000,000 tokens, is minted to the deployer.
contract {{ contract_name }}Token is ERC20, ERC20Permit, ERC20Votes {
    constructor()
        ERC20({{ name|sol }}, {{ token_symbol|sol }})
        ERC20Permit("{{ contract_name|slice:":31" }}") // an EIP-712 name: at most 31 bytes
    {
        _mint(msg.sender, 1_000_000 * 10 ** decimals());
    }

    // The following functions are overrides required by Solidity.

    function _update(address from, address to, uint256 value)
        internal override(ERC20, ERC20Votes)
    {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
