"""Template filters that write a value as a literal of the language of the file it lands in.

Generated projects are source code, not HTML: each value goes through the quoting rules of its
file's language (JSON, TOML, JavaScript, Solidity, a comment, Markdown), and only HTML pages are
HTML-escaped (by autoescaping, in `jobs.generation.render`).
"""

import json
import re
from typing import Any

from django import template

register = template.Library()


def _json_string(value: Any) -> str:
    # Control characters are refused by the forms; escape DEL too, which TOML forbids raw.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


@register.filter(name="json")
def json_literal(value: Any) -> str:
    """Return the value as a JSON string literal, quotes included."""
    return _json_string(value)


@register.filter(name="toml")
def toml_literal(value: Any) -> str:
    """Return the value as a TOML basic string, quotes included (JSON's escapes are TOML's)."""
    return _json_string(value)


@register.filter(name="js")
def js_literal(value: Any) -> str:
    """Return the value as a JavaScript string literal; `<` escaped so no `</script>` appears."""
    return _json_string(value).replace("<", "\\u003C")


@register.filter(name="sol")
def solidity_literal(value: Any) -> str:
    """Return the value as a Solidity string literal, `unicode"…"` when it is not ASCII."""
    text = str(value)
    body = "".join(_solidity_char(c) for c in text)
    return f'unicode"{body}"' if not text.isascii() else f'"{body}"'


def _solidity_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\x{ord(char):02x}"
    return char


@register.filter(name="grouped")
def grouped_number(value: Any) -> str:
    """Return a whole number for people to read: 1,000,000."""
    return f"{int(value):,}"


@register.filter(name="comment")
def comment_text(value: Any) -> str:
    """Return the value as text that stays inside a one-line `//` or `/* */` comment."""
    return " ".join(str(value).split()).replace("*/", "* /")


# Characters that start Markdown or HTML anywhere in a line (emphasis, code, links, tables,
# strikethrough, tags, comments, entities; `!` makes an image only before `[`), and those that
# start a block at the start of a line.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~&])")
_BLOCK_START = re.compile(r"^(\d+)([.)])|^([#>+=-])")


@register.filter(name="md")
def markdown_text(value: Any) -> str:
    """Return the value as Markdown that shows exactly the text: no emphasis, link, heading,
    list or HTML (a `<!--` stays visible). CommonMark lets `\\` escape any ASCII punctuation."""
    text = _MARKUP.sub(r"\\\1", " ".join(str(value).split()))
    return _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)
