"""Failures said in plain words, with what to change (jobs/failures.py)."""

import pytest

from jobs.failures import Failure, explain
from tests.support.failures import PRICE, unaffordable_nft

# The error a mint price the form accepts ends in (issue 28), hashes and all.
NO_FUNDS = (
    "Generation failed: ToolchainError: Error: sender doesn't have enough funds to send tx. The "
    "upfront cost is: 10000000000000000000000000 and the sender's account (0x2b5a…91c4) only has:"
    " 1000000000000000000000000 (vm hf=cancun -> block number=2 hash=0x9f3c1e…d41a)"
)


def _explain(error: str, template: str = "token", **params: object) -> object:
    return explain(
        Failure(error=error, template=template, params=params, step_label="Run the smoke test")
    )


def test_a_mint_price_above_the_test_funds_names_the_option_and_the_most_it_may_be():
    params = {k: v for k, v in unaffordable_nft().items() if k != "template"}
    said = _explain(NO_FUNDS, "nft", **params)
    assert said.field == PRICE and PRICE.startswith("mint_price")
    assert said.sentence == (
        "The smoke test could not mint a token: the mint price is more than a test account "
        "holds (1,000,000 ETH)."
    )
    assert said.advice == "Lower the mint price to at most 1,000,000 ETH, then generate again."
    assert "0x" not in said.sentence + said.advice + said.title
    assert said.message == f"{said.sentence}\n{said.advice}"


@pytest.mark.parametrize(
    ("error", "title", "field"),
    [
        (NO_FUNDS, "Transaction above the test accounts' funds", ""),  # not the NFT template
        (
            "The worker stopped responding; generation was abandoned.",
            "Worker stopped responding",
            "",
        ),
        ("A step took too long: compile exceeded 120 s", "Step took too long", ""),
        (
            "The contracts do not compile: Token.sol:9: DeclarationError",
            "Contracts do not compile",
            "",
        ),
        (
            "The smoke test failed: smoke test 2/4 (transfer) failed: expected 5, got 4",
            "Smoke test failed",
            "",
        ),
        ("The generated project failed a check: README: missing", "Project check failed", ""),
        ("Generation failed: KeyError: 'x'", "Unexpected error", ""),
    ],
)
def test_each_known_failure_has_its_plain_words(error, title, field):
    said = _explain(error)
    assert (said.title, said.field) == (title, field)
    assert said.sentence.endswith(".") and said.advice.endswith(".")


def test_the_smoke_check_that_failed_is_named_and_the_step_of_an_unknown_error():
    assert (
        "(the “transfer” check)"
        in _explain(
            "The smoke test failed: smoke test 2/4 (transfer) failed: expected 5, got 4"
        ).sentence
    )
    assert "during “Run the smoke test”" in _explain("Generation failed: KeyError: 'x'").sentence
