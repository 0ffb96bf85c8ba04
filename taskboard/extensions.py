"""Extensions, created unbound here and bound to the app in the factory."""

from __future__ import annotations

from typing import Any

import flask_login
from flask import Response
from flask.globals import request_ctx
from flask_mail import Mail
from flask_migrate import Migrate
from flask_smorest import Api as SmorestApi
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from werkzeug.exceptions import HTTPException

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LoginManager(flask_login.LoginManager):
    """flask-login's, leaving an empty session alone after each request.

    Its after-request hook acts only on a session holding a remember-cookie instruction,
    yet it read every session to find out: an API request's empty one was then "accessed",
    which made every API answer `Vary: Cookie` and cost about 5 % of a one-task request.
    """

    def _update_remember_cookie(self, response: Response) -> Response:
        if not request_ctx._session:  # looked at without marking it accessed
            return response
        return super()._update_remember_cookie(response)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()


class Api(SmorestApi):
    """flask-smorest's Api, whose app-wide HTTPException handler answers pages in HTML
    (`errors.handlers.http_error_response`)."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        from .errors.handlers import http_error_response

        return http_error_response(error, super().handle_http_exception)


api = Api()
