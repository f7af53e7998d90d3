"""The operators' tokens page: the list, Revoke, and nobody else may use it."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.e2e.harness import Product
from tests.web.conftest import Client
from tests.web.pages.browser_steps import new_context, shoot, sign_in_with_token
from tests.web.pages.helpers import sign_in
from web.services import Services


async def test_an_operator_revokes_a_token_on_the_page(
    live: Product, live_url: str, browser: Browser, artifacts: Path
) -> None:
    """Listed by name and rights, never by value; Revoke stops the token at once."""
    token = await live.built.tokens.create("operator")
    leaked = await live.built.tokens.create("leaked-laptop", read_only=True)
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in_with_token(page, live_url, token)
    await page.get_by_role("link", name="API tokens").click()
    row = page.locator("tr", has_text="leaked-laptop")
    await expect(row).to_contain_text("read-only")
    assert leaked not in await page.content()
    await shoot(page, artifacts, "tokens")
    await page.get_by_role("button", name="Revoke leaked-laptop").click()
    await expect(page.get_by_role("status")).to_contain_text("leaked-laptop is revoked")
    await expect(page.get_by_role("button", name="Revoke leaked-laptop")).to_have_count(0)
    assert await live.built.tokens.authenticate(leaked) is None
    assert await live.built.tokens.authenticate(token) is not None
    await context.close()


async def test_revoking_a_token_ends_the_sessions_it_started(
    client: Client, token: str, services: Services
) -> None:
    """Signed in with a token that is then revoked: the next page asks for sign-in."""
    await sign_in(client, token)
    assert (await client.get("/app/courses", allow_redirects=False)).status == 200
    assert await services.tokens.revoke("writer")
    assert (await client.get("/app/courses", allow_redirects=False)).status == 303


async def test_a_read_only_token_cannot_manage_tokens(client: Client, ro_token: str) -> None:
    """No link, and the page and its form answer 403."""
    await sign_in(client, ro_token)
    assert "API tokens" not in await (await client.get("/app/courses")).text()
    assert (await client.get("/app/tokens")).status == 403
