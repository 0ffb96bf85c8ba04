"""Taskboard: a self-hosted kanban board with a JSON API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask

from . import config as settings
from . import http, limits, metrics, queue, storage
from .extensions import api as rest_api
from .extensions import csrf, db, login_manager, migrate

# Not bound as `mail`: that name is the taskboard.mail module (building and sending mail).
from .extensions import mail as mail_extension
from .services import accounts

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers."""
    load_dotenv(ROOT / ".env", override=False)
    instance = os.environ.get("TASKBOARD_INSTANCE") or str(ROOT / "instance")
    app = http.App(
        __name__,
        instance_path=os.path.abspath(instance),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(settings.STATIC)
    app.config.update(settings.load(Path(app.instance_path)))
    app.config.update(config or {})

    from . import database

    http.init_app(app)
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(accounts.load_session_user)
    mail_extension.init_app(app)
    queue.init_app(app)
    storage.init_app(app)
    metrics.init_app(app)
    limits.init_app(app)
    _register_api(app)

    from . import cli

    cli.init_app(app)

    from .errors import handlers as error_handlers

    error_handlers.init_app(app)

    from .health import bp as health_bp

    app.register_blueprint(health_bp)
    from . import web

    web.init_app(app)
    return app


def _register_api(app: Flask) -> None:
    from .api import (
        attachments,
        boards,
        docs,
        integrations,
        notify,
        projects,
        tasks,
        transfer,
        users,
    )

    rest_api.init_app(app)
    rest_api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token from POST /api/v1/auth/tokens, or a personal token.",
        },
    )
    for module in (users, projects, tasks, boards, attachments, integrations, notify, transfer):
        rest_api.register_blueprint(module.blp)
        csrf.exempt(module.blp)
        limits.limit_per_caller(module.blp)
    app.register_blueprint(docs.bp)
