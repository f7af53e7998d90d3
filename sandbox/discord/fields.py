"""Reading request bodies field by field, collecting 50035 errors the way Discord reports them."""

from __future__ import annotations

from typing import Any

from sandbox.discord.errors import DiscordError, FormErrors
from sandbox.discord.models import Overwrite
from sandbox.discord.snowflake import parse_snowflake

_MISSING = object()


class Body:
    """A JSON object body; each accessor records errors instead of raising at the first one."""

    def __init__(self, data: Any, path: tuple[str | int, ...] = ()) -> None:
        self.errors = FormErrors()
        self.path = path
        if not isinstance(data, dict):
            self.errors.add(
                path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
            data = {}
        self.data: dict[str, Any] = data

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING and required:
            self.errors.add((*self.path, name), "BASE_TYPE_REQUIRED", "This field is required")
        return None if value is _MISSING else value

    def string(
        self, name: str, *, required: bool = False, min_len: int = 1, max_len: int = 100
    ) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.errors.add(
                (*self.path, name), "STRING_TYPE_CONVERT", "Could not interpret value as string."
            )
            return None
        if not min_len <= len(value) <= max_len:
            self.errors.add(
                (*self.path, name),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between {min_len} and {max_len} in length.",
            )
            return None
        return value

    def integer(
        self, name: str, *, required: bool = False, lo: int | None = None, hi: int | None = None
    ) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | str)
            or (isinstance(value, str) and not value.lstrip("-").isdigit())
        ):
            self.errors.add(
                (*self.path, name), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.'
            )
            return None
        number = int(value)
        if lo is not None and number < lo:
            self.errors.add(
                (*self.path, name),
                "NUMBER_TYPE_MIN",
                f"int value should be greater than or equal to {lo}.",
            )
            return None
        if hi is not None and number > hi:
            self.errors.add(
                (*self.path, name),
                "NUMBER_TYPE_MAX",
                f"int value should be less than or equal to {hi}.",
            )
            return None
        return number

    def choice(self, name: str, choices: tuple[int, ...], *, default: int) -> int:
        value = self.integer(name)
        if value is None:
            return default
        if value not in choices:
            listed = ", ".join(map(str, choices))
            self.errors.add(
                (*self.path, name), "BASE_TYPE_CHOICES", f"Value must be one of {{{listed}}}."
            )
            return default
        return value

    def boolean(self, name: str) -> bool | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.errors.add(
                (*self.path, name), "BOOLEAN_TYPE_COERCE", f'Value "{value}" is not a boolean.'
            )
            return None
        return value

    def snowflake(self, name: str, *, required: bool = False) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        parsed = parse_snowflake(value)
        if parsed is None:
            self.errors.add(
                (*self.path, name), "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.'
            )
        return parsed

    def snowflakes(self, name: str) -> list[int] | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, list):
            self.errors.add(
                (*self.path, name), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
            )
            return None
        out: list[int] = []
        for i, item in enumerate(value):
            parsed = parse_snowflake(item)
            if parsed is None:
                self.errors.add(
                    (*self.path, name, i), "NUMBER_TYPE_COERCE", f'Value "{item}" is not snowflake.'
                )
            else:
                out.append(parsed)
        return out

    def permissions(self, name: str) -> int | None:
        """A permission bit set: int or decimal string (PLATFORM.md §1.3: accept both)."""
        return self.integer(name, lo=0)

    def overwrites(self, name: str, limit: int) -> list[Overwrite] | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, list):
            self.errors.add(
                (*self.path, name), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"
            )
            return None
        if len(value) > limit:
            self.errors.add(
                (*self.path, name), "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
            )
            return None
        out: list[Overwrite] = []
        for i, item in enumerate(value):
            sub = Body(item, (*self.path, name, i))
            oid = sub.snowflake("id", required=True)
            otype = sub.choice("type", (0, 1), default=0)
            allow = sub.permissions("allow") or 0
            deny = sub.permissions("deny") or 0
            self._merge(sub)
            if oid is not None:
                out.append(Overwrite(id=oid, type=otype, allow=allow, deny=deny))
        return out

    def _merge(self, sub: Body) -> None:
        _merge_tree(self.errors.tree, sub.errors.tree)

    def done(self) -> None:
        self.errors.raise_if_any()


def _merge_tree(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if key == "_errors":
            into.setdefault("_errors", []).extend(value)
        else:
            _merge_tree(into.setdefault(key, {}), value)


def require_snowflake(value: str, name: str) -> int:
    """A path parameter as a snowflake, or 50035 (Discord answers bad ids in paths this way)."""
    parsed = parse_snowflake(value)
    if parsed is None:
        raise DiscordError(
            400,
            50035,
            "Invalid Form Body",
            {
                name: {
                    "_errors": [
                        {
                            "code": "NUMBER_TYPE_COERCE",
                            "message": f'Value "{value}" is not snowflake.',
                        }
                    ]
                }
            },
        )
    return parsed
