"""The one source of validation for a job's parameters.

The wizard validates each step with a form built here, and its final submit and `POST /api/jobs`
validate the whole job with `JobParamsForm`; all of them get their fields from the same
factories, built from the template registry's `Option` specs. Values may come from an HTML form
(strings, a checkbox's "on") or from JSON (numbers, true/false): every field accepts both and
says exactly what was wrong with anything else.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, cast

import regex
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.forms.boundfield import BoundWidget
from django.forms.utils import ErrorDict

from jobs.scaffolds import (
    COMMON_OPTIONS,
    DEVNET_ETHER,
    FRONTENDS,
    MAX_MINT_PRICE_ETH,
    NETWORKS,
    TEMPLATES,
    DappTemplate,
    Option,
)
from jobs.scaffolds.ether import DECIMALS, ether_text, shown

NAME_MIN, NAME_MAX = 3, 60
BASICS = ("name", "description", "author")
"""The fields of the wizard's first step; every other common option belongs to the options step."""

# Bounds a person can understand and the generated project can hold: TOML integers are 64-bit,
# Solidity constants must fit uint256, and a token's decimals beyond 36 help nobody.
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "decimals": (0, 36),
    "initial_supply": (1, 10**18),
    "max_supply": (1, 10**9),
    "max_per_wallet": (0, 10**9),
    "voting_period_blocks": (2, 10**7),
    "quorum_percent": (1, 100),
    "proposal_threshold": (1, 1_000_000),
    "timelock_delay_s": (0, 30 * 86_400),
    "fee_basis_points": (0, 10_000),
    "response_days": (1, 365),
}
DEFAULT_INT_BOUNDS = (0, 10**18)
TEXT_MAX_LENGTH = {"description": 280, "author": 100, "base_uri": 200}
DEFAULT_TEXT_MAX_LENGTH = 100
SYMBOL_MIN, SYMBOL_MAX = 2, 11
URI_SCHEMES = ("ipfs://", "ar://", "https://", "http://")
_CHOICE_LABELS: dict[str, dict[str, str]] = {
    "network": {key: str(info["label"]) for key, info in NETWORKS.items()},
    "frontend": FRONTENDS,
}
_TRUE, _FALSE = {"on", "true", "1"}, {"off", "false", "0", ""}
# Characters a name may hold: letters, marks, digits, punctuation, symbols and spaces. Not
# control, format, private-use or unassigned characters, nor line breaks.
_NAME_CATEGORIES = ("L", "M", "N", "P", "S", "Zs")
# Characters that show as nothing (U+3164 HANGUL FILLER is a "letter"); variation selectors
# stay allowed, as they only choose how the character before them looks (☃️).
_INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}--\p{Variation_Selector}]", regex.V1)


def _describe(value: object) -> str:
    """Return what kind of JSON value `value` is, for messages."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "text"


def _quoted(chars: Iterable[str]) -> str:
    """Return each character quoted, control and invisible characters by their code point."""
    unique = dict.fromkeys(chars)
    return ", ".join(
        f"“{c}”" if c.isprintable() and not _INVISIBLE.match(c) else f"U+{ord(c):04X}"
        for c in unique
    )


def _either(items: Iterable[str]) -> str:
    """Return "a, b or c"."""
    *rest, last = list(items)
    return f"{', '.join(rest)} or {last}" if rest else last


def _escape(text: str) -> str:
    """Escape `%` in text that becomes part of a message with %(...)s parameters."""
    return text.replace("%", "%%")


def validate_project_name(value: str) -> None:
    """Raise every way in which `value` breaks the project name rules."""
    problems = []
    if len(value) < NAME_MIN:
        problems.append(
            f"A project name needs at least {NAME_MIN} characters; “{value}” has {len(value)}."
        )
    if len(value) > NAME_MAX:
        problems.append(
            f"A project name can have at most {NAME_MAX} characters; this one has {len(value)}."
        )
    wrong = [
        c
        for c in value
        if _INVISIBLE.match(c) or not unicodedata.category(c).startswith(_NAME_CATEGORIES)
    ]
    if wrong:
        problems.append(
            "A project name cannot contain invisible or control characters; "
            f"remove {_quoted(wrong)}."
        )
    if value and not any(c.isalnum() and not _INVISIBLE.match(c) for c in value):
        problems.append("A project name needs at least one visible letter or digit.")
    if problems:
        raise ValidationError([ValidationError(p, code="name") for p in problems])


def validate_symbol(value: str) -> None:
    """Raise if `value` is not 2 to 11 letters and digits starting with a letter."""
    problems = []
    if not SYMBOL_MIN <= len(value) <= SYMBOL_MAX:
        problems.append(
            f"A symbol has {SYMBOL_MIN} to {SYMBOL_MAX} characters; “{value}” has {len(value)}."
        )
    if value and not ("A" <= value[0] <= "Z"):
        problems.append(f"A symbol must start with a letter A to Z, not “{value[0]}”.")
    wrong = [c for c in value if not ("A" <= c <= "Z" or "0" <= c <= "9")]
    if wrong:
        problems.append(
            f"A symbol can only contain letters A to Z and digits 0 to 9; remove {_quoted(wrong)}."
        )
    if problems:
        raise ValidationError([ValidationError(p, code="symbol") for p in problems])


def validate_uri(value: str) -> None:
    """Raise if `value` is not a URI the generated contract can prefix token ids with."""
    if not value.startswith(URI_SCHEMES):
        raise ValidationError(
            f"The base URI must start with {_either(URI_SCHEMES)}; “{value}” does not.", code="uri"
        )
    wrong = [c for c in value if c.isspace() or c in "\"'<>\\`"]
    if wrong:
        raise ValidationError(
            f"The base URI cannot contain spaces, quotes, <, >, \\ or `; remove {_quoted(wrong)}.",
            code="uri",
        )


def validate_no_control_characters(value: str) -> None:
    """Raise if `value` holds control characters, which break the generated files."""
    wrong = [c for c in value if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co"}]
    if wrong:
        raise ValidationError(f"Remove the control characters {_quoted(wrong)}.", code="control")


class TextField(forms.CharField):
    """One line of text: whitespace runs become one space, control characters are refused."""

    kind: ClassVar[str] = "text"

    def __init__(self, *, label: str, max_length: int | None, **kwargs: Any) -> None:
        super().__init__(
            max_length=max_length,
            label=label,
            error_messages={
                "required": f"Enter {_escape(label.lower())}.",
                "max_length": f"{_escape(label)} can have at most {max_length} characters; "
                "this has %(show_value)d.",
            },
            **kwargs,
        )
        # Ours names every control character, NUL included; Django's would repeat it vaguely.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]
        self.validators.append(validate_no_control_characters)

    def to_python(self, value: Any) -> str:
        """Return the text on one line, whitespace runs as one space; refuse non-text."""
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"Give text, not {_describe(value)}.", code="type")
        # Line breaks would escape the one-line places the text lands in (comments, TOML).
        return " ".join(str(super().to_python(value)).split())


class NameField(TextField):
    """The project's name: 3 to 60 characters, at least one a visible letter or digit."""

    def __init__(self) -> None:
        super().__init__(
            label="Project name",
            max_length=None,
            help_text=(
                f"{NAME_MIN} to {NAME_MAX} characters: letters, digits, spaces and punctuation "
                "such as Café d'Élan or Harbor Co-op (#2)."
            ),
        )
        self.error_messages["required"] = "Give your project a name."
        self.validators = [validate_project_name]  # it names every wrong character

    def to_python(self, value: Any) -> str:
        """Return the name in composed Unicode form, so “é” counts as one letter."""
        return unicodedata.normalize("NFC", super().to_python(value))


class SymbolField(TextField):
    """A token or collection symbol; lower case is accepted and raised to upper case."""

    def to_python(self, value: Any) -> str:
        """Return the symbol in upper case."""
        return super().to_python(value).upper()


class WholeNumberField(forms.IntegerField):
    """An integer between bounds; accepts 1_000_000 and "1 000 000" as typed."""

    kind: ClassVar[str] = "int"

    def __init__(self, *, label: str, bounds: tuple[int, int], example: int, **kwargs: Any) -> None:
        low, high = bounds
        name = _escape(label)
        super().__init__(
            min_value=low,
            max_value=high,
            label=label,
            error_messages={
                "required": f"Enter {name.lower()}: a whole number from {low:,} to {high:,}.",
                "invalid": f"Enter a whole number, like {example}.",
                "min_value": f"{name} must be at least {low:,}; %(show_value)s is too small.",
                "max_value": f"{name} can be at most {high:,}; %(show_value)s is too large.",
            },
            widget=forms.TextInput(attrs={"inputmode": "numeric"}),
            **kwargs,
        )

    def to_python(self, value: Any) -> int | None:
        """Return the integer; refuse true/false, fractions, lists and objects."""
        if isinstance(value, bool) or not isinstance(value, int | float | str | None):
            raise ValidationError(f"Give a whole number, not {_describe(value)}.", code="type")
        if isinstance(value, float) and not value.is_integer():
            raise ValidationError(f"Give a whole number, not {value}.", code="invalid")
        if isinstance(value, str):
            value = re.sub(r"[\s_]", "", value)
        result = super().to_python(value)
        return None if result is None else int(result)


class EtherField(forms.Field):
    """An amount of ETH typed as a decimal ("0.05"); kept as that text, shown with its wei."""

    kind: ClassVar[str] = "ether"

    def __init__(self, *, label: str, high: Decimal, why_high: str, **kwargs: Any) -> None:
        self.high, self.why_high = high, why_high
        super().__init__(
            label=label,
            error_messages={"required": f"Enter {_escape(label.lower())}, like 0.05."},
            widget=forms.TextInput(attrs={"inputmode": "decimal", "data-ether": ""}),
            **kwargs,
        )

    def to_python(self, value: Any) -> str | None:
        """Return the amount as plain decimal text (0.05, 10, 0); refuse anything else."""
        if isinstance(value, bool) or not isinstance(value, int | float | str | None):
            raise ValidationError(f"Give an amount of ETH, not {_describe(value)}.", code="type")
        text = re.sub(r"[\s_]", "", str(value)) if value is not None else ""
        if not text:
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationError(
                f"Enter an amount of ETH with a dot for decimals, like 0.05; “{text}” is not one.",
                code="invalid",
            ) from None
        if not amount.is_finite() or amount < 0:
            raise ValidationError(f"Enter an amount of ETH from 0 up; “{text}” is not one.")
        if amount.as_tuple().exponent < -DECIMALS:  # type: ignore[operator]
            raise ValidationError(
                f"ETH has {DECIMALS} decimals (1 wei is 0.000000000000000001 ETH); "
                f"“{text}” has more.",
                code="invalid",
            )
        if amount > self.high:
            raise ValidationError(
                f"{self.label} can be at most {ether_text(self.high)} ETH: {self.why_high}",
                code="max_value",
            )
        return ether_text(amount)

    def shown(self, value: str) -> str:
        """Return the amount for people: "0.05 ETH (50,000,000,000,000,000 wei)"."""
        return shown(value)


class StrictCheckboxInput(forms.CheckboxInput):
    """A checkbox that leaves values it does not recognise to the field to refuse."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        """Return True or False for a known value, absent means False; else the raw value."""
        if name not in data:
            return False
        value = data.get(name)
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        return value if value is not None else False


class StrictBooleanField(forms.BooleanField):
    """True or false; unlike Django's, "no" or "maybe" is an error, not True."""

    kind: ClassVar[str] = "bool"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, widget=StrictCheckboxInput, **kwargs)

    def to_python(self, value: Any) -> bool:
        """Return the boolean; refuse anything that is not clearly true or false."""
        if isinstance(value, bool):
            return value
        shown = f"“{value}”" if isinstance(value, str) else _describe(value)
        raise ValidationError(f"Give true or false, not {shown}.", code="invalid")


class OptionChoiceField(forms.ChoiceField):
    """One of a fixed set of values, given as text."""

    kind: ClassVar[str] = "choice"

    def __init__(self, *, label: str, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        listed = _escape(
            _either(f"{value} ({text})" if text != value else value for value, text in choices)
        )
        super().__init__(
            label=label,
            choices=choices,
            widget=forms.RadioSelect,
            error_messages={
                "required": f"Choose {_escape(label.lower())}: {listed}.",
                "invalid_choice": f"Choose one of {listed}; “%(value)s” is not one of them.",
            },
            **kwargs,
        )

    def to_python(self, value: Any) -> str:
        """Return the chosen value; refuse numbers, lists and objects."""
        if value is not None and not isinstance(value, str):
            raise ValidationError(
                f"Give one of the choices as text, not {_describe(value)}.", code="type"
            )
        return str(super().to_python(value))


def option_field(option: Option) -> forms.Field:
    """Return the form field for one of the registry's options, with its bounds and default."""
    common = {"initial": option.default, "help_text": option.help}
    if option.kind == "bool":
        return StrictBooleanField(label=option.label, **common)
    if option.kind == "int":
        bounds = INT_BOUNDS.get(option.name, DEFAULT_INT_BOUNDS)
        hint = f"A whole number from {bounds[0]:,} to {bounds[1]:,}."
        return WholeNumberField(
            label=option.label,
            bounds=bounds,
            example=int(option.default),
            initial=option.default,
            help_text=f"{option.help} {hint}".strip(),
        )
    if option.kind == "ether":
        return EtherField(
            label=option.label,
            high=MAX_MINT_PRICE_ETH,
            why_high=f"the devnet's accounts hold {DEVNET_ETHER:,} ETH each and must afford "
            "a few mints.",
            **common,
        )
    if option.kind == "choice" or option.choices:
        labels = _CHOICE_LABELS.get(option.name, {})
        return OptionChoiceField(
            label=option.label,
            choices=[(value, labels.get(value, value)) for value in option.choices],
            **common,
        )
    return _text_field(option)


def _text_field(option: Option) -> TextField:
    max_length = TEXT_MAX_LENGTH.get(option.name, DEFAULT_TEXT_MAX_LENGTH)
    if option.name == "symbol" or option.name.endswith("_symbol"):
        field: TextField = SymbolField(
            label=option.label,
            max_length=None,
            initial=option.default,
            help_text=option.help
            or (f"{SYMBOL_MIN} to {SYMBOL_MAX} letters A to Z and digits, like {option.default}."),
        )
        field.validators.append(validate_symbol)
        return field
    required = option.name not in {"description", "author"} and option.default != ""
    widget = forms.Textarea(attrs={"rows": 3}) if option.name == "description" else None
    field = TextField(
        label=option.label,
        max_length=max_length,
        required=required,
        initial=option.default,
        help_text=option.help,
        **({"widget": widget} if widget else {}),
    )
    if option.name.endswith("_uri"):
        field.validators.append(validate_uri)
    return field


def template_field() -> OptionChoiceField:
    """Return the field choosing one of the registry's templates."""
    return OptionChoiceField(
        label="Template", choices=[(t.key, t.label) for t in TEMPLATES.values()]
    )


def _common(names: Iterable[str]) -> dict[str, forms.Field]:
    wanted = set(names)
    return {o.name: option_field(o) for o in COMMON_OPTIONS if o.name in wanted}


def _basics_fields() -> dict[str, forms.Field]:
    return {"name": NameField(), **_common(BASICS)}


def _options_fields(template: DappTemplate | None) -> dict[str, forms.Field]:
    fields = _common(o.name for o in COMMON_OPTIONS if o.name not in BASICS)
    if template is not None:
        fields.update({o.name: option_field(o) for o in template.options})
    return fields


class _ParamsForm(forms.Form):
    """A form of job parameters, its labels without Django's trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class BasicsForm(_ParamsForm):
    """Step 1: the project's name, description and author."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_basics_fields())


class TemplateForm(_ParamsForm):
    """Step 2: which kind of dApp to generate."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"] = template_field()

    def cards(self) -> list[tuple[BoundWidget, DappTemplate]]:
        """Return each template's radio button with the template it picks."""
        return [(radio, TEMPLATES[str(radio.data["value"])]) for radio in self["template"]]


class OptionsForm(_ParamsForm):
    """Step 3: the target network, the frontend and the template's own options."""

    def __init__(self, *args: Any, template: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.template = TEMPLATES.get(template)
        self.fields.update(_options_fields(self.template))

    def clean(self) -> dict[str, Any]:
        """Refuse option combinations the template cannot build."""
        cleaned = super().clean() or {}
        _refuse_combinations(self, self.template, cleaned)
        return cleaned


def _refuse_combinations(
    form: forms.Form, template: DappTemplate | None, cleaned: dict[str, Any]
) -> None:
    """Add the template's refusals of option combinations, once every option involved is valid."""
    if template is None or any(o.name in form.errors for o in template.options):
        return
    for name, message in template.problems(cleaned).items():
        form.add_error(name, ValidationError(message, code="combination"))


class JobParamsForm(_ParamsForm):
    """Validate a whole job's parameters, for the wizard's submit and for `POST /api/jobs`.

    Parameters left out take the template's defaults; parameters the template does not take
    are errors, so a typo is not silently ignored.
    """

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, template: str = "", **kwargs: Any
    ) -> None:
        given = dict(data.items()) if data is not None else None
        key = given.get("template") if given is not None else template
        chosen = TEMPLATES.get(key) if isinstance(key, str) else None
        super().__init__(None if given is None else {**_defaults(chosen), **given}, **kwargs)
        self.fields.update(
            {**_basics_fields(), "template": template_field(), **_options_fields(chosen)}
        )
        known = set(self.fields) | (set() if chosen else _all_option_names())
        self.unknown = sorted(set(given or {}) - known)
        self.template = chosen

    def clean(self) -> dict[str, Any]:
        """Refuse parameters that the chosen template does not take, and combinations it
        cannot build."""
        cleaned = super().clean()
        _refuse_combinations(self, self.template, cleaned or {})
        for key in self.unknown:
            takes = ", ".join(self.fields)
            where = f"the {self.template.label} template" if self.template else "a job"
            self.errors[key] = self.error_class(
                [f"“{key}” is not a parameter of {where}; it takes {takes}."]
            )
        return cleaned if cleaned is not None else {}


def _defaults(template: DappTemplate | None) -> dict[str, Any]:
    if template is None:
        return {o.name: o.default for o in COMMON_OPTIONS}
    return template.defaults()


def _all_option_names() -> set[str]:
    return {o.name for t in TEMPLATES.values() for o in t.options}


def error_lists(errors: ErrorDict, *, only: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Return {field: [message, …]} from a form's errors, optionally for some fields only."""
    wanted = None if only is None else set(only)
    return {
        name: [str(m) for m in messages]
        for name, messages in errors.items()
        if wanted is None or name in wanted
    }


def typed_values(form: forms.Form, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the person sent for each of the form's fields, as the widgets read it.

    Kept in the draft exactly as typed (a wrong value too), so nothing they typed is lost; a
    checkbox becomes True/False so that "unticked" and "not sent" differ.
    """
    values = {}
    for name, field in form.fields.items():
        value = field.widget.value_from_datadict(data, {}, form.add_prefix(name))
        values[name] = "" if value is None else value
    return values


def field_spec(name: str, field: forms.Field) -> dict[str, Any]:
    """Return a JSON description of a field: kind, label, default and limits."""
    spec: dict[str, Any] = {
        "name": name,
        "kind": getattr(field, "kind", "text"),
        "label": str(field.label),
        "required": field.required,
        "default": field.initial,
        "help": str(field.help_text),
    }
    if isinstance(field, forms.ChoiceField):
        choices = cast(list[tuple[str, str]], field.choices)
        spec["choices"] = [{"value": v, "label": str(t)} for v, t in choices]
    if isinstance(field, WholeNumberField):
        spec.update(min=field.min_value, max=field.max_value)
    if isinstance(field, EtherField):
        spec.update(min="0", max=ether_text(field.high), unit="ETH")
    if isinstance(field, forms.CharField) and not isinstance(field, NameField | SymbolField):
        spec["max_length"] = field.max_length
    return spec


def templates_catalog() -> list[dict[str, Any]]:
    """Return every template with its options, their defaults and limits, for the API."""
    catalog = []
    for template in TEMPLATES.values():
        form = JobParamsForm(template=template.key)
        catalog.append(
            {
                "key": template.key,
                "label": template.label,
                "description": template.description,
                "required": ["name", "template"],
                "options": [
                    field_spec(n, f)
                    for n, f in form.fields.items()
                    if n not in {"name", "template"}
                ],
                "defaults": template.defaults(),
            }
        )
    return catalog
