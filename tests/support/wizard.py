"""Wizard test data built from the template registry, and a reader of the rendered forms."""

from html.parser import HTMLParser
from typing import Any

from django import forms

from jobs.forms import (
    BasicsForm,
    EtherField,
    NameField,
    OptionChoiceField,
    OptionsForm,
    StrictBooleanField,
    SymbolField,
    TemplateForm,
    TextField,
    WholeNumberField,
    validate_uri,
)
from jobs.scaffolds import TEMPLATES

BASICS = {"name": "Harbor Coin", "description": "Tokens for the harbor co-op", "author": "Ada L."}


def typed_value(name: str, field: forms.Field) -> Any:
    """Return a valid value for a field that differs from its default, as a person types it."""
    if isinstance(field, StrictBooleanField):
        return not field.initial
    if isinstance(field, WholeNumberField):
        low = int(field.min_value or 0)
        return str(low + 1 if field.initial != low + 1 else low + 2)
    if isinstance(field, OptionChoiceField):
        return [value for value, _ in field.choices if value != field.initial][-1]
    if isinstance(field, SymbolField):
        return "ZZ9"
    if isinstance(field, EtherField):
        return "0.25"
    if validate_uri in field.validators:
        return "https://example.org/meta/"
    return {"name": "Harbor Coin", "description": "Tokens for the harbor co-op"}.get(
        name, f"Typed {name}"
    )


def bad_value(name: str, field: forms.Field) -> Any:
    """Return a value the field refuses."""
    if isinstance(field, NameField):
        return "\u3164\u3164\u3164"  # HANGUL FILLER: a "letter" that shows as nothing
    if isinstance(field, EtherField):
        return "1000.5"
    if isinstance(field, StrictBooleanField):
        return "maybe"
    if isinstance(field, WholeNumberField):
        return str(int(field.max_value or 0) + 1)
    if isinstance(field, OptionChoiceField):
        return "nope"
    if isinstance(field, SymbolField):
        return "b@d"
    if validate_uri in field.validators:
        return "ftp://example.org"
    assert isinstance(field, TextField) and field.max_length
    return "x" * (field.max_length + 1)


def step_form(step: str, template: str = "token") -> forms.Form:
    """Return an unbound form of a wizard step."""
    if step == "basics":
        return BasicsForm()
    if step == "template":
        return TemplateForm()
    return OptionsForm(template=template)


def typed_step(step: str, template: str = "token") -> dict[str, Any]:
    """Return valid values for every field of a step, as typed (booleans as True/False)."""
    if step == "basics":
        return dict(BASICS)
    if step == "template":
        return {"template": template}
    return {n: typed_value(n, f) for n, f in step_form(step, template).fields.items()}


def as_post(values: dict[str, Any]) -> dict[str, str]:
    """Return what a browser posts for these values: ticked boxes as "on", unticked ones absent."""
    post = {}
    for name, value in values.items():
        if value is True:
            post[name] = "on"
        elif value is not False:
            post[name] = value
    return post


def every_step_field() -> list[tuple[str, str, str]]:
    """Return (template, step, field) for every field of every step of every template."""
    cases = [("token", "basics", n) for n in BasicsForm().fields]
    cases += [("token", "template", "template")]
    cases += [(key, "options", n) for key in TEMPLATES for n in OptionsForm(template=key).fields]
    return cases


class FormReader(HTMLParser):
    """Collect a page's form values and its inline errors."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, Any] = {}
        self.errors: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._error_of: str | None = None
        self._in_li = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name") or ""
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = a.get("type", "text")
            if kind == "checkbox":
                self.values[name] = "checked" in a
            elif kind == "radio":
                if "checked" in a:
                    self.values[name] = a.get("value")
                else:
                    self.values.setdefault(name, None)
            elif kind != "hidden":
                self.values[name] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.values[name] = ""
        elif tag == "ul" and (a.get("id") or "").endswith("_error"):
            self._error_of = (a.get("id") or "").removeprefix("id_").removesuffix("_error")
            self.errors[self._error_of] = []
        elif tag == "li" and self._error_of:
            self._in_li = True
            self.errors[self._error_of].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "ul":
            self._error_of = None
        elif tag == "li":
            self._in_li = False

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            # Django starts a textarea's content with a newline that browsers drop.
            self.values[self._textarea] += (
                data.removeprefix("\n") if not self.values[self._textarea] else data
            )
        elif self._in_li and self._error_of:
            self.errors[self._error_of][-1] += data


def read_form(html: str) -> FormReader:
    """Return the form values and inline errors of a rendered page."""
    reader = FormReader()
    reader.feed(html)
    return reader
