"""What the join pages need from the product, built by `bot.build`."""

from __future__ import annotations

from dataclasses import dataclass

from provisioning.students.join import JoinService
from provisioning.students.join_actions import JoinActions
from provisioning.students.sign_in import SignIn


@dataclass(frozen=True)
class JoinParts:
    """The page's service; the sign-ins and their effects when OAuth apps are configured."""

    view: JoinService
    # The product's address as people reach it: the OAuth redirect URIs are made from it.
    public_url: str
    sign_in: SignIn | None = None
    actions: JoinActions | None = None

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def redirect_uri(self, provider: str) -> str:
        return f"{self.public_url.rstrip('/')}/join-oauth/{provider}/callback"
