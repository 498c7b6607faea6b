"""Each filter writes a value as a literal of its file's language, and nothing else."""

import json
import tomllib

import pytest

from jobs.generation.filters import (
    comment_text,
    js_literal,
    json_literal,
    markdown_text,
    solidity_literal,
    toml_literal,
)

NASTY = ['Don\'t <b>break</b> "quotes" & */', "first-time", "Élan \\ Vital", "tab\there", "☃"]


@pytest.mark.parametrize("value", NASTY)
def test_json_and_toml_round_trip_without_needless_escapes(value):
    assert json.loads(json_literal(value)) == value
    assert tomllib.loads(f"v = {toml_literal(value)}")["v"] == value
    assert "\\u0027" not in json_literal(value) and "\\u002D" not in json_literal(value)


def test_javascript_strings_escape_only_what_they_must():
    assert js_literal("Tom & Jerry's </script>") == '"Tom & Jerry\'s \\u003C/script>"'


def test_solidity_literals_are_unicode_only_when_needed():
    assert solidity_literal('say "hi"') == '"say \\"hi\\""'
    assert solidity_literal("Élan") == 'unicode"Élan"'


def test_comments_cannot_be_closed_or_broken():
    assert comment_text("a */ b\nc") == "a * / b c"


@pytest.mark.parametrize(
    ("value", "markdown"),
    [
        ("Café d'Élan (v2.0)", "Café d'Élan (v2.0)"),  # punctuation that makes no markup stays
        ("<!-- hidden -->", "\\<!-- hidden --\\>"),
        (
            "*a* _b_ `c` [d](e) f|g ~h~ & i",
            "\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e) f\\|g \\~h\\~ \\& i",
        ),
        ("# Title", "\\# Title"),
        ("1. first", "1\\. first"),
        ("- item", "\\- item"),
        ("> quote", "\\> quote"),
        ("two\nlines", "two lines"),
    ],
)
def test_markdown_text_escapes_exactly_what_would_be_markup(value, markdown):
    assert markdown_text(value) == markdown
