"""Invitations (SPEC §15): the owner invites any address; the mailed link signs up or logs
in and joins, once, for seven days; pending ones are listed, resent and revoked."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, ApiUser, assert_error, table_counts
from flask import Flask
from flask.testing import FlaskClient
from test_account_links import body, mails_to
from webutil import csrf, csrf_from, text, web_login

from taskboard.extensions import db
from taskboard.models import Invitation, Notification, utcnow
from taskboard.queue import huey
from taskboard.services import delivery, invitations

API = "/api/v1"
LINK = re.compile(r"http://testserver/invitations/([A-Za-z0-9_.-]+)")
NEWCOMER = "newcomer@example.com"


@pytest.fixture
def queue_only(app: Flask) -> Iterator[None]:
    """Jobs are queued instead of run inline: the mail waits for a sweep."""
    huey.immediate = False
    yield
    huey.immediate = True


def invite(owner: ApiUser, pid: str, email: str = NEWCOMER) -> Any:
    return owner.post(f"{API}/projects/{pid}/invitations", json={"email": email})


def token_in(message: EmailMessage) -> str:
    plain, html = LINK.search(body(message)), LINK.search(body(message, "html"))
    assert plain and html, body(message)
    assert plain.group(1) == html.group(1)
    return plain.group(1)


def member_ids(owner: ApiUser, pid: str) -> list[str]:
    return [m["id"] for m in owner.get(f"{API}/projects/{pid}/members").json]


def sign_up_there(client: FlaskClient, token: str, email: str = NEWCOMER) -> Any:
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 200, text(page)
    data = {
        "csrf_token": csrf_from(text(page)),
        "email": email,
        "name": "Nia Newcomer",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    return client.post(f"/invitations/{token}/register", data=data)


def set_expiry(app: Flask, invitation_id: str, when: Any) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(Invitation)
            .where(Invitation.id == uuid.UUID(invitation_id))
            .values(expires_at=when)
        )
        db.session.commit()


def test_an_invited_address_signs_up_through_the_link_and_joins_once(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    pid = alice.create_project("Launch")["id"]
    resp = invite(alice, pid, "  NewComer@Example.com ")
    assert resp.status_code == 201, resp.json
    invitation = resp.json
    assert set(invitation) == {"id", "email", "invited_by", "created_at", "expires_at"}
    assert invitation["email"] == NEWCOMER
    assert invitation["invited_by"]["id"] == alice.id
    listed = alice.get(f"{API}/projects/{pid}/invitations")
    assert [i["id"] for i in listed.json] == [invitation["id"]]

    (mail,) = mails_to(app, NEWCOMER)
    assert mail["Subject"] == "[Taskboard] Alice Adams invited you to “Launch”"
    assert "Join the project" in body(mail, "html")
    token = token_in(mail)

    page = client.get(f"/invitations/{token}")
    html = text(page)
    assert page.status_code == 200
    assert "Join “Launch”" in html and "Alice Adams invited you" in html
    assert f'value="{NEWCOMER}"' in html  # the sign-up form starts with the invited address
    assert ">Create account and join</button>" in html and ">Log in and join</button>" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex">' in html

    joined = sign_up_there(client, token)
    assert joined.status_code == 303 and joined.headers["Location"] == f"/projects/{pid}"
    board = client.get(f"/projects/{pid}")
    assert board.status_code == 200 and "You joined the project “Launch”." in text(board)
    assert len(member_ids(alice, pid)) == 2
    assert alice.get(f"{API}/projects/{pid}/invitations").json == []

    # Once only: the link now says it was used, to anyone.
    again = app.test_client().get(f"/invitations/{token}")
    assert again.status_code == 410 and invitations.GONE["accepted"] in text(again)


def test_an_address_with_an_account_is_added_at_once(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    resp = invite(alice, pid, bob.email.upper())
    assert resp.status_code == 201
    assert resp.json == {"id": bob.id, "email": bob.email, "name": bob.name}
    assert bob.id in member_ids(alice, pid)
    assert alice.get(f"{API}/projects/{pid}/invitations").json == []
    assert [m["Subject"] for m in mails_to(app, bob.email)] == [
        "[Taskboard] You were added to the project “Launch”"
    ]
    assert_error(invite(alice, pid, bob.email), 409, "email")


def test_someone_with_an_account_logs_in_on_the_invitation_page_and_joins(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    """The invitation went to an address; the person joins with the account they have."""
    pid = alice.create_project()["id"]
    invite(alice, pid, "bob.at.home@example.com")
    token = token_in(mails_to(app, "bob.at.home@example.com")[0])
    page = client.get(f"/invitations/{token}")
    token_csrf = csrf_from(text(page))
    wrong = client.post(
        f"/invitations/{token}/login",
        data={"csrf_token": token_csrf, "email": bob.email, "password": "not the password"},
    )
    assert wrong.status_code == 401 and "Join “Launch”" in text(wrong)
    assert bob.id not in member_ids(alice, pid)
    ok = client.post(
        f"/invitations/{token}/login",
        data={"csrf_token": token_csrf, "email": bob.email, "password": PASSWORD},
    )
    assert ok.status_code == 303 and ok.headers["Location"] == f"/projects/{pid}"
    assert bob.id in member_ids(alice, pid)


def test_a_logged_in_person_joins_with_one_button(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    invite(alice, pid, "bob.at.work@example.com")
    token = token_in(mails_to(app, "bob.at.work@example.com")[0])
    web_login(client, bob.email)
    page = client.get(f"/invitations/{token}")
    html = text(page)
    assert ">Join project</button>" in html and "You are logged in as Bob Brown" in html
    assert bob.id not in member_ids(alice, pid)  # opening the link changes nothing
    joined = client.post(f"/invitations/{token}", data={"csrf_token": csrf_from(html)})
    assert joined.status_code == 303 and bob.id in member_ids(alice, pid)


def test_a_member_opening_an_invitation_leaves_it_for_its_addressee(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    invite(alice, pid)
    token = token_in(mails_to(app, NEWCOMER)[0])
    web_login(client, alice.email)
    page = client.get(f"/invitations/{token}")
    resp = client.post(f"/invitations/{token}", data={"csrf_token": csrf_from(text(page))})
    assert resp.status_code == 303
    assert "already" in text(client.get(resp.headers["Location"]))
    assert len(alice.get(f"{API}/projects/{pid}/invitations").json) == 1
    assert sign_up_there(app.test_client(), token).status_code == 303


def test_a_revoked_invitation_says_so_and_cannot_be_used(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    invitation = invite(alice, pid).json
    token = token_in(mails_to(app, NEWCOMER)[0])
    assert alice.delete(f"{API}/invitations/{invitation['id']}").status_code == 204
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 410 and invitations.GONE["revoked"] in text(page)
    before = table_counts(app)
    signup = client.post(
        f"/invitations/{token}/register",
        data={"csrf_token": csrf(client, "/login"), "email": NEWCOMER, "name": "N"},
    )
    assert signup.status_code == 410 and table_counts(app) == before
    assert_error(alice.delete(f"{API}/invitations/{invitation['id']}"), 404)
    assert alice.get(f"{API}/projects/{pid}/invitations").json == []
    # Revoked, the address can be invited again.
    assert invite(alice, pid).status_code == 201


def test_an_expired_invitation_says_so_and_a_resend_renews_it(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    invitation = invite(alice, pid).json
    first = token_in(mails_to(app, NEWCOMER)[0])
    set_expiry(app, invitation["id"], utcnow() - timedelta(minutes=1))
    page = client.get(f"/invitations/{first}")
    assert page.status_code == 410 and invitations.GONE["expired"] in text(page)
    listed = alice.get(f"{API}/projects/{pid}/invitations").json
    assert [i["id"] for i in listed] == [invitation["id"]]  # still listed, to be resent

    resent = alice.post(f"{API}/invitations/{invitation['id']}/resend")
    assert resent.status_code == 200 and resent.json["expires_at"] > invitation["expires_at"]
    assert len(mails_to(app, NEWCOMER)) == 2
    assert client.get(f"/invitations/{first}").status_code == 200
    assert sign_up_there(client, token_in(mails_to(app, NEWCOMER)[1])).status_code == 303
    assert_error(alice.post(f"{API}/invitations/{invitation['id']}/resend"), 409)


def test_a_forged_or_mangled_link_is_not_found(app: Flask, client: FlaskClient) -> None:
    for token in ("nonsense", "ImFiYyI.forged", "x" * 300):
        page = client.get(f"/invitations/{token}")
        assert page.status_code == 404 and invitations.BAD_LINK in text(page)


def test_who_may_invite_and_what_bad_input_gets(
    app: Flask, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    before = table_counts(app)
    for email, field in (("", "email"), ("not-an-address", "email"), ("a@" + "b" * 260, "email")):
        assert_error(invite(alice, pid, email), 422, field)
    assert_error(alice.post(f"{API}/projects/{pid}/invitations", json={}), 422, "email")
    assert_error(invite(bob, pid), 403)  # a member, not the owner
    assert_error(invite(carol, pid), 404)  # not a member: no such project
    assert_error(bob.get(f"{API}/projects/{pid}/invitations"), 403)
    assert_error(carol.get(f"{API}/projects/{pid}/invitations"), 404)
    read = alice.post(f"{API}/users/me/tokens", json={"name": "ro", "scope": "read"}).json
    resp = alice.client.post(
        f"{API}/projects/{pid}/invitations",
        json={"email": NEWCOMER},
        headers={"Authorization": f"Bearer {read['token']}"},
    )
    assert_error(resp, 403)
    after = table_counts(app)
    after.pop("personal_tokens")
    before.pop("personal_tokens")
    assert after == before and mails_to(app, NEWCOMER) == []

    invitation = invite(alice, pid).json
    assert_error(invite(alice, pid), 409, "email")  # pending already
    assert_error(bob.delete(f"{API}/invitations/{invitation['id']}"), 403)
    assert_error(carol.delete(f"{API}/invitations/{invitation['id']}"), 404)
    assert_error(carol.post(f"{API}/invitations/{invitation['id']}/resend"), 404)
    assert len(mails_to(app, NEWCOMER)) == 1


def test_an_address_gets_a_bounded_number_of_invitation_mails(
    app: Flask, alice: ApiUser, make_user: Any
) -> None:
    """However many owners invite it, an address gets three invitation mails a day."""
    pid = alice.create_project()["id"]
    invitation = invite(alice, pid).json
    for _ in range(invitations.MAILS_PER_ADDRESS_PER_DAY - 1):
        assert alice.post(f"{API}/invitations/{invitation['id']}/resend").status_code == 200
    expires = alice.get(f"{API}/projects/{pid}/invitations").json[0]["expires_at"]
    assert_error(alice.post(f"{API}/invitations/{invitation['id']}/resend"), 429)
    assert alice.get(f"{API}/projects/{pid}/invitations").json[0]["expires_at"] == expires
    other = make_user("dan@example.com")
    other_pid = other.create_project("Elsewhere")["id"]
    before = table_counts(app)
    assert_error(invite(other, other_pid), 429)
    assert table_counts(app) == before
    assert len(mails_to(app, NEWCOMER)) == invitations.MAILS_PER_ADDRESS_PER_DAY


def test_an_owner_sends_a_bounded_number_of_invitations_an_hour(
    app: Flask, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invitations, "INVITES_PER_OWNER_PER_HOUR", 2)
    pid = alice.create_project()["id"]
    assert invite(alice, pid, "one@example.com").status_code == 201
    assert invite(alice, pid, "two@example.com").status_code == 201
    body = assert_error(invite(alice, pid, "three@example.com"), 429)
    assert "2 invitations in the last hour" in body["message"]
    assert mails_to(app, "three@example.com") == []


def test_the_settings_page_invites_lists_resends_and_revokes(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    pid = alice.create_project("Launch")["id"]
    token = web_login(client, alice.email)
    added = client.post(f"/projects/{pid}/members", data={"csrf_token": token, "email": NEWCOMER})
    assert added.status_code == 303
    page = text(client.get(f"/projects/{pid}/settings"))
    assert f"Invitation sent to {NEWCOMER}." in page
    assert 'id="s-invitations">Invitations</h3>' in page
    assert f'aria-label="Resend the invitation of {NEWCOMER}"' in page
    invitation_id = alice.get(f"{API}/projects/{pid}/invitations").json[0]["id"]

    resent = client.post(
        f"/projects/{pid}/invitations/{invitation_id}/resend", data={"csrf_token": token}
    )
    assert resent.status_code == 303 and len(mails_to(app, NEWCOMER)) == 2
    ask = client.post(
        f"/projects/{pid}/invitations/{invitation_id}/revoke", data={"csrf_token": token}
    )
    assert ask.status_code == 200 and f"Withdraw the invitation of {NEWCOMER}?" in text(ask)
    assert len(alice.get(f"{API}/projects/{pid}/invitations").json) == 1  # asked first
    done = client.post(
        f"/projects/{pid}/invitations/{invitation_id}/revoke",
        data={"csrf_token": token, "confirm": "yes"},
    )
    assert done.status_code == 303
    page = text(client.get(f"/projects/{pid}/settings"))
    assert f"Invitation of {NEWCOMER} revoked." in page and "s-invitations" not in page
    # Invited again: the third mail of the day to the address; a fourth is refused, said
    # on the page, and changes nothing.
    again = client.post(f"/projects/{pid}/members", data={"csrf_token": token, "email": NEWCOMER})
    assert again.status_code == 303
    invitation_id = alice.get(f"{API}/projects/{pid}/invitations").json[0]["id"]
    capped = client.post(
        f"/projects/{pid}/invitations/{invitation_id}/resend", data={"csrf_token": token}
    )
    assert capped.status_code == 303
    assert "invitation mails in the last 24 hours" in text(client.get(f"/projects/{pid}/settings"))
    assert len(mails_to(app, NEWCOMER)) == invitations.MAILS_PER_ADDRESS_PER_DAY


def test_deleting_the_project_takes_its_invitations(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    invite(alice, pid)
    token = token_in(mails_to(app, NEWCOMER)[0])
    assert alice.delete(f"{API}/projects/{pid}").status_code == 204
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
    assert client.get(f"/invitations/{token}").status_code == 404


def test_a_mail_not_sent_before_the_revoke_is_skipped(
    app: Flask, queue_only: None, alice: ApiUser
) -> None:
    """The link is made when the mail goes out; a revoked invitation sends nothing."""
    pid = alice.create_project()["id"]
    invitation = invite(alice, pid).json
    assert alice.delete(f"{API}/invitations/{invitation['id']}").status_code == 204
    with app.app_context():
        result = delivery.sweep()
        note = db.session.scalar(sa.select(Notification).where(Notification.email == NEWCOMER))
    assert result.outcomes == {"skipped": 1}
    assert note is not None and note.last_error == "the invitation is revoked"
    assert mails_to(app, NEWCOMER) == []
