"""What a bot message's Markdown looks like in the sandbox client: formatting and masked links
as Discord shows them, and nothing a message could inject."""

from __future__ import annotations

from sandbox.console.markdown import discord_markdown


def test_masked_links_become_links_and_only_for_http() -> None:
    text = "2. Add the bot with [this install link](http://127.0.0.1:1/oauth2/authorize?a=1&b=2)."
    assert str(discord_markdown(text)) == (
        '<ol start="2"><li>Add the bot with '
        '<a href="http://127.0.0.1:1/oauth2/authorize?a=1&amp;b=2">this install link</a>.</li></ol>'
    )
    assert "<a" not in discord_markdown("[click](javascript:alert(1))")
    quoted = str(discord_markdown('[x](https://e.example/"onmouseover=1)'))
    assert quoted == '<a href="https://e.example/&#34;onmouseover=1">x</a>'  # one attribute


def test_formatting_and_escaping() -> None:
    shown = str(discord_markdown("**done** *now* `a*b*` <script>"))
    assert shown == "<strong>done</strong> <em>now</em> <code>a*b*</code> &lt;script&gt;"


def test_lists_as_discord_shows_them() -> None:
    """`- `/`* ` lines are bullets, `1. ` lines numbered, two spaces nest; the text around keeps
    its lines, and list items are formatted and escaped like any line."""
    shown = str(
        discord_markdown(
            "Steps:\n- **one** `a*b`\n* two\n  - under two <b>\n3. three\n4. four\nafter\nend"
        )
    )
    assert shown == (
        "Steps:<ul><li><strong>one</strong> <code>a*b</code></li>"
        "<li>two<ul><li>under two &lt;b&gt;</li></ul></li></ul>"
        '<ol start="3"><li>three</li><li>four</li></ol>after\nend'
    )
    assert str(discord_markdown("-not a list\n*not* either")) == (
        "-not a list\n<em>not</em> either"
    )
