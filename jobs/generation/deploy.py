"""Stage 3: deploy the compiled contracts to a fresh in-process EVM (in the toolchain child).

`Chain` is the worker's handle on that EVM: five funded test accounts, blocks mined one per
transaction (and on request), every call bounded by the step's timeout and the job's cancel.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jobs.generation.compile import Artifact
from jobs.generation.toolchain import Toolchain, ToolchainError
from jobs.scaffolds import DappTemplate


class Reverted(Exception):
    """A transaction or call reverted; the message says why (a decoded custom error if any)."""


@dataclass(kw_only=True)
class Chain:
    """A fresh chain in the toolchain child, and the contracts deployed on it."""

    toolchain: Toolchain
    """The child that runs the EVM."""
    should_stop: Callable[[], bool]
    """Polled while waiting: True cancels the job."""
    timeout_s: float
    """The most one operation may take."""
    accounts: list[str] = field(default_factory=list)
    """The funded test accounts; account 0 deploys."""
    contracts: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    """Deployed contracts by name: (address, ABI)."""

    def _op(self, op: str, **fields: Any) -> dict[str, Any]:
        try:
            return self.toolchain.request(
                op, should_stop=self.should_stop, timeout_s=self.timeout_s, **fields
            )
        except ToolchainError as exc:
            if str(exc).startswith("reverted: "):
                raise Reverted(str(exc).removeprefix("reverted: ")) from None
            raise

    def reset(self) -> None:
        """Start from an empty chain whose test accounts hold plenty of ether."""
        self.accounts = list(self._op("reset")["accounts"])
        self.contracts = {}

    def deploy(self, artifact: Artifact, args: list[Any]) -> tuple[str, int]:
        """Deploy a contract from account 0; return its address and the gas it used."""
        answer = self._op("deploy", abi=artifact.abi, bytecode=artifact.bytecode, args=args)
        self.contracts[artifact.contract] = (str(answer["address"]), artifact.abi)
        return str(answer["address"]), int(answer["gasUsed"])

    def address(self, contract: str) -> str:
        """Return where a deployed contract lives."""
        return self.contracts[contract][0]

    def send(
        self, contract: str, method: str, *args: Any, sender: int = 0, value: int = 0
    ) -> list[Any]:
        """Send a transaction; return the method's decoded return values."""
        address, abi = self.contracts[contract]
        answer = self._op(
            "send",
            address=address,
            abi=abi,
            method=method,
            args=list(args),
            value=str(value),
            **{"from": sender},
        )
        return list(answer["result"])

    def call(self, contract: str, method: str, *args: Any, sender: int = 0) -> Any:
        """Call a view function; return its one value (or the list of several)."""
        address, abi = self.contracts[contract]
        result = self._op(
            "call", address=address, abi=abi, method=method, args=list(args), **{"from": sender}
        )["result"]
        return result[0] if len(result) == 1 else result

    def mine(self, blocks: int, *, seconds: int | None = None) -> None:
        """Move the chain `blocks` blocks forward (12 s each, unless `seconds` in all)."""
        self._op("mine", blocks=blocks, seconds=seconds)

    def balance(self, address: str) -> int:
        """Return an address's balance in wei."""
        return int(self._op("balance", address=address)["balance"])


def constructor_args(
    template: DappTemplate, contract: str, chain: Chain, contracts: dict[str, str]
) -> list[Any]:
    """Return a contract's constructor arguments: the DAO's governor takes its token (and its
    timelock, when it has one)."""
    if template.key == "dao" and contract == contracts["contracts/DaoGovernor.sol"]:
        return [chain.address(contracts[path]) for path in _DAO_GOVERNOR_ARGS if path in contracts]
    return []


_DAO_GOVERNOR_ARGS = ("contracts/DaoToken.sol", "contracts/DaoTimelock.sol")


def wire(template: DappTemplate, chain: Chain, contracts: dict[str, str]) -> list[str]:
    """Send the transactions that join the deployed contracts, as scripts/deploy.js does;
    return what was done, one line each."""
    timelock = contracts.get("contracts/DaoTimelock.sol")
    if template.key != "dao" or timelock is None:
        return []
    governor = chain.address(contracts["contracts/DaoGovernor.sol"])
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        chain.send(timelock, "grantRole", chain.call(timelock, role), governor)
    admin = chain.call(timelock, "DEFAULT_ADMIN_ROLE")
    chain.send(timelock, "renounceRole", admin, chain.accounts[0])
    return [f"{timelock}: the governor proposes and cancels; the deployer renounced its admin role"]
