"""Names that compile: no generated contract clashes with what its sources import or declare."""

import pytest

from jobs.generation.names import (
    SOLIDITY_RESERVED,
    contract_name,
    generated_contracts,
    project_slug,
    reserved_names,
)
from jobs.scaffolds import TEMPLATES


@pytest.mark.parametrize(
    ("name", "key", "contracts"),
    [
        ("ERC20", "token", ["ERC20Token"]),
        ("ERC20", "nft", ["ERC20"]),  # the collection does not import ERC20
        ("ERC721", "nft", ["ERC721Collection"]),
        ("Governor", "dao", ["GovernorDaoToken", "GovernorDaoTimelock", "GovernorDao"]),
        ("ERC20 Votes", "dao", ["ERC20VotesDaoToken", "ERC20VotesDaoTimelock", "ERC20VotesDao"]),
        ("Reentrancy Guard", "escrow", ["ReentrancyGuardEscrow"]),
        ("Listing", "escrow", ["ListingEscrow"]),  # a struct of the escrow contract
        ("My Cool dApp", "dao", ["MyCoolDAppToken", "MyCoolDAppTimelock", "MyCoolDApp"]),
    ],
)
def test_contract_names_avoid_every_name_the_sources_use(name, key, contracts):
    assert list(generated_contracts(name, TEMPLATES[key]).values()) == contracts


def test_optional_contracts_exist_only_when_their_option_is_on():
    dao = TEMPLATES["dao"]
    without = generated_contracts("Harbor", dao, {**dao.defaults(), "timelock_delay_s": 0})
    with_timelock = generated_contracts("Harbor", dao, {**dao.defaults(), "timelock_delay_s": 60})
    assert list(without.values()) == ["HarborToken", "Harbor"]
    assert list(with_timelock.values()) == ["HarborToken", "HarborTimelock", "Harbor"]


def test_reserved_names_are_read_from_the_sources():
    assert {"ERC20", "ERC20Votes", "Governor", "IVotes", "_update"} <= reserved_names("dao")
    assert {"ERC721", "Ownable", "SoldOut", "mint"} <= reserved_names("nft")


@pytest.mark.parametrize("key", TEMPLATES)
def test_no_reserved_name_survives_as_a_contract_name(key):
    reserved = reserved_names(key)
    for name in reserved:
        assert contract_name(name, TEMPLATES[key]) not in reserved


def test_keywords_are_never_contract_names():
    for word in ("contract", "Address", "Msg"):
        name = contract_name(word, TEMPLATES["token"])
        assert name.lower() not in SOLIDITY_RESERVED, name


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Élan Vital", "elan-vital"),
        ("Tom & Jerry's", "tom-jerry-s"),
        ("日本", "dapp"),
        ("  spaced   out ", "spaced-out"),
        (
            "A name of sixty characters that goes on and on and on, really",
            "a-name-of-sixty-characters-that-goes-on",
        ),
        ("X" * 60, "x" * 40),
    ],
)
def test_one_slug_for_every_name(name, slug):
    assert project_slug(name) == slug
