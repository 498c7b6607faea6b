"""The one source of validation: field rules, messages, JSON types, defaults, the catalog."""

from typing import Any

import pytest

from jobs.forms import (
    BasicsForm,
    JobParamsForm,
    OptionsForm,
    error_lists,
    templates_catalog,
    typed_values,
)
from jobs.scaffolds import TEMPLATES, template_defaults

NAME = "Harbor Coin"


def errors_of(params: dict[str, Any]) -> dict[str, list[str]]:
    form = JobParamsForm(params)
    assert not form.is_valid()
    return error_lists(form.errors)


def clean(params: dict[str, Any]) -> dict[str, Any]:
    form = JobParamsForm(params)
    assert form.is_valid(), form.errors
    return form.cleaned_data


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_default_passes_its_own_rules(template):
    assert clean({"name": NAME, "template": template}) == {
        "name": NAME,
        "template": template,
        **template_defaults(template),
    }


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_registry_option_has_a_field(template):
    form = OptionsForm(template=template)
    assert {o.name for o in TEMPLATES[template].options} <= set(form.fields)


@pytest.mark.parametrize(
    ("name", "messages"),
    [
        ("", ["Give your project a name."]),
        ("ab", ["A project name needs at least 3 characters; “ab” has 2."]),
        ("a" * 61, ["A project name can have at most 60 characters; this one has 61."]),
        (
            "\u3164\u3164\u3164",
            [
                "A project name cannot contain invisible or control characters; remove U+3164.",
                "A project name needs at least one visible letter or digit.",
            ],
        ),
        ("---", ["A project name needs at least one visible letter or digit."]),
        (
            "Coin\u200bx",
            ["A project name cannot contain invisible or control characters; remove U+200B."],
        ),
        (
            "Coin\x00x",
            ["A project name cannot contain invisible or control characters; remove U+0000."],
        ),
    ],
)
def test_project_name_rules_say_exactly_what_is_wrong(name, messages):
    assert errors_of({"name": name, "template": "token"}) == {"name": messages}


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "a" * 60,
        "Harbor-Coin_2",
        "Café Coin",
        "Ωmega 7",
        "Café d'Élan",
        "1st Coin",
        "Tom & Jerry's (v2.0)!",
        'The "Quoted" <Co-op> #1',
        "Snow ☃️ Club",
    ],
)
def test_project_name_accepts_letters_digits_spaces_and_punctuation(name):
    assert clean({"name": name, "template": "token"})["name"] == name


def test_project_name_is_stripped_and_its_whitespace_collapsed():
    assert clean({"name": "  Harbor \n Coin ", "template": "token"})["name"] == "Harbor Coin"


def test_decomposed_accents_count_as_letters():
    assert clean({"name": "Cafe\u0301", "template": "token"})["name"] == "Café"


@pytest.mark.parametrize(
    ("template", "field", "value", "message"),
    [
        ("token", "decimals", 37, "Decimals can be at most 36; 37 is too large."),
        ("token", "decimals", -1, "Decimals must be at least 0; -1 is too small."),
        ("token", "initial_supply", 0, "Initial supply must be at least 1; 0 is too small."),
        ("token", "initial_supply", "1.5", "Enter a whole number, like 1000000."),
        ("token", "initial_supply", 1.5, "Give a whole number, not 1.5."),
        ("token", "initial_supply", True, "Give a whole number, not true/false."),
        (
            "escrow",
            "fee_basis_points",
            10_001,
            "Marketplace fee (basis points) can be at most 10,000; 10001 is too large.",
        ),
        ("dao", "quorum_percent", 101, "Quorum (%) can be at most 100; 101 is too large."),
        ("nft", "max_supply", 0, "Maximum supply must be at least 1; 0 is too small."),
    ],
)
def test_numbers_have_sensible_bounds(template, field, value, message):
    assert errors_of({"name": NAME, "template": template, field: value}) == {field: [message]}


@pytest.mark.parametrize(
    ("typed", "value"), [("1_000_000", 1_000_000), (" 2 500 ", 2500), (7.0, 7), ("42", 42)]
)
def test_numbers_accept_what_people_type(typed, value):
    assert (
        clean({"name": NAME, "template": "token", "initial_supply": typed})["initial_supply"]
        == value
    )


@pytest.mark.parametrize(
    ("typed", "value"),
    [(True, True), (False, False), ("on", True), ("true", True), ("false", False), ("0", False)],
)
def test_booleans_accept_form_and_json_values(typed, value):
    assert clean({"name": NAME, "template": "token", "burnable": typed})["burnable"] is value


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("maybe", "Give true or false, not “maybe”."),
        ("no", "Give true or false, not “no”."),
        (1, "Give true or false, not a number."),
    ],
)
def test_booleans_refuse_anything_unclear(typed, message):
    assert errors_of({"name": NAME, "template": "token", "burnable": typed}) == {
        "burnable": [message]
    }


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("T", "A symbol has 2 to 11 characters; “T” has 1."),
        ("9TK", "A symbol must start with a letter A to Z, not “9”."),
        ("TK$", "A symbol can only contain letters A to Z and digits 0 to 9; remove “$”."),
    ],
)
def test_symbols_are_short_upper_case_codes(symbol, message):
    assert errors_of({"name": NAME, "template": "token", "symbol": symbol}) == {"symbol": [message]}


def test_a_lower_case_symbol_is_raised():
    assert clean({"name": NAME, "template": "dao", "token_symbol": "vote"})["token_symbol"] == (
        "VOTE"
    )


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("ftp://x", "must start with ipfs://"),
        ("ipfs://a b", "remove “ ”"),
        ('https://x/"', 'remove “"”'),
    ],
)
def test_base_uri_rules(uri, fragment):
    [message] = errors_of({"name": NAME, "template": "nft", "base_uri": uri})["base_uri"]
    assert fragment in message


def test_long_texts_are_refused_with_their_length():
    errors = errors_of(
        {"name": NAME, "template": "token", "description": "d" * 281, "author": "a" * 101}
    )
    assert errors == {
        "description": ["Description can have at most 280 characters; this has 281."],
        "author": ["Author can have at most 100 characters; this has 101."],
    }


def test_control_characters_are_named():
    assert errors_of({"name": NAME, "template": "token", "author": "A\x00\x1b"}) == {
        "author": ["Remove the control characters U+0000, U+001B."]
    }


def test_description_lines_become_one():
    assert (
        clean({"name": NAME, "template": "token", "description": "one\r\ntwo"})["description"]
        == "one two"
    )


def test_choices_list_what_is_allowed():
    assert errors_of({"name": NAME, "template": "token", "network": "moon"}) == {
        "network": [
            "Choose one of devnet (Local devnet), testnet (Sepolia testnet) or mainnet "
            "(Ethereum mainnet); “moon” is not one of them."
        ]
    }
    assert (
        "“bogus” is not one of them"
        in errors_of({"name": NAME, "template": "bogus"})["template"][0]
    )


def test_json_values_of_the_wrong_type_are_named():
    errors = errors_of(
        {"name": 12, "template": "token", "description": ["x"], "network": 3, "author": {"a": 1}}
    )
    assert errors == {
        "name": ["Give text, not a number."],
        "description": ["Give text, not a list."],
        "author": ["Give text, not an object."],
        "network": ["Give one of the choices as text, not a number."],
    }


def test_unknown_parameters_are_errors_not_ignored():
    errors = errors_of({"name": NAME, "template": "token", "decimal": 8, "max_supply": 5})
    assert set(errors) == {"decimal", "max_supply"}
    assert errors["decimal"][0].startswith(
        "“decimal” is not a parameter of the Fungible token "
        "template; it takes name, description, author"
    )


def test_with_an_unknown_template_only_the_template_is_wrong():
    assert set(errors_of({"name": NAME, "template": "nope", "decimals": 8})) == {"template"}


def test_missing_required_parameters():
    assert errors_of({}) == {
        "name": ["Give your project a name."],
        "template": [
            "Choose template: token (Fungible token), nft (NFT collection), dao (DAO voting) or "
            "escrow (Escrow marketplace)."
        ],
    }


def test_left_out_options_take_the_template_defaults_even_true_ones():
    assert clean({"name": NAME, "template": "escrow"})["arbiter_required"] is True
    assert (
        clean({"name": NAME, "template": "escrow", "arbiter_required": False})["arbiter_required"]
        is False
    )


def test_typed_values_keep_text_as_typed_and_boxes_as_booleans():
    form = OptionsForm(template="token")
    typed = typed_values(form, {"symbol": "b@d", "decimals": "x", "network": "moon"})
    assert typed == {
        "network": "moon",
        "frontend": "",
        "symbol": "b@d",
        "initial_supply": "",
        "decimals": "x",
        "burnable": False,
    }


def test_step_forms_and_the_whole_form_share_their_rules():
    basics = BasicsForm({"name": "1x"})
    assert not basics.is_valid()
    assert basics.errors["name"] == errors_of({"name": "1x", "template": "token"})["name"]


def test_catalog_lists_each_template_with_options_defaults_and_limits():
    catalog = {entry["key"]: entry for entry in templates_catalog()}
    assert set(catalog) == set(TEMPLATES)
    token = catalog["token"]
    assert token["defaults"] == template_defaults("token")
    options = {o["name"]: o for o in token["options"]}
    assert (options["decimals"]["min"], options["decimals"]["max"]) == (0, 36)
    assert options["decimals"]["kind"] == "int" and options["decimals"]["default"] == 18
    assert [c["value"] for c in options["network"]["choices"]] == ["devnet", "testnet", "mainnet"]
    assert options["burnable"]["kind"] == "bool"
    assert options["description"]["max_length"] == 280
    for entry in catalog.values():
        assert {o["name"] for o in entry["options"]} == set(entry["defaults"])


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("0", "0"), ("0.05", "0.05"), (" 1_000 ", "1000"), ("0.100", "0.1"), (2, "2"), (0.5, "0.5")],
)
def test_a_mint_price_is_typed_in_eth_and_kept_as_decimal_text(typed, kept):
    assert clean({"name": NAME, "template": "nft", "mint_price": typed})["mint_price"] == kept


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1,5", "Enter an amount of ETH with a dot for decimals, like 0.05; “1,5” is not one."),
        ("-1", "Enter an amount of ETH from 0 up; “-1” is not one."),
        (
            "0.0000000000000000001",
            "ETH has 18 decimals (1 wei is 0.000000000000000001 ETH); “0.0000000000000000001” "
            "has more.",
        ),
        (
            "1000.000000000000000001",
            "Mint price (ETH) can be at most 1000 ETH: the devnet's accounts hold 10,000 ETH "
            "each and must afford a few mints.",
        ),
        (True, "Give an amount of ETH, not true/false."),
    ],
)
def test_a_mint_price_the_devnet_cannot_pay_or_that_is_not_wei_is_refused(typed, message):
    assert errors_of({"name": NAME, "template": "nft", "mint_price": typed}) == {
        "mint_price": [message]
    }


def test_a_per_wallet_cap_above_the_supply_is_refused_at_validation():
    data = {"name": NAME, "template": "nft", "max_supply": 10, "max_per_wallet": 11}
    message = (
        "A cap of 11 per wallet is above the maximum supply (10), so it would cap nothing: "
        "give at most 10, or 0 for no cap."
    )
    assert errors_of(data) == {"max_per_wallet": [message]}
    step = OptionsForm({**template_defaults("nft"), **data}, template="nft")
    assert not step.is_valid() and step.errors["max_per_wallet"] == [message]
    assert clean({**data, "max_per_wallet": 10})["max_per_wallet"] == 10


def test_a_combination_is_judged_only_once_its_options_are_valid():
    data = {"name": NAME, "template": "nft", "max_supply": "many", "max_per_wallet": 11}
    assert errors_of(data) == {"max_supply": ["Enter a whole number, like 10000."]}
