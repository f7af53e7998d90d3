"""Forms from a registered slash command, and the options a filled form sends to the bot.

A command registered with subcommands (or groups of them) is one form per subcommand, as the
Discord client offers one entry per subcommand. Option types follow Discord's documentation
(PLATFORM.md §1.11): 1 subcommand, 2 group, 3 string, 4 integer, 5 boolean, 6 user, 7 channel,
8 role, 9 mentionable, 10 number, 11 attachment.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)
SNOWFLAKE_TYPES = (USER, CHANNEL, ROLE, MENTIONABLE)


class FormError(Exception):
    """A filled form the client would not send; `field` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Choice:
    name: str
    value: str | int | float


@dataclass(frozen=True)
class Field:
    """One option of a command, as an input of the form."""

    name: str
    description: str
    type: int
    required: bool
    choices: tuple[Choice, ...] = ()
    autocomplete: bool = False
    min_value: float | None = None
    max_value: float | None = None
    min_length: int | None = None
    max_length: int | None = None

    @property
    def widget(self) -> str:
        """The HTML input that fits: select, checkbox, file, number or text."""
        if self.choices:
            return "select"
        return {BOOLEAN: "checkbox", ATTACHMENT: "file", INTEGER: "number", NUMBER: "number"}.get(
            self.type, "text"
        )

    @property
    def step(self) -> str:
        return "1" if self.type == INTEGER else "any"

    @property
    def hint(self) -> str:
        """What the person may type, in words (shown under the input)."""
        if self.type in SNOWFLAKE_TYPES:
            return "an id (a snowflake)"
        if self.type == ATTACHMENT:
            return "a file from this computer"
        return ""


@dataclass(frozen=True)
class CommandForm:
    """One runnable entry: `/command [group] [subcommand]` and its options."""

    command: str
    path: tuple[str, ...]
    description: str
    fields: tuple[Field, ...]

    @property
    def key(self) -> str:
        return " ".join((self.command, *self.path))

    @property
    def title(self) -> str:
        return "/" + self.key

    @property
    def slug(self) -> str:
        return "-".join((self.command, *self.path))


def _field(option: dict[str, Any]) -> Field:
    choices = tuple(
        Choice(str(c.get("name", c.get("value"))), c["value"])
        for c in option.get("choices") or []
        if isinstance(c, dict) and "value" in c
    )
    return Field(
        name=str(option["name"]),
        description=str(option.get("description", "")),
        type=int(option["type"]),
        required=bool(option.get("required", False)),
        choices=choices,
        autocomplete=bool(option.get("autocomplete", False)),
        min_value=option.get("min_value"),
        max_value=option.get("max_value"),
        min_length=option.get("min_length"),
        max_length=option.get("max_length"),
    )


def command_forms(payload: dict[str, Any]) -> list[CommandForm]:
    """Every form of one registered chat-input command (its registration JSON)."""
    name = str(payload["name"])
    options = [o for o in payload.get("options") or [] if isinstance(o, dict)]
    subs = [o for o in options if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if not subs:
        fields = tuple(_field(o) for o in options)
        return [CommandForm(name, (), str(payload.get("description", "")), fields)]
    forms: list[CommandForm] = []
    for sub in subs:
        if sub["type"] == SUB_COMMAND_GROUP:
            for leaf in sub.get("options") or []:
                forms.append(_leaf(name, (str(sub["name"]), str(leaf["name"])), leaf))
        else:
            forms.append(_leaf(name, (str(sub["name"]),), sub))
    return forms


def _leaf(name: str, path: tuple[str, ...], sub: dict[str, Any]) -> CommandForm:
    fields = tuple(_field(o) for o in sub.get("options") or [] if isinstance(o, dict))
    return CommandForm(name, path, str(sub.get("description", "")), fields)


def _value(field: Field, raw: Any) -> str | int | float | bool:
    """The typed value of one filled input, checked as the Discord client checks it."""
    if field.type == BOOLEAN:
        if isinstance(raw, bool):
            return raw
        return str(raw).lower() in ("true", "on", "1", "yes")
    text = str(raw).strip()
    value: str | int | float
    try:
        if field.type == INTEGER:
            value = int(text)
        elif field.type == NUMBER:
            value = float(text)
        elif field.type in SNOWFLAKE_TYPES:
            value = str(int(text))
        else:
            value = str(raw)
    except ValueError as exc:
        kind = {INTEGER: "a whole number", NUMBER: "a number"}.get(field.type, "an id (digits)")
        raise FormError(field.name, f"expected {kind}, got {text!r}") from exc
    if field.choices and value not in [c.value for c in field.choices]:
        allowed = ", ".join(str(c.value) for c in field.choices)
        raise FormError(field.name, f"choose one of {allowed}")
    if isinstance(value, (int, float)):
        if field.min_value is not None and value < field.min_value:
            raise FormError(field.name, f"at least {field.min_value}")
        if field.max_value is not None and value > field.max_value:
            raise FormError(field.name, f"at most {field.max_value}")
    if isinstance(value, str) and field.type == STRING:
        if field.min_length is not None and len(value) < field.min_length:
            raise FormError(field.name, f"at least {field.min_length} characters")
        if field.max_length is not None and len(value) > field.max_length:
            raise FormError(field.name, f"at most {field.max_length} characters")
    return value


def _attachment(field: Field, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw.get("filename") or "base64" not in raw:
        raise FormError(field.name, "choose a file to upload")
    try:
        base64.b64decode(str(raw["base64"]), validate=True)
    except binascii.Error as exc:
        raise FormError(field.name, "the file could not be read; choose it again") from exc
    return {
        "filename": str(raw["filename"]),
        "content_type": str(raw.get("content_type") or "application/octet-stream"),
        "base64": str(raw["base64"]),
    }


def _filled(raw: Any) -> bool:
    if raw is None or raw is False:
        return False
    return not (isinstance(raw, str) and raw.strip() == "")


def build_options(
    form: CommandForm, values: dict[str, Any], focused: str | None = None
) -> list[dict[str, Any]]:
    """The interaction's `options` for a filled form: nested under its subcommand path.

    Empty optional inputs are left out, as the client leaves out options not given; a missing
    required one is a `FormError` naming it. With `focused` (an option being typed into), the
    form is the half-filled one autocomplete sends: that option's text as it is, marked
    `focused`, and the others only when they are filled and valid.
    """
    if focused is not None:
        return _nest(form, _partial(form, values, focused))
    options: list[dict[str, Any]] = []
    for field in form.fields:
        raw = values.get(field.name)
        if field.type == BOOLEAN and field.name in values:
            options.append({"name": field.name, "type": BOOLEAN, "value": _value(field, raw)})
            continue
        if not _filled(raw):
            if field.required:
                raise FormError(field.name, "this option is required")
            continue
        if field.type == ATTACHMENT:
            options.append(
                {"name": field.name, "type": ATTACHMENT, "attachment": _attachment(field, raw)}
            )
        else:
            options.append({"name": field.name, "type": field.type, "value": _value(field, raw)})
    return _nest(form, options)


def _partial(form: CommandForm, values: dict[str, Any], focused: str) -> list[dict[str, Any]]:
    if focused not in {f.name for f in form.fields if f.autocomplete}:
        raise FormError(focused, "this option offers no autocomplete")
    options: list[dict[str, Any]] = []
    for field in form.fields:
        raw = values.get(field.name)
        if field.name == focused:
            text = "" if raw is None else str(raw)
            options.append({"name": field.name, "type": field.type, "value": text, "focused": True})
        elif field.type != ATTACHMENT and _filled(raw):
            try:
                options.append(
                    {"name": field.name, "type": field.type, "value": _value(field, raw)}
                )
            except FormError:
                continue  # the client sends what it can; a half-typed number is left out
    return options


def _nest(form: CommandForm, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for depth, name in reversed(list(enumerate(form.path))):
        kind = SUB_COMMAND if depth == len(form.path) - 1 else SUB_COMMAND_GROUP
        options = [{"name": name, "type": kind, "options": options}]
    return options
