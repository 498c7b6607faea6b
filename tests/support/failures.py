"""A job whose smoke test cannot mint: its NFT mint price is more than a test account holds."""

from typing import Any

from jobs.failures import price_option
from jobs.scaffolds import TEMPLATES

PRICE = price_option("nft")
"""The NFT template's mint price option, whichever unit it takes."""


def unaffordable_nft(name: str = "Pricey Apes") -> dict[str, Any]:
    """Return NFT parameters whose mint costs 10,000,000 ETH (test accounts hold 1,000,000):
    the job is made through the services, which take them as they are; the pipeline fails."""
    kind = next(o.kind for o in TEMPLATES["nft"].options if o.name == PRICE)
    price = 10**25 if kind == "int" else "10000000"  # in wei, or in ETH
    return {"name": name, "template": "nft", "symbol": "APE", PRICE: price}


def shows_the_price(value: str) -> bool:
    """Return True if a form field shows that mint price (as wei or as ETH, grouped or not)."""
    return value.replace(",", "").replace(" ", "").startswith("10000000")
