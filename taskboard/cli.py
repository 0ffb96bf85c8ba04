"""The `flask …` admin commands. They call the services, like the API and the pages."""

from __future__ import annotations

import logging
from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from .models import utcnow
from .services import accounts, projects, tasks

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "taskboard-demo"

demo = AppGroup("demo", help="Demo data.")


@demo.command("seed")
def demo_seed() -> None:
    """Create a demo account with a project and tasks in every column (idempotent)."""
    user = accounts.find_by_email(DEMO_EMAIL)
    if user is None:
        user = accounts.register(DEMO_EMAIL, "Demo User", DEMO_PASSWORD)
        _seed_project(user)
        click.echo("Created the demo account with a sample project.")
    else:
        click.echo("The demo account already exists.")
    click.echo(f"Log in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")


def _seed_project(user: accounts.User) -> None:
    now = utcnow()
    project = projects.create(user, "Website relaunch", "Everything for the new site.")
    cards = [
        ("Collect feedback on the draft", "todo", now + timedelta(days=3)),
        ("Write the pricing page", "todo", now + timedelta(hours=20)),
        ("Pick a font pairing", "in_progress", now - timedelta(days=1)),
        ("Set up analytics", "in_progress", None),
        ("Register the domain", "done", now - timedelta(days=5)),
    ]
    for title, status, due in cards:
        tasks.create(
            user, project.id, title=title, status=status, assignee_ids=[user.id], due_date=due
        )


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    register_notify_commands(app)


# Notifications and the worker -------------------------------------------------------


notify = AppGroup("notify", help="Notification jobs, run by hand.")


@notify.command("due-reminders")
def notify_due_reminders() -> None:
    """Write and queue due-date reminders now (the worker does this periodically)."""
    from .services import notifications

    created = notifications.queue_due_reminders()
    click.echo(f"Queued {len(created)} due-date reminder(s).")


@notify.command("sweep")
def notify_sweep() -> None:
    """Deliver every pending notification that is due now, in this process."""
    from .services import delivery

    result = delivery.sweep()
    click.echo(f"Sweep: {result.summary()}.")
    counts = delivery.status_counts()
    click.echo("Outbox: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "empty"))


@notify.command("retry-failed")
def notify_retry_failed() -> None:
    """Give every failed notification a fresh set of tries (e.g. after fixing MAIL_*)."""
    from .services import delivery

    click.echo(f"Queued {delivery.retry_failed()} failed notification(s) again.")


@notify.command("purge")
@click.option(
    "--keep-days",
    type=click.IntRange(1),
    default=None,
    help="Keep this many days (default: NOTIFY_KEEP_DAYS).",
)
def notify_purge(keep_days: int | None) -> None:
    """Delete sent, skipped and failed notifications older than the kept days."""
    from .services import delivery

    click.echo(f"Deleted {delivery.purge(keep_days)} old notification(s).")


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--max-delay",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 60),
    help="Longest wait in seconds between polls of an empty queue.",
)
@with_appcontext
def worker(workers: int, max_delay: float) -> None:
    """Run the huey consumer with its periodic jobs, in the foreground (Ctrl-C stops it)."""
    from flask import current_app

    from .queue import create_consumer

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        consumer = create_consumer(app, workers=workers, max_delay=max_delay)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    # huey logs every job run at INFO; the jobs log what they did themselves.
    if app.config["LOG_LEVEL"] != "DEBUG":
        logging.getLogger("huey").setLevel(logging.WARNING)
        logging.getLogger("huey.consumer").setLevel(logging.INFO)
        logging.getLogger("huey.consumer.Scheduler").setLevel(logging.WARNING)
    storage = "Redis" if app.config.get("REDIS_URL") else app.config["HUEY_SQLITE_PATH"]
    mail_to = app.config.get("MAIL_SERVER") or app.config["MAIL_OUTBOX_DIR"]
    click.echo(f"Worker: {workers} thread(s), queue {storage}, mail to {mail_to}.")
    consumer.run()


def register_notify_commands(app: Flask) -> None:
    app.cli.add_command(notify)
    app.cli.add_command(worker)
