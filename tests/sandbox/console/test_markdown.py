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


def test_timestamps_as_discord_shows_them() -> None:
    """`<t:UNIX:STYLE>` is a time (UTC text, its instant in `datetime` for the script to show
    in the reader's zone), `f` when no style is given; inside code, or not a number, it stays
    text, and nothing else in it can inject markup."""
    shown = str(discord_markdown("the last goes about <t:1796566620:f>. `<t:1796566620>`"))
    assert shown == (
        'the last goes about <time datetime="2026-12-06T14:17:00+00:00" data-style="f">'
        "06 December 2026 14:17 UTC</time>. <code>&lt;t:1796566620&gt;</code>"
    )
    assert 'data-style="f">06 December 2026 14:17 UTC' in str(discord_markdown("<t:1796566620>"))
    assert ">14:17 UTC</time>" in str(discord_markdown("at <t:1796566620:t>"))
    assert str(discord_markdown("<t:soon:f> <t:1:x>")) == "&lt;t:soon:f&gt; &lt;t:1:x&gt;"
