"""The `flask …` admin commands. They call the services, like the API and the pages."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup

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
