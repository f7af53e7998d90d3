"""`python -m bot audit verify` on a real log: intact after provisioning, broken after tampering."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from db.models import AuditEvent
from tests.e2e.harness import Product, audit_rows, bot_cli, lecture, product_env


async def test_audit_verify_names_the_row_someone_altered(
    database_url: str, product: Product, people: dict[str, str], tmp_path: Path
) -> None:
    """Exit 0 on the untouched chain; after one row's status is changed, exit 1 naming it."""
    await product.create(lecture(people["ada"], people["grace"]))
    await product.run()
    rows = await audit_rows(product.sessions)
    assert len(rows) > 30
    env = product_env(database_url)

    intact = await bot_cli("audit", "verify", env=env, cwd=tmp_path)
    assert intact.returncode == 0, intact.stderr
    assert "audit chain intact" in intact.stdout

    victim = rows[len(rows) // 2]
    async with product.sessions.begin() as session:
        await session.execute(
            update(AuditEvent).where(AuditEvent.id == victim.id).values(status=201)
        )
    broken = await bot_cli("audit", "verify", env=env, cwd=tmp_path)
    assert broken.returncode == 1
    assert f"audit chain BROKEN at row {victim.id} " in broken.stderr
