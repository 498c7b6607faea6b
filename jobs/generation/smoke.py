"""Stage 4: a smoke test per template, run on the contracts just deployed.

Each test is a short list of named checks that use the contracts the way their page does;
a check that finds a wrong value raises `SmokeFailed`, a transaction that reverts raises
`deploy.Reverted`. Checks never compare balances of the account that paid for gas.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobs.generation.deploy import Chain, Reverted
from jobs.scaffolds.ether import to_wei

ETHER = 10**18
SIGNAL = "Adopt the charter"
"""The DAO smoke test's proposal: a "signal" proposal, which calls its executor with no data."""
CAP_CHECKED_UP_TO = 10
"""A per-wallet cap is tried by minting up to it only when it is this small."""
MOVED_URI = "ipfs://moved/"


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


def _price(p: Project) -> int:
    return to_wei(p.params["mint_price"])


def nft_mint(chain: Chain, p: Project) -> str:
    """Check anyone can mint the first token at the mint price."""
    price = _price(p)
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
    price = _price(p)
    return expect_revert(
        "mint paying too much", lambda: chain.send(_nft(p), "mint", sender=2, value=price + 1)
    )


def nft_wallet_cap(chain: Chain, p: Project) -> str:
    """Check a wallet can mint up to its cap and no more (small caps with room left only)."""
    cap, price = int(p.params["max_per_wallet"]), _price(p)
    for _ in range(cap):
        chain.send(_nft(p), "mint", sender=3, value=price)
    reason = expect_revert(
        "a mint beyond the cap", lambda: chain.send(_nft(p), "mint", sender=3, value=price)
    )
    return f"{cap} minted, the next refused ({reason})"


def nft_metadata(chain: Chain, p: Project) -> str:
    """Check the owner can move the metadata, and the collection says it speaks ERC-4906."""
    expect(
        "supportsInterface(ERC-4906)", chain.call(_nft(p), "supportsInterface", "0x49064906"), True
    )
    chain.send(_nft(p), "setBaseURI", MOVED_URI)
    expect("tokenURI(1) after setBaseURI", chain.call(_nft(p), "tokenURI", 1), f"{MOVED_URI}1")
    return f"base URI moved to {MOVED_URI}"


def nft_withdraw(chain: Chain, p: Project) -> str:
    """Check the owner collects every mint payment (paid mints only)."""
    held = chain.balance(chain.address(_nft(p)))
    chain.send(_nft(p), "withdraw")
    expect("collection balance after withdraw", chain.balance(chain.address(_nft(p))), 0)
    return f"{held} wei withdrawn"


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


def _timelock(p: Project) -> str | None:
    return p.contracts.get("contracts/DaoTimelock.sol")


def _proposal(chain: Chain, p: Project) -> list[Any]:
    timelock = _timelock(p)
    executor = chain.address(timelock if timelock else _governor(p))
    return [[executor], [0], ["0x"]]


def dao_delegate(chain: Chain, p: Project) -> str:
    """Check the deployer's tokens vote once delegated."""
    chain.send(_votes_token(p), "delegate", chain.accounts[0])
    supply = chain.call(_votes_token(p), "totalSupply")
    expect("votes", chain.call(_votes_token(p), "getVotes", chain.accounts[0]), supply)
    return f"{int(supply) // ETHER:,} votes delegated"


def dao_threshold(chain: Chain, p: Project) -> str:
    """Check proposing needs the chosen number of votes: an account with none is refused."""
    threshold = int(chain.call(_governor(p), "proposalThreshold"))
    expect("proposalThreshold", threshold, int(p.params["proposal_threshold"]) * ETHER)
    reason = expect_revert(
        "a proposal from an account without votes",
        lambda: chain.send(_governor(p), "propose", *_proposal(chain, p), "No votes", sender=1),
    )
    return f"{threshold // ETHER:,} votes needed; none refused ({reason})"


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
    """Check the proposal succeeds once the voting period is over, and executes (after the
    timelock's delay, when there is one)."""
    proposal_id = _proposal_id(chain, p)
    call = [*_proposal(chain, p), _keccak_text(chain, SIGNAL)]
    chain.mine(int(chain.call(_governor(p), "votingPeriod")) + 1)
    expect("state after the vote", chain.call(_governor(p), "state", proposal_id), 4)
    delay = int(p.params.get("timelock_delay_s") or 0)
    if _timelock(p):
        chain.send(_governor(p), "queue", *call)
        expect("state after queue", chain.call(_governor(p), "state", proposal_id), 5)
        expect_revert(
            "execute before the delay", lambda: chain.send(_governor(p), "execute", *call)
        )
        chain.mine(1, seconds=delay + 1)
    chain.send(_governor(p), "execute", *call)
    expect("state after execute", chain.call(_governor(p), "state", proposal_id), 7)
    return f"succeeded and executed{f' after a {delay:,} s timelock' if _timelock(p) else ''}"


# --- escrow --------------------------------------------------------------------------------


def _escrow(p: Project) -> str:
    return p.contract("contracts/Escrow.sol")


def _listing_state(chain: Chain, p: Project, listing: int) -> Any:
    return chain.call(_escrow(p), "listings", listing)[4]


def _credits(chain: Chain, p: Project, account: int) -> int:
    return int(chain.call(_escrow(p), "credits", chain.accounts[account]))


def _sell(chain: Chain, p: Project, title: str) -> int:
    """List an item (seller 1, arbiter 3) and buy it (buyer 2); return its id."""
    (listing,) = chain.send(_escrow(p), "list", title, str(ETHER), chain.accounts[3], sender=1)
    chain.send(_escrow(p), "buy", listing, sender=2, value=ETHER)
    return int(listing)


def escrow_deposit(chain: Chain, p: Project) -> str:
    """Check a buyer's payment is held by the contract."""
    listing = _sell(chain, p, "A bicycle")
    expect("escrow balance", chain.balance(chain.address(_escrow(p))), ETHER)
    expect("listing state", _listing_state(chain, p, listing), 1)  # Funded
    return "1 ether held in escrow"


def escrow_release(chain: Chain, p: Project) -> str:
    """Check releasing credits the seller, less the fee, and the fee to the deployer; the
    seller's withdrawal takes exactly that out of the contract."""
    chain.send(_escrow(p), "release", 0, sender=2)
    fee = ETHER * int(p.params["fee_basis_points"]) // 10_000
    expect("seller's credit", _credits(chain, p, 1), ETHER - fee)
    expect("deployer's credit", _credits(chain, p, 0), fee)
    expect("listing state", _listing_state(chain, p, 0), 4)  # Completed
    chain.send(_escrow(p), "withdraw", sender=1)
    expect("seller's credit after withdrawing", _credits(chain, p, 1), 0)
    expect("escrow balance after withdrawing", chain.balance(chain.address(_escrow(p))), fee)
    return f"seller paid {ETHER - fee} wei, fee {fee} wei"


def escrow_refund(chain: Chain, p: Project) -> str:
    """Check the seller can refund a second sale to its buyer in full."""
    listing = _sell(chain, p, "A lamp")
    chain.send(_escrow(p), "refund", listing, sender=1)
    expect("buyer's credit", _credits(chain, p, 2), ETHER)
    expect("listing state", _listing_state(chain, p, listing), 5)  # Refunded
    return "buyer credited 1 ether"


def escrow_deadline(chain: Chain, p: Project) -> str:
    """Check a buyer whose seller never ships gets a refund after the deadline, not before."""
    listing = _sell(chain, p, "A chair")
    before = _credits(chain, p, 2)
    refund = "refundAfterDeadline"
    reason = expect_revert(
        "a refund before the deadline", lambda: chain.send(_escrow(p), refund, listing, sender=2)
    )
    chain.mine(1, seconds=int(p.params["response_days"]) * 86_400 + 1)
    chain.send(_escrow(p), refund, listing, sender=2)
    expect("buyer's credit after the deadline", _credits(chain, p, 2) - before, ETHER)
    return f"early refund refused ({reason}); refunded after {p.params['response_days']} days"


def smoke_checks(params: dict[str, Any]) -> list[tuple[str, Check]]:
    """Return the named checks of the template's smoke test, as its options make it."""
    key = params["template"]
    if key == "token":
        burn = [("burn", token_burn)] if params.get("burnable") else []
        return [("supply", token_supply), ("transfer", token_transfer), *burn]
    if key == "nft":
        return _nft_checks(params)
    if key == "dao":
        return [
            ("delegate", dao_delegate),
            ("threshold", dao_threshold),
            ("propose", dao_propose),
            ("vote", dao_vote),
            ("tally and execute", dao_tally),
        ]
    if key == "escrow":
        return [
            ("deposit", escrow_deposit),
            ("release", escrow_release),
            ("refund", escrow_refund),
            ("deadline", escrow_deadline),
        ]
    raise KeyError(f"no smoke test for template {key!r}")


def _nft_checks(params: dict[str, Any]) -> list[tuple[str, Check]]:
    checks: list[tuple[str, Check]] = [
        ("mint", nft_mint),
        ("tokenURI", nft_token_uri),
        ("wrong payment", nft_wrong_payment),
    ]
    cap = int(params.get("max_per_wallet") or 0)
    if 0 < cap <= CAP_CHECKED_UP_TO and int(params["max_supply"]) > cap:  # token 1 is minted
        checks.append(("wallet cap", nft_wallet_cap))
    checks.append(("metadata", nft_metadata))
    if to_wei(params["mint_price"]):
        checks.append(("withdraw", nft_withdraw))
    if params.get("royalties"):
        checks.append(("royalties", nft_royalties))
    return checks
