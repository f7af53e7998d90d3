"""What a bot message's Markdown looks like in the sandbox client: formatting and masked links
as Discord shows them, and nothing a message could inject."""

from __future__ import annotations

from sandbox.console.markdown import discord_markdown


def test_masked_links_become_links_and_only_for_http() -> None:
    text = "2. Add the bot with [this install link](http://127.0.0.1:1/oauth2/authorize?a=1&b=2)."
    assert str(discord_markdown(text)) == (
        '2. Add the bot with <a href="http://127.0.0.1:1/oauth2/authorize?a=1&amp;b=2">'
        "this install link</a>."
    )
    assert "<a" not in discord_markdown("[click](javascript:alert(1))")
    quoted = str(discord_markdown('[x](https://e.example/"onmouseover=1)'))
    assert quoted == '<a href="https://e.example/&#34;onmouseover=1">x</a>'  # one attribute


def test_formatting_and_escaping() -> None:
    shown = str(discord_markdown("**done** *now* `a*b*` <script>"))
    assert shown == "<strong>done</strong> <em>now</em> <code>a*b*</code> &lt;script&gt;"
