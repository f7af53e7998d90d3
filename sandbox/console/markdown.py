"""The little Markdown a Discord message shows formatted: **bold**, *italic*, `code`, the
masked links `[text](https://…)` Discord shows as links in embeds (only http and https: no
`javascript:`), and lists: lines starting `- ` or `* ` (bullets) or `1. ` (numbered), nested by
indenting two spaces; and timestamps `<t:UNIX:STYLE>`, which Discord shows in each reader's
own time zone (here in UTC, and the console's script rewrites them in the browser's zone, as
Discord's client does). Escaped first, so a message can never inject markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from markupsafe import Markup, escape

_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])")
# No `*` in the address: emphasis is applied after links and must never land in an href.
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s*<>]+)\)")
# A timestamp, once escaped: `<t:1796566620>` or with a style (t T d D f F R; f by default).
_TIME = re.compile(r"&lt;t:(-?\d{1,13})(?::([tTdDfFR]))?&gt;")
# Each style's text in UTC, for a browser without the script (Discord's own words, in English).
_STYLES = {
    "t": "%H:%M",
    "T": "%H:%M:%S",
    "d": "%d/%m/%Y",
    "D": "%d %B %Y",
    "f": "%d %B %Y %H:%M",
    "F": "%A, %d %B %Y %H:%M",
    "R": "%d %B %Y %H:%M",
}
# A list item: its indent, the number of a numbered one, its text.
_ITEM = re.compile(r"^( *)(?:[-*]|(\d{1,9})\.) (.*)$")


def discord_markdown(text: object) -> Markup:
    """`text` as safe HTML: lists as `ul`/`ol`, the other lines as they are (the client keeps
    their line breaks); in each line code spans first (not formatted inside), then emphasis."""
    html: list[str] = []
    lists: list[str] = []  # the lists open around the current item, outermost first
    after_text = False
    for line in str(text).split("\n"):
        item = _ITEM.match(line)
        if item is None:
            if lists:
                html.append(_close(lists, 0))
            elif after_text:
                html.append("\n")
            html.append(_inline(line))
            after_text = True
            continue
        indent, number, words = item.groups()
        tag = "ol" if number else "ul"
        # An item is at most one level deeper than the one before it, as Discord nests.
        depth = min(len(indent) // 2 + 1, len(lists) + 1)
        html.append(_close(lists, depth))
        if len(lists) == depth and lists[-1] != tag:
            html.append(_close(lists, depth - 1))
        if len(lists) == depth:
            html.append("</li><li>")
        else:
            start = f' start="{int(number)}"' if number and int(number) != 1 else ""
            html.append(f"<{tag}{start}><li>")
            lists.append(tag)
        html.append(_inline(words))
        after_text = False
    html.append(_close(lists, 0))
    return Markup("".join(html))  # noqa: S704 - built from escaped text only


def _close(lists: list[str], depth: int) -> str:
    """End the lists nested deeper than `depth`."""
    closed = []
    while len(lists) > depth:
        closed.append(f"</li></{lists.pop()}>")
    return "".join(closed)


def _inline(line: str) -> str:
    parts = _CODE.split(str(escape(line)))
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{part}</code>")
        else:
            linked = _TIME.sub(_timestamp, _LINK.sub(r'<a href="\2">\1</a>', part))
            out.append(_ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", linked)))
    return "".join(out)


def _timestamp(found: re.Match[str]) -> str:
    try:
        at = datetime.fromtimestamp(int(found.group(1)), UTC)
    except (OverflowError, OSError, ValueError):
        return found.group(0)  # Discord leaves a time it cannot show as the text it was
    style = found.group(2) or "f"
    text = at.strftime(_STYLES[style]) + " UTC"
    return f'<time datetime="{at.isoformat()}" data-style="{style}">{text}</time>'
