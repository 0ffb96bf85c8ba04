"""Recovery and the account in Chromium: the whole password reset with the link read from a
real SMTP server (delivered by a real `flask worker`), and API tokens on /account.

These tests run on a server of their own (this module's `server` fixture), whose mail goes
by SMTP to a sink and whose queue a worker process empties.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from mailsink import MailSink, mail_sink
from playwright.sync_api import expect
from servers import BIN, ROOT, LiveServer, app_env, live_server

from .browserutil import (
    PASSWORD,
    api_user,
    axe_violations,
    create_project,
    log_in,
    scrolls_sideways,
    unique_email,
)

BASE_URL = "http://board.test"
NEW_PASSWORD = "browser-secret-2"
RESET_LINK = re.compile(re.escape(BASE_URL) + r"/reset-password/[A-Za-z0-9_.-]+")


@pytest.fixture(scope="module")
def sink() -> Iterator[MailSink]:
    with mail_sink() as mail:
        yield mail


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: MailSink) -> Iterator[LiveServer]:
    """waitress and a `flask worker` on one database and queue; mail by SMTP to the sink."""
    tmp = tmp_path_factory.mktemp("account-browser")
    env = app_env(
        f"sqlite:///{tmp / 'taskboard.db'}",
        tmp / "instance",
        RATELIMIT_ENABLED="false",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        BASE_URL=BASE_URL,
        NOTIFY_SWEEP_SECONDS="1",
    )
    with live_server(env, tmp) as srv:
        log_path = tmp / "worker.log"
        with open(log_path, "w") as log:
            worker = subprocess.Popen(
                [str(BIN / "flask"), "worker", "--workers", "1", "--max-delay", "0.2"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        srv.worker_log = log_path  # type: ignore[attr-defined]
        try:
            yield srv
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def wait_for_mail_to(sink: MailSink, server: LiveServer, address: str, timeout: float = 30) -> Any:
    """The first mail to `address` (each test mails addresses of its own)."""
    deadline = time.monotonic() + timeout
    while not sink.to(address):
        if time.monotonic() > deadline:
            worker_log = Path(server.worker_log).read_text()  # type: ignore[attr-defined]
            raise AssertionError(f"no mail to {address} after {timeout}s\n{worker_log}")
        time.sleep(0.05)
    return sink.to(address)[0]


def test_forgotten_password_reset_by_mail(
    page: Any, new_page: Any, server: LiveServer, sink: MailSink
) -> None:
    user = api_user(server, "Rita Reset")
    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.wait_for_url("**/forgot-password")
    assert axe_violations(page) == []

    # An unknown address gets the very same answer, and no mail.
    page.get_by_label("Email").fill("nobody-" + user["email"])
    page.get_by_role("button", name="Send reset link").click()
    answer = page.get_by_text("If an account uses this address")
    expect(answer).to_be_visible()
    page.get_by_label("Email").fill(user["email"])
    page.get_by_role("button", name="Send reset link").click()
    expect(answer).to_be_visible()

    message = wait_for_mail_to(sink, server, user["email"])
    assert message["Subject"] == "[Taskboard] Set a new password"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = RESET_LINK.search(text)
    assert link and link.group(0) in html
    assert sink.to("nobody-" + user["email"]) == []
    path = urlsplit(link.group(0)).path

    page.goto(path)
    expect(page.get_by_role("heading", name="Set a new password")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Confirm password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url("**/login")
    expect(page.get_by_text("Your password is set.")).to_be_visible()

    # The old password no longer works, the new one does.
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Invalid email or password.")).to_be_visible()
    page.console.take()  # the refused login's 401, logged by the browser as a failed load
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/projects")

    # The link worked once: opened again it says so and offers a new one.
    again = new_page()
    again.goto(path)
    expect(again.get_by_text("expired or was already used")).to_be_visible()
    assert axe_violations(again) == []
    again.get_by_role("link", name="Get a new reset link").click()
    again.wait_for_url("**/forgot-password")

    # The secret in the link is in no log: the request log shows the path redacted.
    secret = path.rsplit("/", 1)[1]
    worker_log = Path(server.worker_log).read_text()  # type: ignore[attr-defined]
    assert secret not in server.log() and secret not in worker_log
    assert "GET /reset-password/[redacted] 200" in server.log()


def test_reset_pages_fit_a_small_screen(new_page: Any) -> None:
    small = new_page(width=375, height=740)
    for path in ("/login", "/forgot-password", "/reset-password/not-a-real-token"):
        small.goto(path)
        assert not scrolls_sideways(small), path


def test_api_tokens_on_the_account_page(page: Any, server: LiveServer) -> None:
    user = api_user(server, "Tom Token")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, user["email"])
    page.goto("/account")
    tokens = page.get_by_role("region", name="API tokens")
    expect(tokens.get_by_text("No tokens yet.")).to_be_visible()
    tokens.get_by_label("Token name").fill("nightly backup")
    tokens.get_by_label("Scope").select_option("write")
    tokens.get_by_label("Expires after (days)").fill("30")
    page.evaluate("window.sameDocument = true")
    tokens.get_by_role("button", name="Create token").click()

    secret_field = tokens.get_by_label("Token secret")
    expect(secret_field).to_be_visible()
    assert page.evaluate("window.sameDocument") is True  # swapped in place by htmx
    secret = secret_field.input_value()
    assert secret.startswith("tbp_")
    tokens.get_by_role("button", name="Copy").click()
    expect(tokens.get_by_text("Copied.")).to_be_visible()
    expect(tokens.get_by_text("Copied")).to_have_count(1)  # said once, not on the button too
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert axe_violations(page) == []

    # The secret works on the API and is never shown again.
    assert server.request("GET", "/api/v1/projects", token=secret).status == 200
    page.reload()
    tokens = page.get_by_role("region", name="API tokens")
    expect(tokens.get_by_text("nightly backup")).to_be_visible()
    expect(tokens.get_by_label("Token secret")).to_have_count(0)
    assert secret not in page.content()
    item = tokens.get_by_role("listitem").filter(has_text="nightly backup")
    expect(item.get_by_text("Last used")).to_be_visible()
    expect(item.get_by_text("write", exact=True)).to_be_visible()

    page.once("dialog", lambda dialog: dialog.dismiss())  # asked first: not yet
    item.get_by_role("button", name="Revoke").click()
    expect(item).to_be_visible()
    assert server.request("GET", "/api/v1/projects", token=secret).status == 200
    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Revoke").click()
    expect(tokens.get_by_text("Token revoked")).to_be_visible()
    expect(tokens.get_by_text("No tokens yet.")).to_be_visible()
    assert server.request("GET", "/api/v1/projects", token=secret).status == 401


def test_account_page_fits_a_small_screen_without_javascript(new_page: Any, server: Any) -> None:
    user = api_user(server, "Nora Nojs")
    small = new_page(width=375, height=740, js=False)
    log_in(small, user["email"])
    small.goto("/account")
    tokens = small.get_by_role("region", name="API tokens")
    tokens.get_by_label("Token name").fill("a token with a rather long name for a small screen")
    tokens.get_by_role("button", name="Create token").click()
    expect(small.get_by_label("Token secret")).to_be_visible()
    assert not scrolls_sideways(small)
    small.get_by_role("button", name="Revoke").click()
    expect(small.get_by_text("Revoke the token")).to_be_visible()  # a page asks first
    assert not scrolls_sideways(small)
    small.get_by_role("button", name="Revoke token").click()
    expect(small.get_by_text("Token revoked")).to_be_visible()


def test_email_change_confirmed_from_the_mailed_link(
    page: Any, server: LiveServer, sink: MailSink
) -> None:
    user = api_user(server, "Eve Email")
    new_address = "new-" + user["email"]
    log_in(page, user["email"])
    page.goto("/account")
    section = page.get_by_role("region", name="Change email")
    section.get_by_label("New email").fill(new_address)
    section.get_by_label("Current password").fill(PASSWORD)
    section.get_by_role("button", name="Change email").click()
    expect(page.get_by_text(f"We sent a confirmation link to {new_address}")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {user['email']}")).to_be_visible()

    confirm = wait_for_mail_to(sink, server, new_address)
    notice = wait_for_mail_to(sink, server, user["email"])
    assert len(sink.to(user["email"])) == 1
    assert new_address in notice.get_body(("plain",)).get_content()
    link = re.search(
        re.escape(BASE_URL) + r"/confirm-email/[A-Za-z0-9_.-]+",
        confirm.get_body(("plain",)).get_content(),
    )
    assert link
    page.goto(urlsplit(link.group(0)).path)
    expect(page.get_by_text(f"Use {new_address} instead of")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Confirm email").click()
    page.wait_for_url("**/account")
    expect(page.get_by_text(f"Signed in as {new_address}")).to_be_visible()


INVITE_LINK = re.compile(re.escape(BASE_URL) + r"/invitations/[A-Za-z0-9_.-]+")


def test_an_invitation_by_mail_signs_up_and_joins(
    page: Any, new_page: Any, server: LiveServer, sink: MailSink
) -> None:
    """The owner invites an address with no account; the mailed link signs up and joins."""
    owner = api_user(server, "Iris Inviter")
    newcomer = unique_email("nina")
    log_in(page, owner["email"])
    board_path = create_project(page, "Invited board")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Email").fill(newcomer)
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text(f"Invitation sent to {newcomer}.")).to_be_visible()
    expect(page.get_by_role("button", name=f"Revoke the invitation of {newcomer}")).to_be_visible()

    message = wait_for_mail_to(sink, server, newcomer)
    assert message["Subject"] == "[Taskboard] Iris Inviter invited you to “Invited board”"
    link = INVITE_LINK.search(message.get_body(("plain",)).get_content())
    assert link and link.group(0) in message.get_body(("html",)).get_content()
    path = urlsplit(link.group(0)).path

    guest = new_page()
    guest.goto(path)
    expect(guest.get_by_role("heading", name="Join “Invited board”")).to_be_visible()
    assert axe_violations(guest) == []
    signup = guest.get_by_role("region", name="New to Taskboard? Create your account")
    expect(signup.get_by_label("Email")).to_have_value(newcomer)
    signup.get_by_label("Name").fill("Nina Newcomer")
    signup.get_by_label("Password", exact=True).fill(PASSWORD)
    signup.get_by_label("Confirm password").fill(PASSWORD)
    signup.get_by_role("button", name="Create account and join").click()
    guest.wait_for_url("**" + board_path)
    expect(guest.get_by_text("You joined the project “Invited board”.")).to_be_visible()

    # The owner's page lists the newcomer as a member, the invitation gone.
    page.reload()
    expect(page.get_by_text("Nina Newcomer")).to_be_visible()
    expect(page.get_by_role("button", name=f"Revoke the invitation of {newcomer}")).to_have_count(0)
    # Used once, the link says so.
    later = new_page()
    later.goto(path)
    expect(later.get_by_text("This invitation was already used.")).to_be_visible()
    later.console.take()  # the page's 410, logged by the browser as a failed load
