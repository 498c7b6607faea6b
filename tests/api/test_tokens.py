"""Token text: random, recognisable, stored as a keyed digest only."""

from django.test import override_settings

from api import tokens


def test_tokens_are_random_well_formed_and_recognisable() -> None:
    made = {tokens.generate() for _ in range(100)}
    assert len(made) == 100
    assert all(tokens.is_well_formed(raw) and raw.startswith("crt_") for raw in made)


def test_text_that_is_not_a_token_is_recognised_as_such() -> None:
    good = tokens.generate()
    for junk in (
        "",
        "crt_",
        good[:-1],
        good + "x",
        "xyz_" + good[4:],
        good[:-1] + "é",
        good[:-1] + "+",
        good.upper().replace("CRT_", "crt_")[:-1] + " ",
    ):
        assert not tokens.is_well_formed(junk), junk


def test_the_digest_is_keyed_and_reveals_nothing_of_the_token() -> None:
    raw = tokens.generate()
    digest = tokens.digest(raw)
    assert len(digest) == 64 and raw not in digest and tokens.digest(raw) == digest
    with override_settings(SECRET_KEY="another-secret-key-of-enough-length-0123456789"):
        assert tokens.digest(raw) != digest


def test_only_the_beginning_is_shown() -> None:
    raw = tokens.generate()
    assert tokens.shown_part(raw) == raw[:10] and len(raw) == 47
