"""The `flask …` admin commands. They parse, call the services and print what happened."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import demo as demo_data
from .errors import DomainError
from .models import User
from .services import accounts


def domain_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a domain error into click's one-line `Error: …` and a non-zero exit, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc

    return wrapper


def prompt_new_password() -> str:
    """Ask for a password twice, hidden, and check it against the rules."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    accounts.check_password_rules(password)
    return password


# Users -----------------------------------------------------------------------------------

users = AppGroup("users", help="Create, list, (de)activate accounts and set passwords.")


@users.command("create")
@click.option("--email", help="The new account's email address (prompted for if left out).")
@click.option("--name", help="The display name (prompted for if left out).")
@click.option(
    "--password",
    help="The password; better left out, to be asked for twice without echo.",
)
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@domain_errors
def users_create(email: str | None, name: str | None, password: str | None, admin: bool) -> None:
    """Create an account; prompts for whatever is missing."""
    # Each answer is checked before the next question, so a typo fails before the password.
    email = accounts.check_new_email(email if email is not None else click.prompt("Email"))
    name = accounts.check_name(name if name is not None else click.prompt("Name"))
    if password is None:
        password = prompt_new_password()
    user = accounts.register(email, name, password, is_admin=admin)
    role = "administrator" if user.is_admin else "user"
    click.echo(f"Created {role} {user.email} ({user.name}).")


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@users.command("list")
def users_list() -> None:
    """List every account: email, name, active, admin, projects, created."""
    rows = accounts.list_users_with_project_counts()
    if not rows:
        click.echo("No users yet. Create one with: flask users create")
        return
    header = ("EMAIL", "NAME", "ACTIVE", "ADMIN", "PROJECTS", "CREATED")
    table = [
        (
            user.email,
            _clip(user.name, 32),
            _yes_no(user.is_active),
            _yes_no(user.is_admin),
            str(count),
            user.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
        for user, count in rows
    ]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        cells = [
            cell.rjust(width) if i == 4 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        click.echo("  ".join(cells).rstrip())
    click.echo(f"{len(rows)} user{'' if len(rows) == 1 else 's'}")


@users.command("set-password")
@click.argument("email")
@click.option("--password", help="The new password; better left out, to be asked for twice.")
@domain_errors
def users_set_password(email: str, password: str | None) -> None:
    """Set a user's password; their sessions and access tokens end."""
    user = accounts.get_by_email(email)
    if password is None:
        password = prompt_new_password()
    accounts.set_password(user, password)
    click.echo(
        f"Set a new password for {user.email}; their sessions and access tokens have ended "
        "(personal tokens keep working: flask tokens revoke revokes them)."
    )


@users.command("deactivate")
@click.argument("email")
@domain_errors
def users_deactivate(email: str) -> None:
    """Deactivate an account: no login, and its sessions and tokens stop working at once."""
    user = accounts.get_by_email(email)
    if not accounts.set_active(user, False):
        click.echo(f"{user.email} is already deactivated; nothing changed.")
        return
    click.echo(f"Deactivated {user.email}: their sessions have ended and every token is revoked.")


@users.command("activate")
@click.argument("email")
@domain_errors
def users_activate(email: str) -> None:
    """Let a deactivated account log in again."""
    user = accounts.get_by_email(email)
    if not accounts.set_active(user, True):
        click.echo(f"{user.email} is already active; nothing changed.")
        return
    click.echo(f"Activated {user.email}; they can log in again.")


# Tokens ----------------------------------------------------------------------------------

tokens = AppGroup("tokens", help="Revoke API tokens.")


@tokens.command("revoke")
@click.argument("email")
@domain_errors
def tokens_revoke(email: str) -> None:
    """Revoke all of a user's tokens: access and refresh tokens, and personal tokens."""
    user = accounts.get_by_email(email)
    pairs, personal = accounts.revoke_tokens(user)
    click.echo(
        f"Revoked {pairs} access/refresh token pair{'' if pairs == 1 else 's'} and "
        f"{personal} personal token{'' if personal == 1 else 's'} of {user.email}."
    )


# Demo data -------------------------------------------------------------------------------

demo = AppGroup("demo", help="Demo data.")


@demo.command("seed")
@click.option(
    "--tasks",
    "task_count",
    type=click.IntRange(min=0),
    help='Also fill the demo user\'s "Benchmark" project up to this many tasks (bulk insert).',
)
@click.option(
    "--force",
    is_flag=True,
    help="Seed even when TASKBOARD_ENV=production (the demo password is public).",
)
@domain_errors
def demo_seed(task_count: int | None, force: bool) -> None:
    """Create the demo account, its team and projects (idempotent); --tasks N for big data."""
    if current_app.config.get("PRODUCTION") and not force:
        raise click.ClickException(
            "Refusing to create accounts with a published password in production; "
            "add --force if you really mean it."
        )
    result = demo_data.seed()
    for line in result.log:
        click.echo(line)
    if task_count is not None:
        _seed_benchmark(result.owner, result.others, task_count)
    click.echo(_login_line(result.owner, result.others))


def _seed_benchmark(owner: User, others: list[User], task_count: int) -> None:
    plan = demo_data.benchmark_plan(owner, others, task_count)
    if plan.missing == 0:
        click.echo(
            f'"{demo_data.BENCHMARK_TITLE}" already has {plan.existing} tasks '
            f"(asked for {task_count}); nothing added."
        )
        return
    started = time.perf_counter()
    with click.progressbar(length=plan.missing, label="Inserting tasks") as bar:
        added = demo_data.top_up_benchmark(plan, on_progress=bar.update)
    click.echo(
        f'"{demo_data.BENCHMARK_TITLE}" now has {plan.existing + added} tasks '
        f"({added} added in {time.perf_counter() - started:.1f} s)."
    )


def _login_line(owner: User, others: list[User]) -> str:
    if not accounts.has_password(owner, demo_data.DEMO_PASSWORD):
        return f"Demo account: {owner.email} (its password has been changed since seeding)."
    line = f"Log in as {owner.email} with password {demo_data.DEMO_PASSWORD}"
    mates = [u.email for u in others if accounts.has_password(u, demo_data.DEMO_PASSWORD)]
    if mates:
        line += f" (team mates {', '.join(mates)} use the same password)"
    return line + "."


# Projects: import, export, the trash ----------------------------------------------------

projects = AppGroup("projects", help="Import and export projects; purge the trash.")


def _owner(email: str) -> User:
    user = accounts.find_by_email(email)
    if user is None or not user.is_active:
        raise click.ClickException(f"No active account with the email {email}.")
    return user


def _imported(project: Any) -> None:
    from .services import transfer, trash

    counts = transfer.counts(project.id)
    counts["in the trash"] = trash.count_for_project(project.id)
    click.echo(
        f"Imported “{project.title}” ({project.id}): "
        + ", ".join(f"{n} {what}" for what, n in counts.items())
        + "."
    )


@projects.command("import-trello")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", "email", required=True, help="The account that will own the project.")
@domain_errors
def projects_import_trello(path: str, email: str) -> None:
    """Create a project from a Trello board's "Export as JSON" file."""
    from .services import transfer, trello

    owner = _owner(email)
    with open(path, "rb") as source:
        doc = trello.to_document(source, max_bytes=transfer.max_bytes())
    _imported(transfer.import_document(owner, doc, source="Trello"))


@projects.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", "email", required=True, help="The account that will own the project.")
@domain_errors
def projects_import(path: str, email: str) -> None:
    """Create a project from a Taskboard export (.json, or .zip with the files)."""
    from .services import transfer

    owner = _owner(email)
    with open(path, "rb") as source:
        _imported(transfer.import_upload(owner, source))


@projects.command("export")
@click.argument("project_id", type=click.UUID)
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--as", "email", required=True, help="A member whose view is exported.")
@domain_errors
def projects_export(project_id: Any, path: str, email: str) -> None:
    """Write a project's export to PATH: .zip (with the files), .json or .csv."""
    import shutil

    from .services import csv_tasks, transfer

    member = _owner(email)
    if path.endswith(".zip"):
        data: Any = transfer.zip_file(member, project_id)
    elif path.endswith(".csv"):
        data = io.BytesIO(csv_tasks.export(member, project_id))
    elif path.endswith(".json"):
        data = io.BytesIO(transfer.document_bytes(member, project_id))
    else:
        raise click.ClickException("PATH must end in .zip, .json or .csv.")
    with data, open(path, "wb") as target:  # written once everything is read
        shutil.copyfileobj(data, target)
    click.echo(f"Wrote {path}.")


@projects.command("purge-trash")
def projects_purge_trash() -> None:
    """Delete for good what has been in the trash longer than TRASH_DAYS (the worker
    does this every hour)."""
    from .services import trash

    click.echo(f"Purged {trash.purge()} item(s) from the trash.")


def init_app(app: Flask) -> None:
    from .backup import backup_command, restore_command

    for group in (users, tokens, demo, projects):
        app.cli.add_command(group)
    register_notify_commands(app)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


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


@notify.command("digests")
def notify_digests() -> None:
    """Send the daily digests whose hour has come (the worker does this every sweep)."""
    from .services import delivery

    click.echo(f"Sent {delivery.send_digests()} digest(s).")


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
@domain_errors
def worker(workers: int, max_delay: float) -> None:
    """Run the huey consumer with its periodic jobs, in the foreground (Ctrl-C stops it)."""
    from flask import current_app

    from .backup import hold_instance_lock
    from .queue import create_consumer

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hold_instance_lock(app.instance_path)  # `flask restore` refuses while it is held
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
