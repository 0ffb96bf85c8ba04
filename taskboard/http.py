"""Per-request plumbing: one log line per request and the security headers."""

from __future__ import annotations

import gzip
import logging
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import Any
from urllib.parse import quote

import orjson
from flask import Flask, Request, Response, current_app, g, request, send_file, session
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger("taskboard.request")

CSP = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
# Swagger UI and ReDoc style their widgets inline and render images from data: URIs.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; base-uri 'self'; frame-ancestors 'none'; object-src 'none'"
)
# Secrets travel in some paths (mailed links, feeds, shared boards); never log them.
_SECRET_PATH = re.compile(r"^(/(?:reset-password|confirm-email|invitations|calendar|share)/)[^/]+")


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (the scheme in any case),
    or None when the header is missing, of another scheme or empty."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def loggable_path(path: str) -> str:
    return _SECRET_PATH.sub(r"\1[redacted]", path)


class OncePerInterval(logging.Filter):
    """Lets a logger's records through at most once per `seconds`, saying how many it held
    back meanwhile.

    waitress warns "Task queue depth is N" each time a request waits for a thread, so a
    busy server wrote one warning per request: a log twice its size, and a share of its
    throughput under load spent writing them (wrk, one task, back to back with and
    without). One every few seconds still tells the operator that requests are queueing,
    and how many.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.next_at = 0.0
        self.held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now < self.next_at:
            self.held += 1
            return False
        if self.held:
            record.msg = f"{record.msg} (and {self.held} more since the last such warning)"
        self.next_at, self.held = now + self.seconds, 0
        return True


QUEUE_WARNING_SECONDS = 10.0

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{ord(char):02x}")


class OneLineFormatter(logging.Formatter):
    """Each record one line: control characters in the message (a `%0a` in a path, a task
    title with a line break) are written escaped, so nothing can forge a log line. A
    traceback, appended after the message, keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        return _CONTROL.sub(_escape_control, line) if _CONTROL.search(line) else line


def _configure_logging(app: Flask) -> None:
    # Every request logs a line: skip what the format never prints (the caller's file and
    # line, found by walking the stack; thread and process names), as the logging HOWTO's
    # "Optimization" section suggests.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    if not any(getattr(h, "_taskboard", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._taskboard = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    queue = logging.getLogger("waitress.queue")
    if not any(isinstance(f, OncePerInterval) for f in queue.filters):
        queue.addFilter(OncePerInterval(QUEUE_WARNING_SECONDS))


def _start_timer() -> None:
    g.request_started = time.perf_counter()


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


PRIVATE = "private, no-cache"  # for the signed-in person only, and checked each time
NO_STORE = "no-store"  # carries a secret: kept by no cache, not even the browser's
HSTS = "max-age=31536000"
RETRY_AFTER = "60"


def no_store() -> None:
    """Mark this request's answer as carrying a secret (a token, a new password link)."""
    g.cache_control = NO_STORE


def _signed_in() -> bool:
    """Whether the request came with credentials: a bearer token or a login session.

    The session is only looked at when a cookie came (so an API answer does not start to
    vary on Cookie)."""
    if "HTTP_AUTHORIZATION" in request.environ:
        return True
    return "HTTP_COOKIE" in request.environ and "_user_id" in session


def _finish(response: Response) -> Response:
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", g.get("csp", CSP))
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)  # absent: no need for `set`'s search for others
    if response.status_code == 429 and "retry-after" not in present:
        headers.add("Retry-After", RETRY_AFTER)  # the budgets' window is a minute
    if "cache-control" not in present:
        cache = g.get("cache_control") or (PRIVATE if _signed_in() else None)
        if cache:
            headers.add("Cache-Control", cache)
    if current_app.config.get("HSTS") and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", HSTS)
    started = g.get("request_started")
    elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
    log.info(
        "%s %s %s %.1fms",
        request.method,
        loggable_path(request.path),
        response.status_code,
        elapsed,
    )
    return response


# Bidi embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069): a name
# holding U+202E shows the text after it reversed, so "Invoice<U+202E>fdp.exe" reads as
# "Invoiceexe.pdf". Stored as given; dropped from every value a template prints, on the
# pages and in mail alike.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def displayed(value: Any) -> Any:
    """Jinja's `finalize`: each printed value, with bidi controls removed from text (from
    markup too, such as a form field with its value: they are never part of HTML syntax)."""
    if isinstance(value, str) and _BIDI_CONTROLS.search(value):
        cleaned = _BIDI_CONTROLS.sub("", value)
        return Markup(cleaned) if isinstance(value, Markup) else cleaned
    return value


class App(Flask):
    """Flask, remembering which functions are plain `def`s, and printing text in templates
    without bidi controls (`displayed`).

    Flask asks `inspect.iscoroutinefunction` about every hook and view on every request
    (`ensure_sync`); with flask-smorest's decorator layers that is a dozen questions a
    request, each answered the same way as the last time.
    """

    jinja_options = {**Flask.jinja_options, "finalize": displayed}
    _PLAIN_LIMIT = 4096  # a bound, should some code hand in new functions on each request

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain: set[Any] = set()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        key = getattr(func, "__func__", func)  # a bound method: its function
        if key in self._plain:
            return func
        if iscoroutinefunction(func):
            return self.async_to_sync(func)
        if len(self._plain) >= self._PLAIN_LIMIT:
            self._plain.clear()
        self._plain.add(key)
        return func


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with its signer made once per set of keys.

    Flask builds the signer on every request, whether or not a cookie came with it.
    """

    def __init__(self) -> None:
        self._signers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        signer = self._signers.get(keys, False)
        if signer is False:
            signer = self._signers[keys] = super().get_signing_serializer(app)
        return signer

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        # Nothing to write or delete: skip reading the cookie settings (Flask's own order).
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # No Cookie header (every API client): skip parsing the cookies into a dict.
        if "HTTP_COOKIE" not in request.environ and self.get_signing_serializer(app):
            return self.session_class()
        return super().open_session(app, request)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, encoded by orjson: the same documents, in a fraction of the time.

    Types orjson would write its own way (dates, dataclasses) go through Flask's `default`
    as before; keys keep the schemas' order. Anything orjson refuses (an integer beyond 64
    bits, text that is not UTF-8) is encoded by the standard library, as before.
    """

    sort_keys = False
    OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
    OPTIONS |= orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)  # indented for people
        if args and kwargs:
            raise TypeError("jsonify() behavior undefined when passed both args and kwargs")
        obj = (args[0] if len(args) == 1 else args) if args else (kwargs or None)
        try:
            body = orjson.dumps(obj, default=self.default, option=self.OPTIONS) + b"\n"
        except orjson.JSONEncodeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)


# Answers worth compressing: pages, fragments and JSON (static files are served by the
# file wrapper, and a proxy in front may compress those). Below the floor gzip's own
# framing (about 20 bytes) and the CPU are not worth it.
COMPRESSIBLE = frozenset({"text/html", "application/json", "text/plain", "text/csv"})
COMPRESS_MIN = 600
COMPRESS_LEVEL = 5  # about 90 % of level 9's saving on the board, at a third of its CPU


def _compress(response: Response) -> Response:
    """gzip for clients that accept it (RFC 9110 content coding), `Vary: Accept-Encoding`.

    The ETag stays as it is: the coding is a transfer detail of the same representation
    here (every answer is compressed the same way), so a 304 and an If-Match keep working
    whether a client asked for gzip or not.
    """
    if (
        response.direct_passthrough
        or response.is_streamed
        or response.status_code < 200
        or response.status_code in (204, 304)
        or response.mimetype not in COMPRESSIBLE
        or "Content-Encoding" in response.headers
    ):
        return response
    response.vary.add("Accept-Encoding")
    if request.accept_encodings["gzip"] <= 0 or request.method == "HEAD":
        return response
    body = response.get_data()
    if len(body) < COMPRESS_MIN:
        return response
    response.set_data(gzip.compress(body, COMPRESS_LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response


def _trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-* only from the configured number of proxies, and only then."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )


# An upload's body may be as large as an attachment, plus its form's few other fields;
# every other body stays within MAX_CONTENT_LENGTH. Decided before anything reads the body
# (the CSRF check reads the form), so a larger one is answered 413 unread.
_UPLOAD_PATH = re.compile(r"^/(?:api/v1/)?tasks/[^/]+/attachments$")
UPLOAD_FORM_SLACK = 64 * 1024


_IMPORT_PATH = re.compile(r"^/(?:api/v1/)?projects/(?:import(?:/trello)?|[^/]+/import\.csv)$")


def _upload_limit() -> None:
    """Uploads get their own body limit, checked before the body is read: attachments
    ATTACHMENT_MAX_BYTES, imports IMPORT_MAX_BYTES (everything else the 1 MiB of JSON)."""
    if request.method != "POST" or request.mimetype != "multipart/form-data":
        return
    if _UPLOAD_PATH.match(request.path):
        request.max_content_length = current_app.config["ATTACHMENT_MAX_BYTES"] + UPLOAD_FORM_SLACK
    elif _IMPORT_PATH.match(request.path):
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"] + UPLOAD_FORM_SLACK


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)
    app.before_request(_upload_limit)
    app.session_interface = SessionInterface()
    _configure_logging(app)
    _trust_proxies(app)
    app.before_request(_start_timer)
    app.after_request(_finish)
    app.after_request(_compress)  # Flask runs these last-registered first: this, then _finish


# Downloads ----------------------------------------------------------------------------

# Nothing in a download may run: no scripts, no plugins, no frames, even when opened
# directly; `sandbox` makes an HTML or SVG file that a browser renders anyway inert.
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients, the name itself in `filename*`
    (RFC 8187, UTF-8, percent-encoded); neither can end the header or name a folder."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\/' else "_" for ch in fallback)
    fallback = fallback.strip() or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_response(data: Any, mimetype: str, filename: str) -> Response:
    """Bytes (or a file object) to save under `filename`, never cached: an export."""
    if isinstance(data, bytes):
        response = Response(data, mimetype=mimetype)
    else:
        response = send_file(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition("attachment", filename)
    response.headers["Cache-Control"] = "no-store"
    return response


def file_response(found: Any) -> Response:
    """An attachment's bytes (an `attachments.Download`), streamed from the storage, with
    headers that keep it inert: nosniff, a CSP that runs nothing, inline only for images."""
    attachment = found.attachment
    # Only the inline images keep their type; anything else is bytes to save, so nothing
    # (an HTML or SVG file, a polyglot) can be taken for a page.
    mimetype = attachment.content_type if found.inline else "application/octet-stream"
    response = Response(found.chunks, mimetype=mimetype, direct_passthrough=True)
    response.content_length = attachment.size
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if found.inline else "attachment", attachment.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    response.set_etag(str(attachment.id))
    return response
