"""huey jobs and periodic jobs. Thin: each opens its own app context and calls a service.

Jobs take ids, not objects, and are safe to run twice: the outbox row says whether its
mail went out.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter

from .queue import Every, huey, job_context
from .services import accounts, attachments, delivery, notifications, trash, webhooks

log = logging.getLogger("taskboard.jobs")


@huey.task()
def deliver_notifications(ids: list[str]) -> dict[str, int]:
    """Send these outbox rows (those still due; the others were handled already)."""
    with job_context():
        outcomes = Counter(delivery.deliver(uuid.UUID(key)) for key in ids)
    return dict(outcomes)


def carry(ids: list[str], *, delay: float | None = None) -> None:
    """The outbox's carrier: the ids to a worker, now or after `delay` seconds."""
    if delay:
        deliver_notifications.schedule(args=(ids,), delay=delay)
    else:
        deliver_notifications(ids)


notifications.register_carrier(carry)


@huey.periodic_task(Every("NOTIFY_SWEEP_SECONDS"))
def sweep_outbox() -> str:
    """Deliver whatever is still pending: queue down at the time, worker killed, SMTP down."""
    with job_context():
        result = delivery.sweep()
    if result.outcomes or result.abandoned:
        log.info("outbox sweep: %s", result.summary())
    return result.summary()


@huey.periodic_task(Every("NOTIFY_SWEEP_SECONDS"))
def send_digests() -> int:
    """Send the daily digests whose hour has come."""
    with job_context():
        sent = delivery.send_digests()
    if sent:
        log.info("sent %d digest(s)", sent)
    return sent


@huey.periodic_task(Every("NOTIFY_REMINDER_SECONDS"))
def queue_due_reminders() -> int:
    """Write and queue the due-date reminders not written yet."""
    with job_context():
        created = len(notifications.queue_due_reminders())
    if created:
        log.info("queued %d due-date reminder(s)", created)
    return created


@huey.periodic_task(Every(24 * 3600))
def purge_outbox() -> int:
    """Delete finished notifications older than NOTIFY_KEEP_DAYS."""
    with job_context():
        deleted = delivery.purge()
    if deleted:
        log.info("deleted %d old notification(s)", deleted)
    return deleted


@huey.periodic_task(Every(3600))
def purge_trash() -> int:
    """Purge what has been in the trash longer than TRASH_DAYS, files included."""
    with job_context():
        purged = trash.purge()
    if purged:
        log.info("purged %d item(s) from the trash", purged)
    return purged


@huey.periodic_task(Every(24 * 3600))
def purge_login_sessions() -> int:
    """Delete login sessions that ended or passed SESSION_MAX_DAYS."""
    with job_context():
        deleted = accounts.purge_login_sessions()
    if deleted:
        log.info("deleted %d old login session(s)", deleted)
    return deleted


@huey.task()
def remove_blobs(ids: list[str] | None = None) -> dict[str, int]:
    """Remove the stored files of deleted attachments (these removals, or every due one)."""
    with job_context():
        removed, failed = attachments.remove_due(
            [uuid.UUID(key) for key in ids] if ids is not None else None
        )
    return {"removed": removed, "failed": failed}


@huey.periodic_task(Every("NOTIFY_SWEEP_SECONDS"))
def sweep_blob_removals() -> int:
    """Remove the files whose removal was not queued or failed before."""
    with job_context():
        removed, failed = attachments.remove_due()
    if removed or failed:
        log.info("file removals: %d done, %d to retry", removed, failed)
    return removed


@huey.task()
def deliver_webhooks(ids: list[str]) -> dict[str, int]:
    """Send these webhook deliveries (those still due; the others were handled already)."""
    with job_context():
        outcomes = Counter(webhooks.deliver(uuid.UUID(key)) for key in ids)
    return dict(outcomes)


@huey.periodic_task(Every("NOTIFY_SWEEP_SECONDS"))
def sweep_webhooks() -> dict[str, int]:
    """Send the webhook deliveries that are due: retries, and what the queue did not carry."""
    with job_context():
        outcomes = webhooks.sweep()
    if outcomes:
        log.info("webhook sweep: %s", outcomes)
    return outcomes
