"""The smoke test's judgements (the checks themselves run against a chain in test_pipeline)."""

import pytest

from jobs.generation.deploy import Reverted
from jobs.generation.smoke import SmokeFailed, expect, expect_revert


def test_expect_compares_as_text_and_says_what_differed():
    expect("supply", 5, "5")  # uint256 come back as text
    with pytest.raises(SmokeFailed, match="transfer: expected 5, got 4"):
        expect("transfer", 4, 5)


def test_expect_revert_returns_the_reason_and_fails_when_nothing_reverted():
    def reverts() -> None:
        raise Reverted("SoldOut")

    assert expect_revert("mint", reverts) == "SoldOut"
    with pytest.raises(SmokeFailed, match="mint: expected a revert"):
        expect_revert("mint", lambda: None)
