"""The dependency direction of DESIGN.md §3, and the one composition root, stay as they are."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package (or folder) → the imports it must never make
RULES: dict[str, tuple[str, ...]] = {
    # The domain knows the platforms only through its gateway Protocols.
    "provisioning": (
        "discord",
        "github",
        "aiohttp.web",
        "sandbox",
        "clients",
        "bot",
        "cogs",
        "web",
    ),
    "db": ("discord", "github", "aiohttp.web", "provisioning", "clients", "bot", "cogs", "web"),
    # Adapters call services; they never reach the tables.
    "cogs": ("db", "sqlalchemy", "bot", "web", "clients"),
    "web/handlers": ("db", "sqlalchemy", "bot", "cogs", "clients"),
    "web/pages": ("db", "sqlalchemy", "bot", "cogs", "clients"),
    "clients": ("bot", "cogs", "web", "db", "sandbox"),
    # A test double shares no code with what it stands in for.
    "sandbox": ("provisioning", "clients", "bot", "cogs", "web", "db"),
}
# The parts `bot.build` composes: nothing else may construct them (tests of one part excepted).
PARTS = (
    "StepRunner",
    "AuditLog",
    "CourseService",
    "DatabaseClaimService",
    "ApiTokenService",
    "IdempotencyStore",
    "PyGithubGateway",
    "DiscordRestGateway",
    "SmtpMailGateway",
    "JoinLinks",
    "RateGovernor",
    "Services",
    "CourseCommands",
    "DraftService",
    "CourseFinder",
    "CommandServices",
    "LiveUpdates",
    "InviteLinks",
    "CourseLog",
    "MilestoneTracker",
)
# Where the product is assembled for running or for measuring: only through `bot.build.build`.
ASSEMBLERS = (
    "bot",
    "cogs",
    "web",
    "bench",
    "tests/e2e/harness.py",
    "tests/contract/scenario.py",
)


def _modules(folder: str) -> list[Path]:
    path = ROOT / folder
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _called_names(path: Path) -> set[str]:
    calls: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                calls.add(func.id)
            elif isinstance(func, ast.Attribute):
                calls.add(func.attr)
    return calls


@pytest.mark.parametrize("folder", sorted(RULES))
def test_no_forbidden_imports(folder: str) -> None:
    """No module of `folder` imports what DESIGN.md §3 puts above it or beside it."""
    forbidden = RULES[folder]
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules(folder)
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    }
    assert offenders == set()


@pytest.mark.parametrize("where", ASSEMBLERS)
def test_only_the_builder_composes_the_product(where: str) -> None:
    """`bot/build.py` alone constructs the runner, gateways, governors and services; the bot,
    the end-to-end harness, the bench and the contract scenario get them from `build`."""
    offenders = {
        f"{path.relative_to(ROOT)}: {name}()"
        for path in _modules(where)
        if path != ROOT / "bot" / "build.py"
        for name in _called_names(path) & set(PARTS)
    }
    assert offenders == set()


@pytest.mark.parametrize("where", ["bot/app.py", "bench", *ASSEMBLERS[-2:]])
def test_the_runners_of_the_product_call_the_builder(where: str) -> None:
    """`python -m bot`, the bench, the e2e harness and the contract scenario call `build`."""
    assert any("build" in _called_names(path) for path in _modules(where))
