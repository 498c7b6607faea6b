"""Amounts of ether: typed in ETH by people, used in wei by contracts, shown as both."""

from decimal import Decimal

WEI_PER_ETHER = 10**18
DECIMALS = 18


def to_wei(ether: str | Decimal) -> int:
    """Return the amount in wei; raise ValueError if it is not a whole number of wei."""
    wei = Decimal(ether) * WEI_PER_ETHER
    if wei != wei.to_integral_value():
        raise ValueError(f"{ether} ETH is not a whole number of wei")
    return int(wei)


def ether_text(amount: Decimal) -> str:
    """Return the amount as plain decimal text without trailing zeros: 0.05, 10, 0."""
    return format(amount.normalize(), "f") if amount else "0"


def shown(ether: str) -> str:
    """Return "0.05 ETH (50,000,000,000,000,000 wei)"."""
    return f"{ether} ETH ({to_wei(ether):,} wei)"
