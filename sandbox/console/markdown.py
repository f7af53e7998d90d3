"""The little Markdown a Discord message shows formatted: **bold**, *italic*, `code`, and the
masked links `[text](https://…)` Discord shows as links in embeds (only http and https: no
`javascript:`). Escaped first, so a message can never inject markup."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])")
# No `*` in the address: emphasis is applied after links and must never land in an href.
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s*<>]+)\)")


def discord_markdown(text: object) -> Markup:
    """`text` as safe HTML: code spans first (their content is not formatted), then emphasis."""
    parts = _CODE.split(str(escape(str(text))))
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{part}</code>")
        else:
            linked = _LINK.sub(r'<a href="\2">\1</a>', part)
            out.append(_ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", linked)))
    return Markup("".join(out))  # noqa: S704 - built from escaped text only
