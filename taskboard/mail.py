"""Building mail from templates and sending it: SMTP when MAIL_SERVER is set, else a folder.

In the embedded mode (no MAIL_SERVER) each message is written as an .eml file to
MAIL_OUTBOX_DIR and logged, so a local install shows what it would have sent.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_mail import BadHeaderError, Connection, Message

log = logging.getLogger("taskboard.mail")

SUBJECT_PREFIX = "[Taskboard] "


class PermanentFailure(Exception):
    """The mail server refused the message for good (5xx): retrying cannot help."""


# C0 and C1 control characters (CR, LF, TAB, NUL, NEL …) and the Unicode line and
# paragraph separators: none may reach a header line.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(value: str) -> str:
    """User text made fit for one header line: control characters and line breaks become
    spaces, runs of white space one space. A title like "Fix\\r\\nBcc: x@example.com" then
    stays inside the Subject instead of breaking it (or making the message unsendable)."""
    return " ".join(_LINE_BREAKING.sub(" ", value).split())


@dataclass(frozen=True)
class Mail:
    """A rendered mail, ready to send."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)


def render(
    template: str,
    *,
    to: str,
    subject: str,
    message_id: str,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Mail:
    """Render `templates/mail/<template>.txt` and `.html` into one mail."""
    context = {"base_url": current_app.config["BASE_URL"], **context}
    subject = header_text(subject)
    return Mail(
        to=header_text(to),
        subject=SUBJECT_PREFIX + subject,
        text=_render(f"mail/{template}.txt", subject=subject, **context),
        html=_render(f"mail/{template}.html", subject=subject, **context),
        message_id=message_id,
        headers={name: header_text(value) for name, value in (headers or {}).items()},
    )


def _render(path: str, /, **context: Any) -> str:
    """A mail template with only the values it is given, not the request's context.

    A mail must read the same whether the worker renders it or a request does (jobs run
    inline when the queue is immediate), and rendering must not touch the request's
    session or user: that marked the session read, and an answer that sent mail then
    carried `Vary: Cookie` where one that did not send any lacked it — enough to tell a
    known address from an unknown one on the password reset.
    """
    return current_app.jinja_env.get_template(path).render(context)


def message_id(key: str) -> str:
    """A Message-ID fixed per outbox row, so a client can spot a repeated delivery."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "taskboard.invalid"
    return f"<{key}@{host}>"


def to_message(mail: Mail) -> Message:
    message = Message(
        subject=mail.subject,
        recipients=[mail.to],
        body=mail.text,
        html=mail.html,
        extra_headers=dict(mail.headers) or None,
    )
    message.msgId = mail.message_id
    return message


class TimeoutConnection(Connection):
    """Flask-Mail's SMTP connection with a timeout, so a stuck server cannot hang a worker."""

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        timeout = current_app.config["MAIL_TIMEOUT"]
        state = self.mail
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if state.use_ssl:
            host = smtplib.SMTP_SSL(state.server, state.port, timeout=timeout)
        else:
            host = smtplib.SMTP(state.server, state.port, timeout=timeout)
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        return host

    def __exit__(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        if self.host is None:
            return
        if exc_type is not None:
            # After a failure QUIT may fail too and hide the reason; just hang up.
            self.host.close()
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError) as exc:
            # The server has taken the message already: a failed goodbye is no reason to
            # send it again.
            log.warning("SMTP QUIT failed after delivery: %s", exc)
            self.host.close()


def send(mail: Mail) -> str:
    """Send one mail; where it went ("smtp" or the file written). Raises on failure,
    PermanentFailure when no retry can help."""
    try:
        return _send(mail)
    except BadHeaderError as exc:
        # The message itself is malformed: it fails the same way on every try.
        raise PermanentFailure("a header of the message holds a line break") from exc


def _send(mail: Mail) -> str:
    message = to_message(mail)
    if current_app.config.get("MAIL_SERVER"):
        _send_smtp(message)
        log.info("mail sent by SMTP to %s: %s", mail.to, mail.subject)
        return "smtp"
    path = _write_to_outbox(message, mail.message_id)
    log.info("mail to %s: %s (written to %s)", mail.to, mail.subject, path)
    return str(path)


def _send_smtp(message: Message) -> None:
    try:
        with TimeoutConnection(current_app.extensions["mail"]) as connection:
            connection.send(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
        raise
    except smtplib.SMTPDataError as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"message refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
        raise


def _write_to_outbox(message: Message, key: str) -> Path:
    """Write the message as an .eml file; one file per outbox row, even if written twice."""
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(ch for ch in key if ch.isalnum() or ch in "-.@") or "message"
    path = folder / f"{name}.eml"
    partial = folder / f".{name}.eml.partial"
    partial.write_bytes(message.as_bytes())
    os.replace(partial, path)
    return path
