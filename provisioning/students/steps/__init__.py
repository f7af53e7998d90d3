"""The step executors of the students' path, by step kind.

Unlike the platform steps they need parts a `StepContext` does not carry (the mail gateway,
the link signer, the clock, the public address), so `executors` binds them; `bot.build`
passes what it built.
"""

from __future__ import annotations

from provisioning.step import Executor
from provisioning.students.steps.join_email import JOIN_EMAIL, JoinEmail


def executors(join_email: JoinEmail) -> dict[str, Executor]:
    """Executors by step kind, as `provisioning.runner.StepRunner` takes them."""
    return {JOIN_EMAIL: join_email.ensure}
