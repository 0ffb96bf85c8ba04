"""huey jobs and periodic jobs. Thin: each opens its own app context and calls a service.

Jobs take ids, not objects, and are safe to run twice: the outbox row says whether its
mail went out.
"""

from __future__ import annotations

import uuid
from collections import Counter

from .queue import Every, huey, job_context
from .services import notifications


@huey.task()
def deliver_notifications(ids: list[str]) -> dict[str, int]:
    """Send these outbox rows (those still due; the others were handled already)."""
    with job_context():
        outcomes = Counter(notifications.deliver(uuid.UUID(key)) for key in ids)
    return dict(outcomes)


@huey.periodic_task(Every("NOTIFY_SWEEP_SECONDS"))
def sweep_outbox() -> str:
    """Deliver whatever is still pending: queue down at the time, worker killed, SMTP down."""
    with job_context():
        return notifications.sweep().summary()


@huey.periodic_task(Every("NOTIFY_REMINDER_SECONDS"))
def queue_due_reminders() -> int:
    """Write and queue the due-date reminders not written yet."""
    with job_context():
        return len(notifications.queue_due_reminders())
