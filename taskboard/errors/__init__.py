"""Domain errors raised by the services; each interface maps them to its own answer."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    default_message = "Bad request."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        self.field = field
        super().__init__(self.message)


class NotFound(DomainError):
    status = 404
    default_message = "Not found."


class Forbidden(DomainError):
    status = 403
    default_message = "You are not allowed to do this."


class Conflict(DomainError):
    status = 409
    default_message = "This conflicts with the current state."


class Invalid(DomainError):
    """Input that is well-formed but breaks a rule; `field` names the culprit."""

    status = 422
    default_message = "Invalid input."


class Gone(DomainError):
    """Something that existed and no longer does, e.g. a used or revoked invitation link."""

    status = 410
    default_message = "This is no longer available."


class TooLarge(DomainError):
    """A body or a file over its limit (an attachment, a project's quota)."""

    status = 413
    default_message = "This is too large."


class PreconditionFailed(DomainError):
    """The client's copy is stale: someone changed the thing since it was read."""

    status = 412
    default_message = "This was changed by someone else meanwhile; reload it and try again."


class Unauthorized(DomainError):
    status = 401
    default_message = "Authentication required."


class TooManyRequests(DomainError):
    """Too many tries of something guarded (a password): wait, then try again."""

    status = 429
    default_message = "Too many attempts; wait a minute and try again."
