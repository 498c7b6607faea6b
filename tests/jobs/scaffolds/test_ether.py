"""Amounts of ether: typed in ETH, used in wei, shown as both."""

from decimal import Decimal

import pytest

from jobs.scaffolds.ether import ether_text, shown, to_wei


def test_ether_becomes_whole_wei_or_is_refused():
    assert to_wei("0.05") == 50_000_000_000_000_000
    assert to_wei(Decimal(1)) == 10**18
    assert to_wei("0.000000000000000001") == 1
    with pytest.raises(ValueError, match="not a whole number of wei"):
        to_wei("0.0000000000000000001")


def test_ether_text_has_no_trailing_zeros_nor_exponent():
    assert ether_text(Decimal("0.0500")) == "0.05"
    assert ether_text(Decimal("10.000")) == "10"
    assert ether_text(Decimal("1E+1")) == "10"
    assert ether_text(Decimal(0)) == "0"


def test_an_amount_is_shown_in_ether_and_wei():
    assert shown("0.05") == "0.05 ETH (50,000,000,000,000,000 wei)"
