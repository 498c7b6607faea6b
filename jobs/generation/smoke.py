"""Stage 4: a smoke test per template, run on the contracts just deployed.

Each test is a short list of named checks that use the contracts the way their page does;
a check that finds a wrong value raises `SmokeFailed`, a transaction that reverts raises
`deploy.Reverted`. Checks never compare balances of the account that paid for gas.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobs.generation.deploy import Chain, Reverted

ETHER = 10**18
SIGNAL = "Adopt the charter"
"""The DAO smoke test's proposal: a "signal" proposal, which calls the governor with no data."""


class SmokeFailed(Exception):
    """A smoke-test check found something other than what the contract promises."""


@dataclass(frozen=True, kw_only=True)
class Project:
    """What a check knows of the project: its parameters and its contracts' names."""

    params: dict[str, Any]
    """The job's parameters."""
    contracts: dict[str, str]
    """{source file: contract name}."""

    def contract(self, path: str) -> str:
        """Return the name of the contract declared in `path`."""
        return self.contracts[path]


Check = Callable[[Chain, Project], str]


def expect(what: str, got: Any, wanted: Any) -> None:
    """Raise SmokeFailed unless `got` equals `wanted` (compared as text: uint256 come as text)."""
    if str(got) != str(wanted):
        raise SmokeFailed(f"{what}: expected {wanted}, got {got}")


def expect_revert(what: str, attempt: Callable[[], object]) -> str:
    """Raise SmokeFailed unless `attempt` reverts; return the revert reason."""
    try:
        attempt()
    except Reverted as exc:
        return str(exc)
    raise SmokeFailed(f"{what}: expected a revert, the transaction went through")


# --- token ---------------------------------------------------------------------------------


def _token(p: Project) -> str:
    return p.contract("contracts/Token.sol")


def token_supply(chain: Chain, p: Project) -> str:
    """Check the whole supply went to the deployer, with the chosen decimals."""
    supply = int(p.params["initial_supply"]) * 10 ** int(p.params["decimals"])
    expect("decimals", chain.call(_token(p), "decimals"), p.params["decimals"])
    expect("totalSupply", chain.call(_token(p), "totalSupply"), supply)
    expect("deployer balance", chain.call(_token(p), "balanceOf", chain.accounts[0]), supply)
    return f"supply {supply:,} base units"


def token_transfer(chain: Chain, p: Project) -> str:
    """Check a transfer moves tokens and one beyond the balance reverts."""
    amount = 10 ** int(p.params["decimals"])
    chain.send(_token(p), "transfer", chain.accounts[1], str(amount))
    expect("receiver balance", chain.call(_token(p), "balanceOf", chain.accounts[1]), amount)
    reason = expect_revert(
        "overdraft",
        lambda: chain.send(_token(p), "transfer", chain.accounts[2], str(amount + 1), sender=1),
    )
    return f"sent {amount} base units; overdraft reverted ({reason})"


def token_burn(chain: Chain, p: Project) -> str:
    """Check a holder can burn (burnable tokens only)."""
    before = int(chain.call(_token(p), "totalSupply"))
    amount = 10 ** int(p.params["decimals"])
    chain.send(_token(p), "burn", str(amount), sender=1)
    expect("supply after burn", chain.call(_token(p), "totalSupply"), before - amount)
    return f"burnt {amount} base units"


# --- nft -----------------------------------------------------------------------------------


def _nft(p: Project) -> str:
    return p.contract("contracts/Collection.sol")


def nft_mint(chain: Chain, p: Project) -> str:
    """Check anyone can mint the first token at the mint price."""
    price = int(p.params["mint_price_wei"])
    chain.send(_nft(p), "mint", sender=1, value=price)
    expect("owner of token 1", str(chain.call(_nft(p), "ownerOf", 1)).lower(), chain.accounts[1])
    expect("totalSupply", chain.call(_nft(p), "totalSupply"), 1)
    expect("collection balance", chain.balance(chain.address(_nft(p))), price)
    return f"token 1 minted for {price} wei"


def nft_token_uri(chain: Chain, p: Project) -> str:
    """Check the token's URI is the base URI followed by its id."""
    uri = chain.call(_nft(p), "tokenURI", 1)
    expect("tokenURI(1)", uri, f"{p.params['base_uri']}1")
    return str(uri)


def nft_wrong_payment(chain: Chain, p: Project) -> str:
    """Check a mint paying the wrong amount reverts."""
    price = int(p.params["mint_price_wei"])
    return expect_revert(
        "mint paying too much", lambda: chain.send(_nft(p), "mint", sender=2, value=price + 1)
    )


def nft_royalties(chain: Chain, p: Project) -> str:
    """Check 5% royalties are reported to the deployer (royalties on only)."""
    receiver, amount = chain.call(_nft(p), "royaltyInfo", 1, 10_000)
    expect("royalty receiver", str(receiver).lower(), chain.accounts[0])
    expect("royalty on 10000", amount, 500)
    return "5% to the deployer"


# --- dao -----------------------------------------------------------------------------------


def _governor(p: Project) -> str:
    return p.contract("contracts/DaoGovernor.sol")


def _votes_token(p: Project) -> str:
    return p.contract("contracts/DaoToken.sol")


def _proposal(chain: Chain, p: Project) -> list[Any]:
    return [[chain.address(_governor(p))], [0], ["0x"]]


def dao_delegate(chain: Chain, p: Project) -> str:
    """Check the deployer's tokens vote once delegated."""
    chain.send(_votes_token(p), "delegate", chain.accounts[0])
    supply = chain.call(_votes_token(p), "totalSupply")
    expect("votes", chain.call(_votes_token(p), "getVotes", chain.accounts[0]), supply)
    return f"{int(supply) // ETHER:,} votes delegated"


def dao_propose(chain: Chain, p: Project) -> str:
    """Check a proposal is created, pending until the voting delay has passed."""
    (proposal_id,) = chain.send(_governor(p), "propose", *_proposal(chain, p), SIGNAL)
    expect("state after propose", chain.call(_governor(p), "state", proposal_id), 0)  # Pending
    return f"proposal {str(proposal_id)[:10]}… pending"


def _proposal_id(chain: Chain, p: Project) -> Any:
    return chain.call(
        _governor(p), "hashProposal", *_proposal(chain, p), _keccak_text(chain, SIGNAL)
    )


def _keccak_text(chain: Chain, text: str) -> str:
    return str(chain.toolchain.request("keccak", text=text)["hash"])


def dao_vote(chain: Chain, p: Project) -> str:
    """Check the holder can vote For once voting opens."""
    proposal_id = _proposal_id(chain, p)
    chain.mine(int(chain.call(_governor(p), "votingDelay")) + 1)
    expect("state when voting opens", chain.call(_governor(p), "state", proposal_id), 1)
    chain.send(_governor(p), "castVote", proposal_id, 1)
    expect("hasVoted", chain.call(_governor(p), "hasVoted", proposal_id, chain.accounts[0]), True)
    return "voted For"


def dao_tally(chain: Chain, p: Project) -> str:
    """Check the proposal succeeds once the voting period is over, and executes."""
    proposal_id = _proposal_id(chain, p)
    chain.mine(int(chain.call(_governor(p), "votingPeriod")) + 1)
    expect("state after the vote", chain.call(_governor(p), "state", proposal_id), 4)
    chain.send(_governor(p), "execute", *_proposal(chain, p), _keccak_text(chain, SIGNAL))
    expect("state after execute", chain.call(_governor(p), "state", proposal_id), 7)
    return "succeeded and executed"


# --- escrow --------------------------------------------------------------------------------


def _escrow(p: Project) -> str:
    return p.contract("contracts/Escrow.sol")


def _listing_state(chain: Chain, p: Project, listing: int) -> Any:
    return chain.call(_escrow(p), "listings", listing)[4]


def escrow_deposit(chain: Chain, p: Project) -> str:
    """Check a buyer's payment is held by the contract."""
    chain.send(_escrow(p), "list", "A bicycle", str(ETHER), chain.accounts[3], sender=1)
    chain.send(_escrow(p), "buy", 0, sender=2, value=ETHER)
    expect("escrow balance", chain.balance(chain.address(_escrow(p))), ETHER)
    expect("listing state", _listing_state(chain, p, 0), 1)  # Funded
    return "1 ether held in escrow"


def escrow_release(chain: Chain, p: Project) -> str:
    """Check releasing pays the seller, less the fee, and the fee to the deployer."""
    seller, operator = chain.accounts[1], chain.accounts[0]
    seller_before, operator_before = chain.balance(seller), chain.balance(operator)
    chain.send(_escrow(p), "release", 0, sender=2)
    fee = ETHER * int(p.params["fee_basis_points"]) // 10_000
    expect("seller received", chain.balance(seller) - seller_before, ETHER - fee)
    expect("fee received", chain.balance(operator) - operator_before, fee)
    expect("listing state", _listing_state(chain, p, 0), 4)  # Completed
    return f"seller paid {ETHER - fee} wei, fee {fee} wei"


def escrow_refund(chain: Chain, p: Project) -> str:
    """Check the seller can refund a second sale to its buyer in full."""
    buyer = chain.accounts[2]
    chain.send(_escrow(p), "list", "A lamp", str(ETHER), chain.accounts[3], sender=1)
    chain.send(_escrow(p), "buy", 1, sender=2, value=ETHER)
    before = chain.balance(buyer)
    chain.send(_escrow(p), "refund", 1, sender=1)
    expect("buyer refunded", chain.balance(buyer) - before, ETHER)
    expect("listing state", _listing_state(chain, p, 1), 5)  # Refunded
    return "buyer refunded 1 ether"


def smoke_checks(params: dict[str, Any]) -> list[tuple[str, Check]]:
    """Return the named checks of the template's smoke test, as its options make it."""
    key = params["template"]
    checks: list[tuple[str, Check]]
    if key == "token":
        checks = [("supply", token_supply), ("transfer", token_transfer)]
        return [*checks, ("burn", token_burn)] if params.get("burnable") else checks
    if key == "nft":
        checks = [
            ("mint", nft_mint),
            ("tokenURI", nft_token_uri),
            ("wrong payment", nft_wrong_payment),
        ]
        return [*checks, ("royalties", nft_royalties)] if params.get("royalties") else checks
    if key == "dao":
        return [
            ("delegate", dao_delegate),
            ("propose", dao_propose),
            ("vote", dao_vote),
            ("tally and execute", dao_tally),
        ]
    if key == "escrow":
        return [("deposit", escrow_deposit), ("release", escrow_release), ("refund", escrow_refund)]
    raise KeyError(f"no smoke test for template {key!r}")
