"""Extensions, created unbound here and bound to the app in the factory."""

from __future__ import annotations

from typing import Any

import flask_login
from flask_mail import Mail
from flask_migrate import Migrate
from flask_smorest import Api as SmorestApi
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from werkzeug.exceptions import HTTPException

from .api.spec import OperationsPlugin
from .connection import Session

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# In a safe request the session joins the request's connection (`taskboard.connection`)
# and controls its transaction, as it would its own connection's.
db = SQLAlchemy(
    model_class=Base,
    session_options={"class_": Session, "join_transaction_mode": "control_fully"},
)
migrate = Migrate()
login_manager = flask_login.LoginManager()
csrf = CSRFProtect()
mail = Mail()


class Api(SmorestApi):
    """flask-smorest's Api, whose app-wide HTTPException handler answers pages in HTML
    (`errors.handlers.http_error_response`)."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        from .errors.handlers import http_error_response

        return http_error_response(error, super().handle_http_exception)


api = Api(spec_kwargs={"extra_plugins": [OperationsPlugin()]})
